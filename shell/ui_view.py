"""UI stage: the web UI's layout and HTML, in the request's language (strings: shell/ui_text.py;
handlers: shell/web.py).

- the layout: the first screen's header and example questions above the chat, the
  settings and upload in the side panel;
- the first screen's intro: what Seed is, what it does, the corpus and the model;
- progress while the model drafts: the sources being read and a token count, never the
  draft itself (its sentences are not the answer until they pass the checks);
- the answer: its checked text, the abstention's note, source cards (title, arXiv id,
  pages, the supporting quote highlighted in its passage, its translation, links), the
  sentences left out as unsupported (collapsed) and, if asked, the passages read.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import gradio as gr

from common.arxiv import abs_url, is_arxiv_id, pdf_url
from rag.answer import Answer, Plan
from rag.cite import Citation
from rag.context import Passage
from shell.ui_text import EXAMPLES, STATIC, corpus_summary, pages, stage_name, t

I18N = gr.I18n(**STATIC)


def layout(respond: Callable, add: Callable, intro: Callable, k: int,
           upload_types: Sequence[str], concurrency: int) -> gr.Blocks:
    """The Blocks, wired to shell/web.py's handlers: `respond` (question -> chat), `add` (upload
    -> status, intro) and `intro` (request -> intro, upload hint)."""
    with gr.Blocks(title="Seed", analytics_enabled=False) as demo:
        turns = gr.State([])
        box = gr.Textbox(label=I18N("question"), placeholder=I18N("placeholder"), lines=1,
                         max_lines=4, scale=8, render=False, autofocus=True,
                         elem_id="seed-question")
        side = _sidebar(k, upload_types)
        header = gr.Markdown(intro(None)[0], elem_id="seed-intro")
        gr.Examples([[q] for q in EXAMPLES], inputs=[box], label=I18N("examples"),
                    examples_per_page=len(EXAMPLES), elem_id="seed-examples")
        chat = gr.Chatbot(label=I18N("chat"), height=480, elem_id="seed-chat",
                          feedback_options=None, buttons=["copy"], sanitize_html=True)
        with gr.Row(equal_height=True):
            box.render()
            send = gr.Button(I18N("ask"), variant="primary", scale=1, elem_id="seed-ask")
        clear = gr.Button(I18N("clear"), size="sm")
        gr.on([box.submit, send.click], respond,
              inputs=[box, chat, turns, side["depth"], side["show"]],
              outputs=[box, chat, turns], api_name="ask", concurrency_limit=concurrency)
        clear.click(lambda: ([], [], ""), outputs=[chat, turns, box], api_name=False)
        side["add"].click(add, inputs=[side["upload"], side["arxiv"]],
                          outputs=[side["status"], header, side["upload"]],
                          api_name="add", concurrency_limit=1)
        demo.load(intro, outputs=[header, side["hint"]], api_name=False)
    return demo


def _sidebar(k: int, upload_types: Sequence[str]) -> dict[str, gr.components.Component]:
    """The side panel: retrieval depth, passages toggle, upload."""
    with gr.Sidebar(open=True, width=320):
        gr.Markdown("## Seed")
        depth = gr.Slider(1, 12, value=k, step=1, label=I18N("k"))
        show = gr.Checkbox(False, label=I18N("show"))
        with gr.Accordion(I18N("add"), open=True):
            hint = gr.Markdown()
            upload = gr.File(show_label=False, file_types=list(upload_types), type="filepath",
                             file_count="single", height=120)
            arxiv = gr.Textbox(label=I18N("arxiv"), placeholder="1909.11942", max_lines=1)
            add = gr.Button(I18N("add_btn"), elem_id="seed-add")
            status = gr.Markdown(elem_id="seed-status")
    return {"depth": depth, "show": show, "hint": hint, "upload": upload,
            "arxiv": arxiv, "add": add, "status": status}


class GradioReporter:
    """An `index.progress.Reporter` drawing a Gradio progress bar, stages named in `lang`."""

    def __init__(self, progress: gr.Progress, lang: str = "en") -> None:
        self.progress, self.lang = progress, lang
        self.done: dict[str, int] = {}
        self.total: dict[str, int] = {}

    def start(self, stage: str, total: int, unit: str) -> None:
        self.done[stage], self.total[stage] = 0, total
        self.progress((0, total or None), desc=stage_name(stage, self.lang), unit=unit)

    def advance(self, stage: str, n: int = 1) -> None:
        self.done[stage] = self.done.get(stage, 0) + n
        self.progress((self.done[stage], self.total.get(stage) or None),
                      desc=stage_name(stage, self.lang))

    def finish(self, stage: str) -> None:
        pass


def intro(lang: str, docs: dict[str, dict] | None, model: str) -> str:
    """The first screen's header (Markdown): title, what Seed does, corpus and model."""
    return (f"# {STATIC.get(lang, STATIC['en'])['title']}\n\n{t(lang, 'tagline')}\n\n"
            f"{corpus_summary(docs, lang)} · {t(lang, 'model', model=model)}")


