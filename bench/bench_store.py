"""The PostgreSQL store against the embedded one, on the real corpus and gold questions.

    python bench/bench_store.py --store postgres --gold ../shared/gold/dev.jsonl [--json]

Starts a throwaway PostgreSQL 18 + pgvector (127.0.0.1, a temp folder), ingests
../shared/corpus/pdfs + ../shared/seeds into it (vectors from the per-document cache of the
embedded index's RAG_HOME, so this times parsing, BM25 weighting and writing, not embedding),
then runs every gold question through both stores' `Retriever.search` and prints: top-5
document agreement (share of the embedded store's top-5 documents also in PostgreSQL's top-5,
averaged; key `top5_doc_agreement`), identical top-5 chunk lists, search p50/p95 including
the question's embedding (`search_p50_ms`), ingest seconds and table sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from eval.gold import load_gold
from index.build import ingest_sources
from index.pgserver import PgServer
from index.pgstore import connect
from ingest.sources import resolve_sources
from rag.retrieve import Retriever

SHARED = REPO_ROOT.parent / "shared"
SIZES = ("SELECT pg_total_relation_size('seed_chunks'), pg_relation_size('seed_chunks'), "
         "pg_total_relation_size('seed_postings') + pg_total_relation_size('seed_terms') "
         "+ pg_total_relation_size('seed_docs')")


def timed_searches(retriever: Retriever, questions: list[str], k: int = 5
                   ) -> tuple[list[list], list[float]]:
    retriever.search(questions[0], k)  # warm-up
    hits, ms = [], []
    for q in questions:
        t0 = time.perf_counter()
        hits.append(retriever.search(q, k))
        ms.append((time.perf_counter() - t0) * 1000)
    return hits, ms


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def compare(pg: list[list], emb: list[list]) -> dict:
    agree, same = [], 0
    for a, b in zip(pg, emb, strict=True):
        docs_a, docs_b = {h.chunk.doc_id for h in a}, {h.chunk.doc_id for h in b}
        agree.append(len(docs_a & docs_b) / max(len(docs_b), 1))
        same += [h.chunk.chunk_id for h in a] == [h.chunk.chunk_id for h in b]
    return {"top5_doc_agreement": statistics.mean(agree), "top5_chunks_identical": same / len(pg)}


def run(args: argparse.Namespace) -> dict:
    embedded = Settings()
    questions = [g.question for g in load_gold(Path(args.gold))]
    out: dict = {"questions": len(questions), "load_before": os.getloadavg(),
                 "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                          capture_output=True, text=True).stdout.strip()}
    root = Path(tempfile.mkdtemp(prefix="seed-bench-pg-"))  # handed to the postgres user
    home = Path(tempfile.mkdtemp(prefix="seed-bench-home-"))
    try:
        with PgServer(root) as server:
            settings = embedded.model_copy(update={
                "home": home, "store": server.url, "offline": True,
                "cache_dir": embedded.vector_cache})
            t0 = time.perf_counter()
            sources = resolve_sources([str(SHARED / "corpus/pdfs"), str(SHARED / "seeds")],
                                      settings).sources
            report = ingest_sources(sources, settings)
            out["ingest_s"] = time.perf_counter() - t0
            out["ingest_timings"] = report.timings
            out["chunks"], out["embedded_chunks"] = report.chunks, report.embedded_chunks
            conn = connect(server.url)
            total, heap, other = conn.execute(SIZES).fetchone()
            conn.close()
            out |= {"chunks_mb": total / 2**20, "chunks_heap_mb": heap / 2**20,
                    "terms_docs_mb": other / 2**20}
            pg = Retriever(settings)
            emb = Retriever(embedded, embedders=pg.embedders)
            pg_hits, pg_ms = timed_searches(pg, questions)
            emb_hits, emb_ms = timed_searches(emb, questions)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    out |= compare(pg_hits, emb_hits)
    out |= {"search_p50_ms": statistics.median(pg_ms), "search_p95_ms": pct(pg_ms, 0.95),
            "embedded_p50_ms": statistics.median(emb_ms), "embedded_p95_ms": pct(emb_ms, 0.95),
            "load_after": os.getloadavg()}
    return out


def show(out: dict) -> None:
    c = Console()
    c.print(f"commit {out['commit']}, load {out['load_before']} -> {out['load_after']}; "
            f"{out['questions']} gold questions, {out['chunks']:,} chunks")
    t = Table("measure", "value")
    t.add_row("top-5 document agreement with the embedded store",
              f"{out['top5_doc_agreement']:.3f}")
    t.add_row("identical top-5 chunk lists", f"{out['top5_chunks_identical']:.3f}")
    t.add_row("search p50 / p95, PostgreSQL (ms)",
              f"{out['search_p50_ms']:.1f} / {out['search_p95_ms']:.1f}")
    t.add_row("search p50 / p95, embedded (ms)",
              f"{out['embedded_p50_ms']:.1f} / {out['embedded_p95_ms']:.1f}")
    t.add_row("ingest into PostgreSQL, vectors cached (s)", f"{out['ingest_s']:.1f} "
              + str({k: round(v, 1) for k, v in out["ingest_timings"].items()}))
    t.add_row("seed_chunks total / heap (MiB)",
              f"{out['chunks_mb']:.1f} / {out['chunks_heap_mb']:.1f}")
    t.add_row("seed_postings + seed_terms + seed_docs (MiB)", f"{out['terms_docs_mb']:.1f}")
    c.print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", choices=["postgres"], default="postgres")
    ap.add_argument("--gold", default=str(SHARED / "gold/dev.jsonl"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = run(args)
    print(json.dumps(out, indent=1)) if args.json else show(out)


if __name__ == "__main__":
    main()
