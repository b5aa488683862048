"""Cold ingest in-process against the same ingest fanned out over Dask (RAG_CLUSTER).

    python bench/bench_cluster.py --docs 6 [--cluster local|tcp://host:8786] [--json]

Each run embeds from scratch (a fresh RAG_HOME and vector cache) the first `--docs` PDFs of
../shared/corpus/pdfs, so the figure is parse + chunk + e5 + USE per chunk, the work a
cluster spreads. Prints wall seconds, chunks per wall-second and this process's CPU seconds
(its children, the LocalCluster's workers, included once they have exited).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from index.build import ingest_sources
from ingest.sources import resolve_sources

SHARED = REPO_ROOT.parent / "shared"


def cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def cold_ingest(paths: list[Path], cluster: str | None) -> dict:
    home = Path(tempfile.mkdtemp(prefix="seed-bench-cluster-"))
    try:
        settings = Settings(home=home, offline=True, mirror_dirs=[], notes_dirs=[],
                            cluster=cluster)
        cpu, t0 = cpu_s(), time.perf_counter()
        report = ingest_sources(resolve_sources([str(p) for p in paths], settings).sources,
                                settings)
        wall = time.perf_counter() - t0
        return {"wall_s": wall, "cpu_s": cpu_s() - cpu, "chunks": report.chunks,
                "chunks_per_s": report.chunks / wall, "driver_embedded": report.embedded_chunks}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=6)
    ap.add_argument("--cluster", default="local")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    paths = sorted((SHARED / "corpus/pdfs").glob("*.pdf"))[: args.docs]
    out = {"docs": len(paths), "cores": os.cpu_count(), "load_before": os.getloadavg()}
    out["in_process"] = cold_ingest(paths, None)
    out["cluster"] = cold_ingest(paths, args.cluster)
    out["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(out, indent=1))
        return
    t = Table("run", "wall s", "CPU s", "chunks", "chunks / wall-s", "embedded by the driver")
    for name in ("in_process", "cluster"):
        r = out[name]
        t.add_row(name, f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", str(r["chunks"]),
                  f"{r['chunks_per_s']:.1f}", str(r["driver_embedded"]))
    Console().print(f"{out['docs']} PDFs, {out['cores']} cores, load {out['load_before']} -> "
                    f"{out['load_after']}", t)


if __name__ == "__main__":
    main()
