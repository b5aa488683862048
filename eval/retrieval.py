"""Eval stage: retrieval quality per language, for any subset of the retriever's legs.

    scores = retrieval_table(gold, retriever)   # {"hybrid": {"ko": {...}, ...}, ...}

Only answerable questions count (an unanswerable one has no source to find).
"""

from __future__ import annotations

import time
from collections import defaultdict

from eval.gold import GoldQuestion
from eval.metrics import first_hit_rank, percentile, recall_at, reciprocal_rank
from rag.retrieve import Retriever

LANGS = ("ko", "zh", "en")


def leg_systems(retriever: Retriever) -> dict[str, set[str] | None]:
    """Named leg subsets: each dense leg, all dense, BM25 only, and the full hybrid."""
    dense = {f"dense-{i}" for i in range(len(retriever.embedders))}
    systems: dict[str, set[str] | None] = {}
    if len(dense) > 1:
        for i, emb in enumerate(retriever.embedders):
            systems[f"dense:{emb.id.split('-')[0]}"] = {f"dense-{i}"}
    systems["dense"] = dense
    systems["bm25"] = {"bm25"}
    systems["hybrid"] = None
    return systems


def retrieval_table(
    gold: list[GoldQuestion], retriever: Retriever, k: int = 10
) -> dict[str, dict[str, dict[str, float]]]:
    """{system: {lang or "all": {"recall@1", "recall@5", "recall@10", "mrr", "n", ...}}}."""
    out = {}
    for name, legs in leg_systems(retriever).items():
        ranks: dict[str, list[int | None]] = defaultdict(list)
        times: list[float] = []
        for q in (q for q in gold if q.answerable):
            t0 = time.perf_counter()
            hits = retriever.search(q.question, k, legs=legs)
            times.append(time.perf_counter() - t0)
            rank = first_hit_rank([h.chunk.doc_id for h in hits], q.sources)
            ranks[q.lang].append(rank)
            ranks["all"].append(rank)
        out[name] = {lang: _summary(r) for lang, r in ranks.items()}
        out[name]["all"]["retrieve_p50_s"] = percentile(times, 50)
    return out


def _summary(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "n": n,
        "recall@1": sum(recall_at(r, 1) for r in ranks) / n,
        "recall@5": sum(recall_at(r, 5) for r in ranks) / n,
        "recall@10": sum(recall_at(r, 10) for r in ranks) / n,
        "mrr": sum(reciprocal_rank(r) for r in ranks) / n,
    }
