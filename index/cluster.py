"""Index stage: parse -> chunk -> embed fanned out over a Dask cluster (`RAG_CLUSTER`).

    RAG_CLUSTER=tcp://scheduler:8786 rag ingest papers/    # `dask scheduler` + `dask worker`s
    RAG_CLUSTER=local rag ingest papers/                   # a LocalCluster of this machine

One task per changed document: a worker parses and chunks it, embeds it with every embedder
and puts the vectors in the per-document cache (RAG_CACHE_DIR: a folder every worker and the
ingesting machine share); it returns the chunks. The ingest then finds every vector cached
and writes the index as usual, so the result is the in-process one. A worker that dies
mid-document loses nothing: Dask runs the task again elsewhere and the cache (written
atomically, per document) keeps whatever was finished.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from common.settings import Settings
from index.cache import VectorCache
from index.document import BuildReport, embed_doc, parse_one
from index.embed import Embedder, load_embedders
from index.progress import NullReporter, Reporter
from ingest.chunk import CHUNKER_VERSION
from ingest.sources import Source
from ingest.types import Chunk

log = logging.getLogger(__name__)

RETRIES = 2  # a task that raised is tried again this many times (a dead worker: always)
_EMBEDDERS: dict[tuple[str, str], list[Embedder]] = {}  # per worker process, loaded once


class ClusterError(RuntimeError):
    """The Dask scheduler of RAG_CLUSTER could not be reached."""


@dataclass
class DocResult:
    """What a worker sends back for one document: its chunks and index record, or why not."""

    doc_id: str
    chunks: list[Chunk] | None
    meta: dict | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    worker: int = 0  # the worker's process id, for the log


def process_document(src: Source, sha: str, settings: Settings) -> DocResult:
    """Parse, chunk and embed one document into the vector cache (runs on a worker)."""
    docs_meta: dict[str, dict] = {}
    report = BuildReport()
    chunks = parse_one(src, sha, docs_meta, report, settings)
    doc_id = src.paper.doc_id
    if chunks:
        for emb in _worker_embedders(settings):
            cache = VectorCache(settings.vector_cache, emb.id, CHUNKER_VERSION,
                                settings.chunk_tokens)
            if not cache.has(sha):
                cache.put(sha, embed_doc(emb, chunks, settings, NullReporter(), "embed"))
    return DocResult(doc_id, chunks, docs_meta.get(doc_id), report.skipped, os.getpid())


def _worker_embedders(settings: Settings) -> list[Embedder]:
    key = (settings.embedder, settings.e5_runtime)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = load_embedders(*key)
    return _EMBEDDERS[key]


def client_for(address: str):
    """A Dask client: `local` starts a LocalCluster on 127.0.0.1 (one process per core)."""
    from distributed import Client, LocalCluster

    try:
        if address == "local":
            cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address=None)
            return Client(cluster)
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} (RAG_CLUSTER): {e}; start it or "
            "unset RAG_CLUSTER to ingest in-process") from e


def parse_on_cluster(todo: list[tuple[Source, str]], docs_meta: dict[str, dict], report,
                     settings: Settings, reporter: Reporter) -> dict[str, list[Chunk]]:
    """`index.steps.parse_changed`'s loop, one Dask task per document; fills `docs_meta`
    and `report` as the in-process loop does and returns {doc_id: chunks}."""
    from distributed import as_completed

    client = client_for(str(settings.cluster))
    fresh: dict[str, list[Chunk]] = {}
    reporter.start("parse+embed (cluster)", len(todo), "docs")
    try:
        futures = [client.submit(process_document, src, sha, settings, pure=False,
                                 retries=RETRIES, key=f"seed-doc-{sha[:16]}-{i}")
                   for i, (src, sha) in enumerate(todo)]
        for future in as_completed(futures):
            _take(future.result(), docs_meta, report, fresh)
            reporter.advance("parse+embed (cluster)")
    finally:
        reporter.finish("parse+embed (cluster)")
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()
    return {d: fresh[d] for src, _ in todo if (d := src.paper.doc_id) in fresh}


def _take(result: DocResult, docs_meta: dict[str, dict], report, fresh: dict) -> None:
    report.skipped.extend(result.skipped)
    if result.chunks is None or result.meta is None:
        return
    (report.updated if result.doc_id in docs_meta else report.added).append(result.doc_id)
    docs_meta[result.doc_id] = result.meta
    fresh[result.doc_id] = result.chunks
    log.info("%s: %d chunks from worker %d", result.doc_id, len(result.chunks), result.worker)
