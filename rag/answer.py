"""Rag stage: `ask(question)` -> a cited `Answer` in the question's language, or an honest no.

    assistant = Assistant(settings)          # loads the index, embedders and model once
    answer = assistant.ask("ALBERT와 ELECTRA 차이?", on_plan=show_sources)

Steps: retrieve (hybrid) -> passages (hit + continuation) -> the gate (rag/gate.py) may
abstain -> focused evidence -> read with the chat model (a comparison one paper at a time,
rag/compare.py) -> language check -> citation check (rag/cite.py) -> every sentence held to
the numbers, names and meaning of its passage (rag/repair.py) -> `Answer`, each citation
with its quote (translated when the paper's language differs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from common.lang import detect_lang, written_in
from common.settings import Settings
from index.embed import Embedder, sentence_embedder
from rag.cite import Answer
from rag.compare import (
    KEY_IDEA_QUERIES,
    SIDE_QUESTION,
    join_sides,
    shift,
    side_papers,
)
from rag.context import Passage, build_passages, passages_of
from rag.finish import ABSTAIN_CUES, Finisher, says_no
from rag.focus import focus
from rag.gate import Verdict, check
from rag.named import about, named_as_kind
from rag.prompts import ABSTAIN, prompt_inputs, reader_prompt
from rag.question import Question
from rag.repair import MIN_MEANING
from rag.retrieve import ABSTRACT_CHUNKS, SIDE_QUERY, Hit, Retriever, Searcher
from rag.topic import TopicTest
from rag.translate import Translator
from rag.which import asks_which

log = logging.getLogger(__name__)
__all__ = ["ABSTAIN_CUES", "Answer", "Assistant", "Plan", "Reading", "ask"]

# A paper's abstract says what the paper proposes: when a comparison asks what each side is,
# its sentences get this bonus over sentences of later sections (results, related work).
LEAD_BONUS = 0.3

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
    verdict: Verdict = field(default_factory=lambda: Verdict(False, "not checked"))
    read_lang: str = "en"  # the language the reader answers in (then translated to `lang`)
    parsed: Question | None = None  # the question, parsed once (rag/question.py)


class Assistant:
    """Retriever + reader, loaded once and reused for many questions."""

    def __init__(
        self, settings: Settings, retriever: Retriever | None = None,
        llm: BaseChatModel | None = None, searcher: Searcher | None = None,
    ) -> None:
        """`retriever` holds the index, embedders and paper names the reading and checks
        use; `searcher` finds the hits to read (default: `retriever` itself)."""
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self.searcher: Searcher = searcher or self.retriever
        self._llm = llm
        self._translator: Translator | None = None
        self._topic: TopicTest | None = None
        # USE when the index has it, else the first embedder (index/embed.py)
        self._sentences: Embedder = sentence_embedder(self.retriever.embedders)

    @property
    def llm(self) -> BaseChatModel:
        if self._llm is None:
            from rag.llm import chat_model

            self._llm = chat_model(self.settings)
        return self._llm

    @property
    def topic(self) -> TopicTest:
        """The off-topic test of the gate, on the sentence embedder (rag/topic.py)."""
        if self._topic is None:
            self._topic = TopicTest(self._sentences)
        return self._topic

    @property
    def translate(self) -> Translator:
        if self._translator is None:
            self._translator = Translator(self.llm)
        return self._translator

    def plan(self, question: str, k: int | None = None) -> Plan:
        """Everything before the model: retrieve, decide whether to abstain, and cut the
        evidence of each reading (one, or one per paper of a comparison). No LLM call."""
        t0 = time.perf_counter()
        parsed = Question.parse(question, self.retriever.names)
        lang, sides = parsed.answer_lang, list(parsed.sides)
        hits = self.searcher.search(parsed, max(k or self.settings.k, 1))
        subjects, hits = (([], hits) if sides else
                          self._subjects(parsed, hits, max(k or self.settings.k, 1)))
        passages = build_passages(hits, self.retriever.index, self.settings.context_tokens,
                                  k or self.settings.k)
        plan = Plan(question, lang, hits, passages, parsed=parsed)
        read = plan.read_lang = lang if lang == "en" or not self.settings.read_in_english \
            else "en"
        plan.timings["retrieve_s"] = time.perf_counter() - t0
        plan.verdict = check(parsed, hits, passages, self.retriever, self.topic)
        if not plan.verdict.ok:
            log.info("abstaining before reading: %s", plan.verdict.reason)
            return plan
        pairs = side_papers(sides, self.retriever.names, passages)
        if pairs:
            plan.readings = [self._side_reading(read, side, doc_id, passages)
                             for side, doc_id in pairs]
        else:
            scoped = passages_of(passages, subjects) or passages
            kept = self._focus(parsed, scoped, [SIDE_QUERY.format(side=s) for s in sides])
            plan.readings = [Reading(prompt_inputs(question, read, kept, sides), kept)]
        plan.timings["plan_s"] = time.perf_counter() - t0
        return plan

    def ask(
        self, question: str, on_token: Callable[[str], None] | None = None,
        k: int | None = None, on_plan: Callable[[Plan], None] | None = None,
    ) -> Answer:
        """Answer `question`. `on_plan(plan)` is called once retrieval has decided what will
        be read (show the sources while the model drafts); `on_token(piece)` receives the
        model's draft as it is written: a draft, not the answer, which only holds the
        sentences that pass the checks."""
        t0 = time.perf_counter()
        plan = self.plan(question, k)
        if on_plan:
            on_plan(plan)
        timings = {"retrieve_s": plan.timings["retrieve_s"]}
        if not plan.readings:
            answer = self._abstain(question, plan.lang, plan.passages, timings, t0)
            answer.note = plan.verdict.note
            return answer
        if len(plan.readings) > 1:
            raw, first, passages = self._read_sides(plan, on_token, t0)
        else:
            passages = plan.readings[0].passages
            raw, first = self._read(plan.readings[0].inputs, on_token, t0)
        timings["first_token_s"] = first
        raw = self._ensure_language(raw, plan.read_lang)
        answer = self.finisher.finish(plan.parsed, plan.read_lang, raw, passages, timings)
        timings["total_s"] = time.perf_counter() - t0
        return answer

    def _subjects(self, question: Question, hits: list[Hit], k: int
                  ) -> tuple[list[str], list[Hit]]:
        """The papers the question names and is about (rag/named.py `about`), and the hits
        to read: when it names papers it is not about ("a lighter BERT ...", "which
        lightweight BERT model ..."), the hits found as if it named none, which the
        named-paper leg would otherwise fill with the named paper. Comparisons do not come
        here (their sides are searched on their own)."""
        named = list(question.named)
        if not named:
            return [], hits
        found = self.searcher.search(replace(question, named=()), k)
        if asks_which(question.text, question.answer_lang) and named_as_kind(
                question.text, named, self.retriever.names):
            return [], found
        papers = set(self.retriever.names.values())  # reading notes have no name
        subjects = about(named, [h.chunk.doc_id for h in found if h.chunk.doc_id in papers],
                         self.retriever.names)
        return (subjects, hits) if subjects else ([], found)

    def _focus(self, question: Question | str, passages: list[Passage], also: list[str], **kw
               ) -> list[Passage]:
        """The passages cut to the sentences that bear on the question (rag/focus.py)."""
        if not self.settings.evidence_tokens:
            return passages
        lang = question.answer_lang if isinstance(question, Question) else detect_lang(question)
        kw.setdefault("budget_tokens", self._budget(lang))
        return focus(question, passages, self._sentences, also=also, **kw)

    def _budget(self, lang: str) -> int:
        """Evidence tokens for a question answered in `lang`: an English question reads
        more (settings.evidence_tokens_en), since its reader does not cross languages."""
        if lang == "en" and self.settings.evidence_tokens_en:
            return self.settings.evidence_tokens_en
        return self.settings.evidence_tokens

    def _side_reading(self, lang: str, side: str, doc_id: str, passages: list[Passage]
                      ) -> Reading:
        """One side of a comparison of two named papers (rag/compare.py): "what is the key
        idea of X?" over X's passages only, with half the evidence budget, the abstract and
        "we propose" sentences first."""
        question = SIDE_QUESTION[lang].format(side=side)
        own = passages_of(passages, [doc_id])
        own = self._focus(question, own, [SIDE_QUERY.format(side=side), *KEY_IDEA_QUERIES],
                          spread=1, budget_tokens=self._budget(lang) // 2,
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
            if says_no(raw):
                continue
            text, own = shift(raw, reading.passages, len(shown))
            texts.append(text)
            shown += own
        return (join_sides(texts, plan.read_lang) or ABSTAIN[plan.read_lang]), first, \
            shown or plan.passages

    def _is_lead(self, passage: Passage) -> bool:
        """Whether the passage holds its paper's opening (abstract) chunks."""
        return any(self.retriever.index.chunks[r].seq < ABSTRACT_CHUNKS for r in passage.rows)

    def warm_up(self) -> None:
        """Load the model and process the prompt's fixed part (rules and worked examples) once,
        so every question pays only for its own sources (~10 s once, at load)."""
        chain = reader_prompt() | self.llm.bind(max_tokens=1) | StrOutputParser()
        chain.invoke(prompt_inputs("warm-up", "en", []))

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
        if written_in(text, lang) or says_no(text):
            return text
        log.info("answer came back in %s; translating to %s", detect_lang(text), lang)
        return self.translate(text, lang)

    @property
    def finisher(self) -> Finisher:
        docs = self.retriever.index.meta.docs
        return Finisher(self.translate, self._similarity, self._similar_sentences,
                        MIN_MEANING.get(self._sentences.id, (0.0, 0.0)),
                        self.retriever.names, {d: m.get("path", "") for d, m in docs.items()})

    def _similarity(self, sentences: list[str], passages: list[Passage]) -> np.ndarray:
        emb = self.retriever.embedders[0]
        s = emb.encode_query(sentences)
        dense = self.retriever.index.dense[0]
        cols = [max((dense.reconstruct(r) for r in p.rows), key=lambda v, s=s: float(
            (s @ v).max())) for p in passages]
        return s @ np.asarray(cols).T

    def _similar_sentences(self, sentence: str, candidates: list[str]) -> list[float]:
        """Cosines of `sentence` with each candidate under the sentence embedder (USE)."""
        if not candidates:
            return []
        emb = self._sentences
        return (emb.encode_document(candidates) @ emb.encode_query([sentence])[0]).tolist()

    def _abstain(self, question, lang, passages, timings, t0) -> Answer:
        timings["first_token_s"] = timings["total_s"] = time.perf_counter() - t0
        return Answer(question, lang, ABSTAIN[lang], [], passages, True, timings)


def ask(question: str, settings: Settings, on_token: Callable[[str], None] | None = None
        ) -> Answer:
    """One-shot convenience: load everything, answer one question."""
    return Assistant(settings).ask(question, on_token)
