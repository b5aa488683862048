"""Rag stage: `ask(question)` -> a cited `Answer` in the question's language, or an honest no.

    assistant = Assistant(settings)          # loads the index, embedders and model once
    answer = assistant.ask("ALBERT와 ELECTRA 차이?", on_token=print)

Steps: retrieve (hybrid) -> passages (hit + continuation, within a token budget) -> abstain
early when retrieval found nothing close, or when the question names a model no passage
mentions (GPT-5) -> read with the chat model (LangChain chain, streamed; a comparison of
two papers one paper at a time, rag/compare.py) -> language check (one repair by
translation) -> citation check and repair -> `Answer` with numbered citations, each with
the quote that supports it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from index.embed import Embedder
from ingest.lang import detect_lang, is_foreign, written_in
from ingest.settings import Settings
from rag.cite import Citation, check_answer, render
from rag.compare import (
    KEY_IDEA_QUERIES,
    SIDE_QUESTION,
    join_sides,
    own_passages,
    shift,
    side_papers,
)
from rag.context import Passage, build_passages, named_only
from rag.focus import focus
from rag.named import named_papers, unseen_names
from rag.prompts import ABSTAIN, LANG_NAMES, TRANSLATE, prompt_inputs, reader_prompt
from rag.retrieve import ABSTRACT_CHUNKS, SIDE_QUERY, Hit, Retriever, comparison_sides

log = logging.getLogger(__name__)

# A paper's abstract says what the paper proposes: when a comparison asks what each side is,
# its sentences get this bonus over sentences of later sections (results, related work).
LEAD_BONUS = 0.3
MIN_RELEVANCE = 0.80  # best question-passage e5 cosine below this: nothing relevant found
ABSTAIN_CUES = re.compile(
    r"(찾을 수 없|나와 있지 않|언급되지 않|정보가 없|找不到|没有提到|未提及|无法回答|"
    r"do not (?:contain|answer|mention)|does not (?:contain|answer|mention)|not mentioned|"
    r"cannot (?:find|answer)|no information)", re.I)


@dataclass
class Answer:
    question: str
    lang: str
    text: str
    citations: list[Citation]
    passages: list[Passage]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)  # sentences no passage supports


@dataclass
class Reading:
    """One call of the reader: the prompt's inputs and the passages it numbers."""

    inputs: dict[str, str]
    passages: list[Passage]


