"""Ingest and search speed on the offline corpus: cold ingest, unchanged re-run, search p50.

    python bench/bench_ingest.py [--home DIR] [--keep]

Cold ingest goes into a fresh RAG_HOME (a temp dir unless --home), so it measures parsing and
embedding everything; the re-run must add nothing; search latency includes embedding the query
with the model already loaded (each dev question searched once, after a warm-up).
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from eval.gold import load_gold
from index.build import ingest_sources
from ingest.settings import REPO_ROOT, Settings
from ingest.sources import resolve_sources
from rag.retrieve import Retriever

SHARED = REPO_ROOT.parent / "shared"


def timed_ingest(settings: Settings) -> tuple[float, object, float]:
    t0 = time.perf_counter()
    resolved = resolve_sources([str(SHARED / "corpus/pdfs"), str(SHARED / "seeds")], settings)
    fetch_s = time.perf_counter() - t0
    report = ingest_sources(resolved.sources, settings)
    return time.perf_counter() - t0, report, fetch_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="RAG_HOME to build in (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temp RAG_HOME")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    home = args.home or Path(tempfile.mkdtemp(prefix="seed-bench-"))
    settings = Settings(home=home, offline=True)
    cold_s, cold, fetch_s = timed_ingest(settings)
    warm_s, warm, _ = timed_ingest(settings)
    retriever = Retriever(settings)
    questions = [q.question for q in load_gold(SHARED / "gold/dev.jsonl")]
    for q in questions[:5]:
        retriever.search(q, 10)
    lat = []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search(q, 10)
        lat.append(time.perf_counter() - t0)
    t = Table(title=f"Ingest + search on the offline corpus (RAG_HOME={home})")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("documents / pages / chunks", f"{cold.documents} / {cold.pages} / {cold.chunks}")
    t.add_row("skipped", str(len(cold.skipped)))
    t.add_row("cold ingest total", f"{cold_s:.1f} s")
    t.add_row("  resolve sources", f"{fetch_s:.1f} s")
    for stage, s in cold.timings.items():
        t.add_row(f"  {stage.removesuffix('_s')}", f"{s:.1f} s")
    t.add_row(
        "  parse rate", f"{cold.pages / max(cold.timings.get('parse_s', 1), 1e-9):.1f} pages/s"
    )
    per_embedder = cold.embedded_chunks / max(len(cold.embed_s), 1)
    for emb_id, s in cold.embed_s.items():
        t.add_row(f"    embed {emb_id}", f"{s:.1f} s ({per_embedder / max(s, 1e-9):.1f} chunks/s)")
    t.add_row("unchanged re-run total", f"{warm_s:.2f} s")
    t.add_row("  chunks embedded on re-run", str(warm.embedded_chunks))
    t.add_row(
        "search p50 / p95 (incl. query embedding)",
        f"{statistics.median(lat) * 1000:.1f} / {sorted(lat)[int(0.95 * len(lat))] * 1000:.1f} ms",
    )
    t.add_row("peak RSS", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    Console().print(t)
    if not args.home and not args.keep:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
