"""Rag stage: from the reader's draft to the `Answer` the user is shown.

    answer = Finisher(translate, similarity, similar, min_meaning, names, docs).finish(
        Question.parse(text, names), "en", draft, passages, timings)

The draft is checked in the language it was read in (`read_lang`, English for a Korean or
Chinese question by default, since nearly every passage is English): citations
(rag/cite.py), then every sentence's numbers, names and meaning against its passage
(rag/repair.py), then a "which paper" question gets the paper's name (rag/which.py). A
draft read in English is then translated as a whole into the question's language, markers
kept, and each translated sentence is held to its sources again: a translation that
changed a number or a name loses that sentence. Each citation's quote is translated too.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass

from common.lang import written_in
from rag.cite import (
    MARKER,
    Answer,
    Citation,
    Similarity,
    check_answer,
    header,
    parse_markers,
    render,
)
from rag.context import Passage
from rag.ground import cited_pieces, unbacked
from rag.named import named_as_kind
from rag.prompts import ABSTAIN
from rag.question import Question
from rag.repair import Grounder, Similar, Translate, translated
from rag.which import asks_which, with_name

log = logging.getLogger(__name__)

ABSTAIN_CUES = re.compile(
    r"(찾을 수 없|나와 있지 않|언급되지 않|정보가 없|找不到|没有提到|未提及|无法回答|"
    r"do not (?:contain|answer|mention)|does not (?:contain|answer|mention)|not mentioned|"
    r"cannot (?:find|answer)|no information)", re.I)


def says_no(text: str) -> bool:
    """Whether the reader said the sources do not answer (and said nothing else: "X is Y [1].
    The rest is not mentioned." keeps its answer)."""
    from common.lang import detect_lang

    pieces = [s for s, _ in cited_pieces(text, detect_lang(text))] or [text]
    return all(ABSTAIN_CUES.search(s) or any(a in s for a in ABSTAIN.values()) for s in pieces)


def without_no(text: str) -> str:
    """The draft without the sentences that say the sources do not answer."""
    from common.lang import detect_lang

    return " ".join(s for s, _ in cited_pieces(text, detect_lang(text))
                    if not (ABSTAIN_CUES.search(s) or any(a in s for a in ABSTAIN.values())))


@dataclass
class Finisher:
    """The checks after generation, with what they need from the loaded assistant."""

    translate: Translate
    similarity: Similarity  # sentences x passages (e5), for the citation check
    similar: Similar  # sentence x sentences (USE), for meaning and quotes
    min_meaning: tuple[float, float]
    names: dict[str, str]  # paper names -> doc ids
    paths: dict[str, str]  # doc id -> local file, for citation links

    def finish(self, parsed: Question, read_lang: str, raw: str, passages: list[Passage],
               timings: dict) -> Answer:
        """The checked answer in the question's language (see the module docstring)."""
        question, lang = parsed.text, parsed.answer_lang
        if says_no(raw):
            return Answer(question, lang, ABSTAIN[lang], [], passages, True, timings,
                          draft=raw)
        checked = check_answer(without_no(raw), read_lang, passages, self.similarity)
        grounder = Grounder(read_lang, self.translate, self.similar, self.min_meaning,
                            question)
        shown, removed = grounder.ground(checked, passages)
        named = list(parsed.named)
        if asks_which(question, lang) and (
                not named or named_as_kind(question, named, self.names)):
            shown = with_name(shown, passages, read_lang)
        paths = {p.n: self.paths.get(p.doc_id, "") for p in passages}
        text, citations = render(shown, passages, paths)
        if text and read_lang != lang:
            text, citations, lost = self._into(text, lang, citations, passages)
            removed += lost
        if not citations:  # nothing the model said is grounded in the passages
            return Answer(question, lang, ABSTAIN[lang], [], passages, True, timings, removed,
                          draft=raw)
        citations = [translated(c, lang, self.translate) for c in citations]
        return Answer(question, lang, text, citations, passages, False, timings, removed,
                      draft=raw)

    def _into(self, text: str, lang: str, citations: list[Citation],
              passages: list[Passage]) -> tuple[str, list[Citation], list[str]]:
        """The checked answer translated into `lang`; sentences whose translation lost or
        changed a number or name, or its marker, are left out; citations renumbered."""
        out = self.translate(text, lang)
        if not written_in(out, lang):
            return "", [], [text]
        by_n = {p.n: p for p in passages}
        sources = {c.n: (by_n[c.passage].text, header(by_n[c.passage])) for c in citations}
        kept, lost = [], []
        for s, marks in cited_pieces(out, lang):
            bad = not marks or not set(marks) <= set(sources) or unbacked(s, marks, sources)
            (lost if bad else kept).append(s)
        return (*_renumber(" ".join(kept), citations), lost)


def _renumber(text: str, citations: list[Citation]) -> tuple[str, list[Citation]]:
    """Markers ("[2]", "[1, 3]", "【2】") renumbered 1, 2, ... by first use and written as
    "[a][b]"; citations no marker uses dropped."""
    order: dict[int, int] = {}
    for n in parse_markers(text):
        order.setdefault(n, len(order) + 1)

    def mark(m: re.Match) -> str:
        found = [int(x) for x in re.split(r"[^\d]+", m.group(1)) if x]
        return " " + "".join(f"[{order[n]}]" for n in found)

    text = MARKER.sub(mark, text)
    kept = [dataclasses.replace(c, n=order[c.n]) for c in citations if c.n in order]
    return text, sorted(kept, key=lambda c: c.n)