@dataclass
class Plan:
    """What `Assistant.plan` decided before any model call; no readings means abstain."""

    question: str
    lang: str
    hits: list[Hit]
    passages: list[Passage]  # all retrieved passages (hit + continuation), before focusing
    readings: list[Reading] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class Assistant:
    """Retriever + reader, loaded once and reused for many questions."""

    def __init__(
        self, settings: Settings, retriever: Retriever | None = None,
        llm: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self._llm = llm

    @property
    def llm(self) -> BaseChatModel:
        if self._llm is None:
            from rag.llm import chat_model

            self._llm = chat_model(self.settings)
        return self._llm

    def plan(self, question: str, k: int | None = None) -> Plan:
        """Everything before the model: retrieve, decide whether to abstain, and cut the
        evidence of each reading (one, or one per paper of a comparison). No LLM call."""
        t0 = time.perf_counter()
        lang = "en" if is_foreign(question) else detect_lang(question)
        hits = self.retriever.search(question, max(k or self.settings.k, 1))
        passages = build_passages(hits, self.retriever.index, self.settings.context_tokens,
                                  k or self.settings.k)
        plan = Plan(question, lang, hits, passages)
        plan.timings["retrieve_s"] = time.perf_counter() - t0
        if not passages or self.relevance(question, hits) < MIN_RELEVANCE \
                or self._names_unseen(question, passages):
            return plan
        sides = comparison_sides(question, lang)
        pairs = side_papers(sides, self.retriever.names, passages)
        if pairs:
            plan.readings = [self._side_reading(lang, side, doc_id, passages)
                             for side, doc_id in pairs]
        else:
            scoped = named_only(passages, named_papers(question, self.retriever.names))
            kept = self._focus(question, scoped, [SIDE_QUERY.format(side=s) for s in sides])
            plan.readings = [Reading(prompt_inputs(question, lang, kept, sides), kept)]
        plan.timings["plan_s"] = time.perf_counter() - t0
        return plan

    def ask(
        self, question: str, on_token: Callable[[str], None] | None = None, k: int | None = None
    ) -> Answer:
        t0 = time.perf_counter()
        plan = self.plan(question, k)
        timings = {"retrieve_s": plan.timings["retrieve_s"]}
        if not plan.readings:
            return self._abstain(question, plan.lang, plan.passages, timings, t0)
        if len(plan.readings) > 1:
            raw, first, passages = self._read_sides(plan, on_token, t0)
        else:
            passages = plan.readings[0].passages
            raw, first = self._read(plan.readings[0].inputs, on_token, t0)
        timings["first_token_s"] = first
        raw = self._ensure_language(raw, plan.lang)
        answer = self._finish(question, plan.lang, raw, passages, timings)
        timings["total_s"] = time.perf_counter() - t0
        return answer

    def _focus(self, question: str, passages: list[Passage], also: list[str], **kw
               ) -> list[Passage]:
        """The passages cut to the sentences that bear on the question (rag/focus.py)."""
        if not self.settings.evidence_tokens:
            return passages
        kw.setdefault("budget_tokens", self.settings.evidence_tokens)
        return focus(question, passages, self._sentence_embedder, also=also, **kw)

    def _side_reading(self, lang: str, side: str, doc_id: str, passages: list[Passage]
                      ) -> Reading:
        """One side of a comparison of two named papers (rag/compare.py): "what is the key
        idea of X?" over X's passages only, with half the evidence budget, the abstract and
        "we propose" sentences first."""
        question = SIDE_QUESTION[lang].format(side=side)
        own = own_passages(passages, doc_id)
        own = self._focus(question, own, [SIDE_QUERY.format(side=side), *KEY_IDEA_QUERIES],
                          spread=1, budget_tokens=self.settings.evidence_tokens // 2,
                          prior=[LEAD_BONUS * self._is_lead(p) for p in own])
        return Reading(prompt_inputs(question, lang, own), own)

    def _read_sides(self, plan: Plan, on_token, t0) -> tuple[str, float, list]:
        """Read each side of a comparison in turn and join the answers, markers renumbered;
        a side the model can't answer is left out."""
        texts, shown, first = [], [], 0.0
        for reading in plan.readings:
            if shown and on_token:
                on_token(" ")
            raw, at = self._read(reading.inputs, on_token, t0)
            first = first or at
            if ABSTAIN_CUES.search(raw) or ABSTAIN[plan.lang] in raw:
                continue
            text, own = shift(raw, reading.passages, len(shown))
            texts.append(text)
            shown += own
        return (join_sides(texts, plan.lang) or ABSTAIN[plan.lang]), first, \
            shown or plan.passages

    def _names_unseen(self, question: str, passages: list[Passage]) -> bool:
        """The question asks about a model (GPT-5) no passage and no paper names."""
        text = "\n".join(f"{p.title}\n{p.text}" for p in passages)
        unseen = unseen_names(question, text, self.retriever.names)
        if unseen:
            log.info("no passage mentions %s: abstaining", ", ".join(unseen))
        return bool(unseen)

    def _is_lead(self, passage: Passage) -> bool:
        """Whether the passage holds its paper's opening (abstract) chunks."""
        return any(self.retriever.index.chunks[r].seq < ABSTRACT_CHUNKS for r in passage.rows)

    @property
    def _sentence_embedder(self) -> Embedder:
        """USE when the index has it (fast on short text, strong across languages), else the
        first embedder."""
        embs = self.retriever.embedders
        return next((e for e in embs if e.id.startswith("usem3")), embs[0])

    def warm_up(self) -> None:
        """Load the model and process the prompt's fixed part (rules and worked examples) once,
        so every question pays only for its own sources (~10 s once, at load)."""
        chain = reader_prompt() | self.llm.bind(max_tokens=1) | StrOutputParser()
        chain.invoke(prompt_inputs("warm-up", "en", []))

    def relevance(self, question: str, hits: list[Hit]) -> float:
        """Best cosine between the question and the top hits under the first embedder."""
        q = self.retriever.query_vector(0, question)
        rows = [self.retriever.index.row_of(h.chunk.doc_id, h.chunk.seq) for h in hits[:5]]
        vecs = [self.retriever.index.dense[0].reconstruct(r) for r in rows if r is not None]
        return float(max(np.asarray(vecs) @ q)) if vecs else 0.0

    def _read(self, inputs: dict, on_token, t0: float) -> tuple[str, float]:
        chain = reader_prompt() | self.llm | StrOutputParser()
        parts: list[str] = []
        first = 0.0
        for piece in chain.stream(inputs):
            if not parts:
                first = time.perf_counter() - t0
            parts.append(piece)
            if on_token:
                on_token(piece)
        return "".join(parts).strip(), first

    def _ensure_language(self, text: str, lang: str) -> str:
        """Translate the answer once when the model answered in another language."""
        if written_in(text, lang) or ABSTAIN_CUES.search(text):
            return text
        chain = TRANSLATE | self.llm | StrOutputParser()
        log.info("answer came back in %s; translating to %s", detect_lang(text), lang)
        return chain.invoke({"language": LANG_NAMES[lang], "text": text}).strip()

    def _finish(self, question, lang, raw, passages, timings) -> Answer:
        if ABSTAIN_CUES.search(raw) or ABSTAIN[lang] in raw:
            return Answer(question, lang, ABSTAIN[lang], [], passages, True, timings)
        checked = check_answer(raw, lang, passages, self._similarity)
        docs = self.retriever.index.meta.docs
        paths = {p.n: docs.get(p.doc_id, {}).get("path", "") for p in passages}
        text, citations = render(checked, passages, paths)
        if not citations:  # nothing the model said is supported by the passages
            return Answer(question, lang, ABSTAIN[lang], [], passages, True, timings,
                          [s.text for s in checked])
        unsupported = [s.text for s in checked if not s.supported]
        return Answer(question, lang, text, citations, passages, False, timings, unsupported)

    def _similarity(self, sentences: list[str], passages: list[Passage]) -> np.ndarray:
        emb = self.retriever.embedders[0]
        s = emb.encode_query(sentences)
        dense = self.retriever.index.dense[0]
        cols = [max((dense.reconstruct(r) for r in p.rows), key=lambda v, s=s: float(
            (s @ v).max())) for p in passages]
        return s @ np.asarray(cols).T

    def _abstain(self, question, lang, passages, timings, t0) -> Answer:
        timings["first_token_s"] = timings["total_s"] = time.perf_counter() - t0
        return Answer(question, lang, ABSTAIN[lang], [], passages, True, timings)


def ask(question: str, settings: Settings, on_token: Callable[[str], None] | None = None
        ) -> Answer:
    """One-shot convenience: load everything, answer one question."""
    return Assistant(settings).ask(question, on_token)
