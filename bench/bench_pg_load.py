"""Per-node figures for the scale-out plan: each retrieval leg's latency in PostgreSQL as the
table grows, and how many searches per second one server answers to concurrent clients.

    python bench/bench_pg_load.py --replicate 30 --clients 1 4 16 --per-client 60 [--json]

Ingests ../shared/corpus/pdfs + ../shared/seeds into a throwaway server (vectors from the
embedded index's cache), then copies the corpus's rows `--replicate` times (new row ids,
HNSW indexes rebuilt and timed) to see how each leg scales with rows. The gold questions'
vectors and BM25 tokens are computed once, so only the database's work is timed: one search
= the two dense legs + the BM25 leg, as `Retriever.legs` issues them. Clients are threads
with a connection each, on the same 2 cores as the server (bounded: `--per-client` searches).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from eval.gold import load_gold
from index.build import ingest_sources
from index.lexical import tokenize
from index.pgserver import PgServer
from index.pgstore import PgIndex, open_pg_index
from ingest.sources import resolve_sources
from rag.retrieve import Retriever

SHARED = REPO_ROOT.parent / "shared"
COPY_SQL = """INSERT INTO seed_chunks SELECT row_id + (%s::bigint << 44), doc_id, seq, chunk,
dl, {dense} FROM seed_chunks WHERE row_id < (1::bigint << 44)"""
COPY_POSTINGS = """INSERT INTO seed_postings SELECT term_id, row_id + (%s::bigint << 44), w
FROM seed_postings WHERE row_id < (1::bigint << 44)"""
INDEXES = ["seed_dense_{i} ON seed_chunks USING hnsw (dense_{i} halfvec_ip_ops)",
           "seed_postings_term ON seed_postings (term_id, w DESC)",
           "seed_postings_row ON seed_postings (row_id)"]


def queries(retriever: Retriever, gold: Path) -> list[tuple]:
    """(vector per dense leg, BM25 tokens) for each gold question, as Retriever.legs makes them."""
    out = []
    for g in load_gold(gold):
        tokens = tokenize(g.question, g.lang)
        if g.lang != "en":
            tokens = [t for t in tokens if t.isascii()]
        vecs = [retriever.query_vector(i, g.question) for i in range(len(retriever.embedders))]
        out.append((vecs, tokens))
    return out


def one_search(index: PgIndex, q: tuple, n: int = 40) -> dict[str, float]:
    ms = {}
    for i, vec in enumerate(q[0]):
        t0 = time.perf_counter()
        index.dense[i].search(vec, n)
        ms[f"dense-{i}"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    index.lexical.search(q[1], n)
    ms["bm25"] = (time.perf_counter() - t0) * 1000
    return ms


def replicate(index: PgIndex, times: int) -> dict[str, float]:
    """Add `times - 1` copies of every row and posting (term frequencies scaled alike);
    rebuild the indexes; their build seconds."""
    legs = len(index.dense)
    dense = ", ".join(f"dense_{i}" for i in range(legs))
    made = [x.format(i=i) for i in range(legs) for x in INDEXES[:1]] + INDEXES[1:]
    for spec in made:  # bulk copies go faster without them
        index.conn.execute(f"DROP INDEX IF EXISTS {spec.split()[0]}")
    for k in range(1, times):
        index.conn.execute(COPY_SQL.format(dense=dense), (k,))
        index.conn.execute(COPY_POSTINGS, (k,))
    index.conn.execute(f"UPDATE seed_terms SET df = df * {int(times)}")
    index.conn.execute("UPDATE seed_meta SET value = jsonb_set(value, '{chunks}', "
                       f"to_jsonb((value->>'chunks')::bigint * {int(times)})) WHERE key = 'stats'")
    built = {}
    for spec in made:
        t0 = time.perf_counter()
        index.conn.execute(f"CREATE INDEX {spec}")
        built[spec.split()[0]] = time.perf_counter() - t0
    index.conn.execute("VACUUM ANALYZE seed_chunks, seed_postings")
    return built


def bm25_agreement(index: PgIndex, qs: list[tuple], k: int = 10) -> float:
    """Share of ranks 1..k where the bounded postings read (POSTINGS_PER_TERM) scores what
    reading every posting scores (within 0.1%): copies of a chunk tie, so ranks are compared
    by score, not by row."""
    import index.pgstore as pgstore

    bounded = [[s for _, s in index.lexical.search(q[1], k)] for q in qs]
    keep, pgstore.POSTINGS_PER_TERM = pgstore.POSTINGS_PER_TERM, 10**9
    try:
        exact = [[s for _, s in index.lexical.search(q[1], k)] for q in qs]
    finally:
        pgstore.POSTINGS_PER_TERM = keep
    same = [abs(a - b) <= 1e-3 * b for x, y in zip(bounded, exact, strict=True)
            for a, b in zip(x, y, strict=False)]
    return sum(same) / max(sum(len(y) for y in exact), 1)


def leg_latency(index: PgIndex, qs: list[tuple]) -> dict[str, float]:
    runs = [one_search(index, q) for q in qs]
    return {leg: statistics.median(r[leg] for r in runs) for leg in runs[0]}


def throughput(url: str, qs: list[tuple], clients: int, per_client: int) -> dict:
    lat: list[float] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        index = open_pg_index(url)
        mine = []
        for j in range(per_client):
            t0 = time.perf_counter()
            one_search(index, qs[(seed * 7 + j) % len(qs)])
            mine.append((time.perf_counter() - t0) * 1000)
        index.conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {"searches_per_s": len(lat) / wall, "p50_ms": statistics.median(lat),
            "p95_ms": lat[int(0.95 * (len(lat) - 1))]}


def run(args: argparse.Namespace) -> dict:
    embedded = Settings()
    root = Path(tempfile.mkdtemp(prefix="seed-bench-pg-"))
    home = Path(tempfile.mkdtemp(prefix="seed-bench-home-"))
    out: dict = {"load_before": os.getloadavg()}
    try:
        with PgServer(root) as server:
            settings = embedded.model_copy(update={"home": home, "store": server.url,
                                                   "offline": True,
                                                   "cache_dir": embedded.vector_cache})
            ingest_sources(resolve_sources([str(SHARED / "corpus/pdfs"), str(SHARED / "seeds")],
                                           settings).sources, settings)
            qs = queries(Retriever(settings), Path(args.gold))
            index = open_pg_index(server.url)
            out["rows"] = {len(index.chunks): leg_latency(index, qs)}
            out["index_build_s"] = replicate(index, args.replicate)
            rows = index.query("SELECT count(*) FROM seed_chunks")[0][0]
            out["rows"][rows] = leg_latency(index, qs)
            out["bm25_top10_vs_all_postings"] = bm25_agreement(index, qs)
            out["table_mb"] = index.query(
                "SELECT pg_total_relation_size('seed_chunks') + "
                "pg_total_relation_size('seed_postings')")[0][0] / 2**20
            out["clients"] = {c: throughput(server.url, qs, c, args.per_client)
                              for c in args.clients}
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    out["load_after"] = os.getloadavg()
    return out


def show(out: dict) -> None:
    c = Console()
    c.print(f"load {out['load_before']} -> {out['load_after']}; index builds (s) "
            f"{ {k: round(v, 1) for k, v in out['index_build_s'].items()} }; chunks + postings "
            f"{out['table_mb']:.0f} MiB; BM25 top-10 agreement with all postings read "
            f"{out['bm25_top10_vs_all_postings']:.3f}")
    t = Table("rows", "dense-0 p50 ms", "dense-1 p50 ms", "bm25 p50 ms")
    for rows, legs in out["rows"].items():
        t.add_row(f"{rows:,}", *(f"{legs[k]:.1f}" for k in ("dense-0", "dense-1", "bm25")))
    c.print(t)
    t = Table("clients", "searches/s", "p50 ms", "p95 ms")
    for n, r in out["clients"].items():
        t.add_row(str(n), f"{r['searches_per_s']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}")
    c.print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(SHARED / "gold/dev.jsonl"))
    ap.add_argument("--replicate", type=int, default=30)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--per-client", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = run(args)
    print(json.dumps(out, indent=1)) if args.json else show(out)


if __name__ == "__main__":
    main()