def progress(lang: str, plan: Plan | None = None, tokens: int | None = None) -> str:
    """The chat message while an answer is being made: searching, then the sources being
    read (from the plan), then how many draft tokens the model has written."""
    if plan is None:
        return f'<div class="seed-progress seed-busy">{html.escape(t(lang, "searching"))}</div>'
    read = [p for r in plan.readings for p in r.passages]
    parts = [f"<div>{html.escape(t(lang, 'reading', n=len(read)))}</div>"
             f"<ul>{_reading_list(read, lang)}</ul>" if read else
             f"<div>{html.escape(t(lang, 'no_reading'))}</div>"]
    if tokens is not None:
        parts.append(f'<div class="seed-busy">{html.escape(t(lang, "drafting", n=tokens))}'
                     "</div>")
    return f'<div class="seed-progress">{"".join(parts)}</div>'


def _reading_list(passages: list[Passage], lang: str) -> str:
    """One item per paper, in the order read: title, arXiv id or "reading note", pages."""
    by_doc: dict[str, list[Passage]] = {}
    for p in passages:
        by_doc.setdefault(p.doc_id, []).append(p)
    items = []
    for doc_id, ps in by_doc.items():
        where = ", ".join(pages(lang, a, b) for a, b in sorted({(p.page_start, p.page_end)
                                                                 for p in ps}))
        items.append(f"<li><b>{html.escape(ps[0].title)}</b> · "
                     f"{html.escape(_ident(doc_id, lang))} · {where}</li>")
    return "".join(items)


def render_answer(answer: Answer, lang: str, show_passages: bool = False,
                  asked: str | None = None) -> str:
    """The chat message for `answer`: checked text, note, source cards, sentences left out,
    passages if asked."""
    parts = [f'<div class="seed-asked">🔎 {html.escape(t(lang, "rewritten", q=asked))}</div>'
             if asked else "", f'<div class="seed-text">{html.escape(answer.text)}</div>']
    if answer.note:
        parts.append(f'<div class="seed-note">{html.escape(answer.note)}</div>')
    if answer.citations:
        cards = "".join(source_card(c, answer.passages, lang) for c in answer.citations)
        parts.append(f"<h4>{t(lang, 'sources')}</h4><div class=\"seed-sources\">{cards}</div>")
    if answer.unsupported:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in answer.unsupported)
        parts.append(f'<details class="seed-left-out"><summary>'
                     f'{html.escape(t(lang, "left_out", n=len(answer.unsupported)))}</summary>'
                     f"<ul>{items}</ul></details>")
    if show_passages and answer.passages:
        parts.append(_passages_block(answer.passages, lang))
    return "\n\n".join(p for p in parts if p)


def source_card(c: Citation, passages: list[Passage], lang: str) -> str:
    """One source as an HTML card (one line: Markdown must not break it up)."""
    links = " · ".join(f'<a href="{html.escape(u, quote=True)}" target="_blank" '
                       f'rel="noopener">{html.escape(label)}</a>' for label, u in
                       _links(c, lang))
    meta = " · ".join(x for x in (html.escape(_ident(c.doc_id, lang)),
                                  pages(lang, c.page_start, c.page_end), links) if x)
    translation = (f'<div class="seed-card-translation"><span class="seed-label">'
                   f'{html.escape(t(lang, "translation"))}</span>'
                   f"{html.escape(c.translation)}</div>" if c.translation else "")
    return (f'<div class="seed-card"><div class="seed-card-title">[{c.n}] '
            f'{html.escape(c.title)}</div><div class="seed-card-meta">{meta}</div>'
            f'<blockquote class="seed-card-quote">{highlight(c, passages)}</blockquote>'
            f"{translation}</div>")


def _ident(doc_id: str, lang: str) -> str:
    return f"arXiv:{doc_id}" if is_arxiv_id(doc_id) else t(lang, "note")


def _links(c: Citation, lang: str) -> list[tuple[str, str]]:
    if is_arxiv_id(c.doc_id):
        return [(t(lang, "abs"), c.url or abs_url(c.doc_id)),
                (t(lang, "pdf_page", a=c.page_start), pdf_url(c.doc_id, c.page_start))]
    return [(t(lang, "abs"), c.url)] if c.url.startswith("http") else []


def highlight(c: Citation, passages: list[Passage], context: int = 160) -> str:
    """The quote marked inside a little of its passage (the cited one first), HTML-escaped."""
    quote = " ".join(c.quote.split())
    for p in sorted(passages, key=lambda p: p.n != c.passage):
        text = " ".join(p.text.split())
        at = text.find(quote) if p.doc_id == c.doc_id and quote else -1
        if at >= 0:
            start, end = max(0, at - context), min(len(text), at + len(quote) + context)
            return ("…" if start else "") + html.escape(text[start:at]) + \
                f"<mark>{html.escape(quote)}</mark>" + html.escape(text[at + len(quote):end]) + \
                ("…" if end < len(text) else "")
    return f"<mark>{html.escape(quote)}</mark>"


def _passages_block(passages: list[Passage], lang: str) -> str:
    items = "".join(
        f"<li><b>[{p.n}] {html.escape(p.title)}</b> ({pages(lang, p.page_start, p.page_end)})"
        f": {html.escape(' '.join(p.text.split())[:700])}</li>" for p in passages)
    return (f"<details><summary>{t(lang, 'passages', n=len(passages))}</summary>"
            f"<ol style=\"list-style:none;padding-left:0\">{items}</ol></details>")
