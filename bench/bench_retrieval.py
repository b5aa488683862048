"""Retrieval quality on the gold set: recall@5 and MRR per language for each leg and hybrid.

    python bench/bench_retrieval.py [--gold ../shared/gold/dev.jsonl]

Uses the index in RAG_HOME (build it first with `rag ingest`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from eval.gold import load_gold
from eval.retrieval import LANGS, retrieval_table
from rag.retrieve import Retriever


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=REPO_ROOT.parent / "shared/gold/dev.jsonl")
    args = ap.parse_args()
    table = retrieval_table(load_gold(args.gold), Retriever(Settings()))
    t = Table(title=f"Retrieval on {args.gold.name} (answerable questions)")
    t.add_column("system")
    for lang in (*LANGS, "all"):
        t.add_column(f"{lang} r@5 / MRR")
    t.add_column("all r@1 / r@10")
    t.add_column("p50 ms")
    for name, by_lang in table.items():
        cells = [f"{by_lang[lg]['recall@5']:.2f} / {by_lang[lg]['mrr']:.2f}"
                 for lg in (*LANGS, "all") if lg in by_lang]
        a = by_lang["all"]
        t.add_row(name, *cells, f"{a['recall@1']:.2f} / {a['recall@10']:.2f}",
                  f"{a['retrieve_p50_s'] * 1000:.0f}")
    Console().print(t)


if __name__ == "__main__":
    main()
