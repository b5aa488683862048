"""Seed's web UI: a Gradio chat over the same library call as `rag ask`.

    python app.py              # or: rag serve  -> http://127.0.0.1:7860
    rag serve --host 0.0.0.0 --port 8080

Answers stream token by token in the question's language, then become the checked answer
with source cards (title, arXiv id, pages, highlighted quote, links). The side panel shows
the corpus and model, the retrieval depth, a "show passages" toggle, example questions, and
adds a PDF, note or arXiv id to the index. Follow-ups are made standalone by
`rag.followup.rewrite_question` before retrieval. No retrieval or prompt logic lives here.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from index.build import IngestBusyError, ingest_sources
from index.store import read_meta
from ingest.settings import Settings
from ingest.sources import resolve_sources
from rag import ui_text as ui
from rag.answer import Answer, Assistant
from rag.cli import MAX_QUESTION_CHARS
from rag.followup import rewrite_question
from rag.retrieve import Retriever

log = logging.getLogger(__name__)

HOST, PORT = "127.0.0.1", 7860
CONCURRENCY = 4  # questions handled at once (llama.cpp itself takes them in turn)
MAX_UPLOAD_MB = 50
UPLOAD_TYPES = (".pdf", ".md", ".txt")
MAX_TURNS = 4  # conversation turns kept for follow-up questions
I18N = gr.I18n(**ui.STATIC)


class UploadError(ValueError):
    """A file or id the index must not take; the message is shown to the user as is."""


class Live:
    """The assistant in use; replaced (not mutated) when an ingest adds documents."""

    def __init__(self, settings: Settings, assistant: Assistant | None, warm: bool = False
                 ) -> None:
        self.settings = settings
        self.assistant = assistant or Assistant(settings)
        self.warming: threading.Thread | None = None
        if warm:
            self.warming = threading.Thread(target=_warm_up, args=(self.assistant,), daemon=True)
            self.warming.start()
        self._lock = threading.Lock()

    def reload(self) -> None:
        """Load the new index version; questions already running keep the old one."""
        with self._lock:
            old = self.assistant
            retriever = Retriever(self.settings, embedders=old.retriever.embedders)
            self.assistant = Assistant(self.settings, retriever, old.llm)


def _warm_up(assistant: Assistant) -> None:
    """Load the model and its prompt prefix while the UI starts (~20 s), so the first
    question does not pay for them; a failure here shows again, as a message, on that
    question."""
    try:
        assistant.warm_up()
    except Exception as e:  # noqa: BLE001 - a background thread: log, never crash the UI
        log.warning("model warm-up failed: %s", _one_line(e))


class GradioReporter:
    """An `index.progress.Reporter` drawing a Gradio progress bar, stages named in `lang`."""

    def __init__(self, progress: gr.Progress, lang: str = "en") -> None:
        self.progress, self.lang = progress, lang
        self.done: dict[str, int] = {}
        self.total: dict[str, int] = {}

    def start(self, stage: str, total: int, unit: str) -> None:
        self.done[stage], self.total[stage] = 0, total
        self.progress((0, total or None), desc=ui.stage_name(stage, self.lang), unit=unit)

    def advance(self, stage: str, n: int = 1) -> None:
        self.done[stage] = self.done.get(stage, 0) + n
        self.progress((self.done[stage], self.total.get(stage) or None),
                      desc=ui.stage_name(stage, self.lang))

    def finish(self, stage: str) -> None:
        pass


def lang_of(request: gr.Request | None) -> str:
    """The UI language for this request (from the browser's Accept-Language)."""
    headers = getattr(request, "headers", None) or {}
    return ui.pick_lang(headers.get("accept-language"))


def stream_answer(assistant: Assistant, question: str, k: int | None) -> Iterator[str | Answer]:
    """Yield the answer's text pieces as the model writes them, then the `Answer`."""
    pieces: queue.Queue[str | None] = queue.Queue()
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["answer"] = assistant.ask(question, on_token=pieces.put, k=k)
        except Exception as e:  # shown to the user in the chat
            box["error"] = e
        finally:
            pieces.put(None)

    threading.Thread(target=work, daemon=True, name="seed-answer").start()
    while (piece := pieces.get()) is not None:
        while not pieces.empty() and (more := pieces.queue[0]) is not None:
            piece += more
            pieces.get()
        yield piece
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    yield box["answer"]  # type: ignore[misc]


class SeedUI:
    """The event handlers, over one `Live` assistant shared by every user."""

    def __init__(self, live: Live, model_label: str) -> None:
        self.live, self.model_label = live, model_label

    def respond(self, message: str, chat: list, turns: list, k: float, show: bool,
                request: gr.Request) -> Iterator[tuple[str, list, list]]:
        """Stream the answer into the chat, then show it checked, with source cards."""
        lang, question = lang_of(request), " ".join((message or "").split())
        if not question or len(question) > MAX_QUESTION_CHARS:
            gr.Warning(ui.t(lang, "empty") if not question else
                       ui.t(lang, "too_long", n=len(question), max=MAX_QUESTION_CHARS))
            yield message, chat, turns
            return
        chat = [*chat, {"role": "user", "content": question},
                {"role": "assistant", "content": "…"}]
        yield "", chat, turns
        current, asked, text = self.live.assistant, question, ""
        try:
            asked = rewrite_question(question, [tuple(x) for x in turns], current.llm)
            for piece in stream_answer(current, asked, int(k)):
                if isinstance(piece, Answer):
                    text = ui.render_answer(piece, lang, show, asked if asked != question else None)
                    turns = [*turns, ("user", asked), ("assistant", piece.text)][-2 * MAX_TURNS:]
                else:
                    text += piece
                chat[-1] = {"role": "assistant", "content": text}
                yield "", chat, turns
        except Exception as e:
            log.exception("answering %r failed", asked)
            chat[-1] = {"role": "assistant", "content": ui.t(lang, "error", e=_one_line(e))}
            yield "", chat, turns

    def side_info(self, request: gr.Request) -> tuple[str, str]:
        """The corpus and model summary, and the upload hint, in the browser's language."""
        lang = lang_of(request)
        meta = read_meta(self.live.settings.index_dir)
        info = ui.corpus_summary(meta.docs if meta else None, lang) + "\n\n" + \
            ui.t(lang, "model", model=self.model_label)
        return info, ui.t(lang, "file")

    def add(self, file: str | None, arxiv_id: str, request: gr.Request,
            progress: gr.Progress = gr.Progress()) -> tuple[str, str, None]:  # noqa: B008
        """Add the uploaded file or the arXiv id; the message, new summary, cleared file."""
        message = add_to_index(self.live, file, arxiv_id or "", lang_of(request), progress)
        return message, self.side_info(request)[0], None


def build_app(settings: Settings, assistant: Assistant | None = None,
              model_label: str | None = None) -> gr.Blocks:
    """The UI over `assistant` (default: one `Assistant(settings)` for all users, its model
    warmed up in the background while the UI starts)."""
    ui = SeedUI(Live(settings, assistant, warm=assistant is None),
                model_label or describe_model(settings))
    with gr.Blocks(title="Seed", analytics_enabled=False) as demo:
        turns = gr.State([])
        box = gr.Textbox(label=I18N("question"), placeholder=I18N("placeholder"), lines=1,
                         max_lines=4, scale=8, render=False, autofocus=True,
                         elem_id="seed-question")
        side = _sidebar(settings, box)
        chat = gr.Chatbot(label=I18N("chat"), height=600, elem_id="seed-chat",
                          feedback_options=None, buttons=["copy"], sanitize_html=True)
        with gr.Row(equal_height=True):
            box.render()
            send = gr.Button(I18N("ask"), variant="primary", scale=1, elem_id="seed-ask")
        clear = gr.Button(I18N("clear"), size="sm")
        gr.on([box.submit, send.click], ui.respond,
              inputs=[box, chat, turns, side["depth"], side["show"]],
              outputs=[box, chat, turns], api_name="ask", concurrency_limit=CONCURRENCY)
        clear.click(lambda: ([], [], ""), outputs=[chat, turns, box], api_name=False)
        side["add"].click(ui.add, inputs=[side["upload"], side["arxiv"]],
                          outputs=[side["status"], side["info"], side["upload"]],
                          api_name="add", concurrency_limit=1)
        demo.load(ui.side_info, outputs=[side["info"], side["hint"]], api_name=False)
    return demo


def _sidebar(settings: Settings, box: gr.Textbox) -> dict[str, gr.components.Component]:
    """The side panel: corpus and model, retrieval depth, passages toggle, examples, upload."""
    with gr.Sidebar(open=True, width=340):
        gr.Markdown("## Seed")
        info = gr.Markdown(elem_id="seed-info")
        depth = gr.Slider(1, 12, value=settings.k, step=1, label=I18N("k"))
        show = gr.Checkbox(False, label=I18N("show"))
        gr.Examples([[q] for q in ui.EXAMPLES], inputs=[box], label=I18N("examples"))
        with gr.Accordion(I18N("add"), open=True):
            hint = gr.Markdown()
            upload = gr.File(show_label=False, file_types=list(UPLOAD_TYPES), type="filepath",
                             file_count="single", height=120)
            arxiv = gr.Textbox(label=I18N("arxiv"), placeholder="1909.11942", max_lines=1)
            add = gr.Button(I18N("add_btn"), elem_id="seed-add")
            status = gr.Markdown(elem_id="seed-status")
    return {"info": info, "depth": depth, "show": show, "hint": hint, "upload": upload,
            "arxiv": arxiv, "add": add, "status": status}


def add_to_index(live: Live, file: str | None, arxiv_id: str, lang: str,
                 progress: gr.Progress | None = None) -> str:
    """Add an uploaded file or an arXiv id to the index; a message for the user.

    A file the index must not take (type, size, content) is refused before anything is
    written, and a file that fails to parse is removed again: the index is unchanged.
    """
    settings, kept = live.settings, None
    try:
        if file:
            kept = keep_upload(Path(file), settings, lang)
        elif not arxiv_id.strip():
            return ui.t(lang, "no_input")
        if progress is not None:
            progress(0, desc=ui.stage_name("fetch", lang))
        resolved = resolve_sources([str(kept) if kept else arxiv_id.strip()], settings)
        problems = list(resolved.failures)
        report = ingest_sources(resolved.sources, settings,
                                GradioReporter(progress, lang) if progress else None)
    except UploadError as e:
        return str(e)
    except IngestBusyError:
        _discard(kept)
        return ui.t(lang, "busy")
    except Exception as e:  # e.g. a fetch or embedder failure: say so, keep the index
        log.exception("adding %s failed", file or arxiv_id)
        _discard(kept)
        return ui.t(lang, "failed", what=Path(file or arxiv_id).name, why=_one_line(e))
    problems += report.skipped
    if report.added or report.updated:
        live.reload()
        return ui.t(lang, "added", docs=", ".join(report.added + report.updated))
    if report.unchanged:
        return ui.t(lang, "unchanged", docs=", ".join(report.unchanged))
    _discard(kept)
    what, why = problems[0] if problems else (file or arxiv_id, "no text to index")
    return ui.t(lang, "failed", what=Path(what).name, why=why)


def keep_upload(path: Path, settings: Settings, lang: str) -> Path:
    """Check an uploaded file and copy it under RAG_HOME/uploads (the index points there)."""
    name = path.name
    if path.suffix.lower() not in UPLOAD_TYPES:
        raise UploadError(ui.t(lang, "bad_type", name=name))
    size = path.stat().st_size
    if size > MAX_UPLOAD_MB << 20:
        raise UploadError(ui.t(lang, "too_big", name=name, mb=size / 2**20, max=MAX_UPLOAD_MB))
    with open(path, "rb") as f:
        head = f.read(1024)
    if path.suffix.lower() == ".pdf" and not head.lstrip().startswith(b"%PDF"):
        raise UploadError(ui.t(lang, "not_pdf", name=name))
    if path.suffix.lower() != ".pdf":
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise UploadError(ui.t(lang, "not_text", name=name)) from e
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()[:16]
    target = settings.home / "uploads" / digest / name  # never overwrites another upload
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target


def _discard(kept: Path | None) -> None:
    """Remove an upload the index did not take (its folder holds only it)."""
    if kept is not None:
        shutil.rmtree(kept.parent, ignore_errors=True)


def describe_model(settings: Settings) -> str:
    """What answers: the endpoint's model, the configured GGUF or the bundled default."""
    if settings.llm_base_url:
        return f"{settings.llm_model} @ {settings.llm_base_url}"
    if settings.llm_gguf:
        return f"{Path(settings.llm_gguf).name} (llama.cpp)"
    from rag.llm import DEFAULT_MODEL_NAME

    return f"{DEFAULT_MODEL_NAME} (llama.cpp)"


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:300] if lines else type(e).__name__


def launch(app: gr.Blocks, host: str = HOST, port: int = PORT, **kw: object):
    """Start `app` with Seed's limits: local bind, queue, upload size, UI languages."""
    app.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    return app.launch(server_name=host, server_port=port, max_file_size=f"{MAX_UPLOAD_MB}mb",
                      i18n=I18N, css=ui.CSS, ssr_mode=False, footer_links=["api", "settings"],
                      run_history=False, **kw)


def main() -> None:
    """`python app.py [--host H] [--port P]`: the same as `rag serve`."""
    import sys

    from rag.cli import main as cli

    cli(["serve", *sys.argv[1:]], prog_name="app.py")


if __name__ == "__main__":
    main()
