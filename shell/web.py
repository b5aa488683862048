"""Seed's web UI: a Gradio chat over the same library call as `rag ask`.

    python app.py              # or: rag serve  -> http://127.0.0.1:7860
    rag serve --host 0.0.0.0 --port 8080

The first screen says what Seed is: title, what it does, the corpus and the model, and
example questions in Korean, Chinese and English (a click puts one in the question box).
While the model drafts, the chat shows the sources being read and a token count, not the
draft (only sentences that pass the checks are the answer); then the checked answer in the
question's language with source cards (title, arXiv id, pages, highlighted quote and its
translation, links). The side panel holds the retrieval depth, a "show passages" toggle and
adds a PDF, note or arXiv id to the index. Follow-ups are made standalone by
`rag.followup.rewrite_question` before retrieval. No retrieval or prompt logic lives here;
the layout and the HTML are in shell/ui_view.py.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from common.files import file_sha256, looks_like_pdf
from common.settings import Settings
from index.backend import index_meta
from index.build import IngestBusyError, ingest_items
from rag.answer import Answer, Assistant, Plan
from rag.followup import rewrite_question
from rag.retrieve import Retriever
from shell import ui_text as ui
from shell import ui_view as view
from shell.question import MAX_QUESTION_CHARS, QuestionError, normalize_question

log = logging.getLogger(__name__)

HOST, PORT = "127.0.0.1", 7860
CONCURRENCY = 4  # default questions handled at once (RAG_UI_CONCURRENCY); the LLM's slots
# (RAG_LLM_SLOTS) decide how many of them it answers at a time
MAX_UPLOAD_MB = 50
UPLOAD_TYPES = (".pdf", ".md", ".txt")
MAX_TURNS = 4  # conversation turns kept for follow-up questions


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


def lang_of(request: gr.Request | None) -> str:
    """The UI language for this request (from the browser's Accept-Language)."""
    headers = getattr(request, "headers", None) or {}
    return ui.pick_lang(headers.get("accept-language"))


def stream_answer(assistant: Assistant, question: str, k: int | None
                  ) -> Iterator[Plan | int | Answer]:
    """Yield the `Plan` once retrieval has decided what will be read, then the number of
    draft tokens written so far (the draft itself is not the answer: never shown), then the
    checked `Answer`."""
    events: queue.Queue[Plan | int | None] = queue.Queue()
    box: dict[str, object] = {}

    def drafted(piece: str) -> None:  # a piece of the draft: counted, never shown
        if piece:
            events.put(1)

    def work() -> None:
        try:
            box["answer"] = assistant.ask(question, on_token=drafted, k=k, on_plan=events.put)
        except Exception as e:  # shown to the user in the chat
            box["error"] = e
        finally:
            events.put(None)

    threading.Thread(target=work, daemon=True, name="seed-answer").start()
    tokens = 0
    while (event := events.get()) is not None:
        if isinstance(event, Plan):
            yield event
            continue
        tokens += event
        while not events.empty() and isinstance(events.queue[0], int):
            tokens += events.get()
        yield tokens
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    yield box["answer"]  # type: ignore[misc]


class SeedUI:
    """The event handlers, over one `Live` assistant shared by every user."""

    def __init__(self, live: Live, model_label: str) -> None:
        self.live, self.model_label = live, model_label

    def respond(self, message: str, chat: list, turns: list, k: float, show: bool,
                request: gr.Request) -> Iterator[tuple[str, list, list]]:
        """Show the sources being read and the draft's progress, then the checked answer
        with source cards."""
        lang = lang_of(request)
        try:
            question = normalize_question(message or "")
        except QuestionError as e:
            gr.Warning(ui.t(lang, e.kind, n=e.length, max=MAX_QUESTION_CHARS))
            yield message, chat, turns
            return
        chat = [*chat, {"role": "user", "content": question},
                {"role": "assistant", "content": view.progress(lang)}]
        yield "", chat, turns
        current, asked, plan = self.live.assistant, question, None
        try:
            asked = rewrite_question(question, [tuple(x) for x in turns], current.llm)
            for event in stream_answer(current, asked, int(k)):
                if isinstance(event, Answer):
                    text = view.render_answer(event, lang, show, asked if asked != question
                                              else None)
                    turns = [*turns, ("user", asked), ("assistant", event.text)][-2 * MAX_TURNS:]
                elif isinstance(event, Plan):
                    plan, text = event, view.progress(lang, event)
                else:
                    text = view.progress(lang, plan, event)
                chat[-1] = {"role": "assistant", "content": text}
                yield "", chat, turns
        except Exception as e:
            log.exception("answering %r failed", asked)
            chat[-1] = {"role": "assistant", "content": ui.t(lang, "error", e=_one_line(e))}
            yield "", chat, turns

    def intro(self, request: gr.Request | None) -> tuple[str, str]:
        """The first screen's header (what Seed is and does, corpus, model) and the upload
        hint, in the browser's language."""
        lang = lang_of(request)
        meta = index_meta(self.live.settings)  # the embedded index or RAG_STORE's
        return view.intro(lang, meta.docs if meta else None, self.model_label), \
            ui.t(lang, "file")

    def add(self, file: str | None, arxiv_id: str, request: gr.Request,
            progress: gr.Progress = gr.Progress()) -> tuple[str, str, None]:  # noqa: B008
        """Add the uploaded file or the arXiv id; the message, new intro, cleared file."""
        message = add_to_index(self.live, file, arxiv_id or "", lang_of(request), progress)
        return message, self.intro(request)[0], None


def build_app(settings: Settings, assistant: Assistant | None = None,
              model_label: str | None = None) -> gr.Blocks:
    """The UI over `assistant` (default: one `Assistant(settings)` for all users, its model
    warmed up in the background while the UI starts)."""
    seed = SeedUI(Live(settings, assistant, warm=assistant is None),
                  model_label or describe_model(settings))
    return view.layout(seed.respond, seed.add, seed.intro, k=settings.k,
                       upload_types=UPLOAD_TYPES, concurrency=settings.ui_concurrency)


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
        reporter = view.GradioReporter(progress, lang) if progress else None
        resolved, report = ingest_items([str(kept) if kept else arxiv_id.strip()], settings,
                                        reporter)
        problems = list(resolved.failures)
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
    if path.suffix.lower() == ".pdf" and not looks_like_pdf(head):
        raise UploadError(ui.t(lang, "not_pdf", name=name))
    if path.suffix.lower() != ".pdf":
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise UploadError(ui.t(lang, "not_text", name=name)) from e
    # one folder per content: never overwrites another upload
    target = settings.home / "uploads" / file_sha256(path)[:16] / name
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
    from rag.model_files import DEFAULT_MODEL_NAME

    return f"{DEFAULT_MODEL_NAME} (llama.cpp)"


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:300] if lines else type(e).__name__


def launch(app: gr.Blocks, host: str = HOST, port: int = PORT, concurrency: int = CONCURRENCY,
           **kw: object):
    """Start `app` with Seed's limits: local bind, queue, upload size, UI languages."""
    app.queue(default_concurrency_limit=concurrency, max_size=64)
    return app.launch(server_name=host, server_port=port, max_file_size=f"{MAX_UPLOAD_MB}mb",
                      i18n=view.I18N, css=ui.CSS, ssr_mode=False, footer_links=["api", "settings"],
                      run_history=False, **kw)
