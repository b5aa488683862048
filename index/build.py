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

from filelock import FileLock, Timeout

from common.settings import Settings
from index.document import BuildReport, embed_text
from index.embed import embedder_ids, load_embedders
from index.lexical import LEXICAL_VERSION, LexicalIndex, tokenize
from index.progress import NullReporter, Reporter
from index.steps import (
    IngestBusyError,
    chunks_by_doc,
    embed_all,
    expected_meta,
    parse_changed,
    same_chunking,
)
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

log = logging.getLogger(__name__)
FETCH_STAGE = "fetch (cache, mirrors, arXiv)"


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
    if old_meta is not None and not rebuild and not same_chunking(old_meta, settings):
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
    old_chunks = chunks_by_doc(old.chunks) if old else {}

    t0 = time.perf_counter()
    fresh = parse_changed(sources, docs_meta, old_chunks, report, settings, reporter)
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
    vectors = embed_all(all_chunks, docs_meta, embedders, settings, reporter, report)
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


def _same_embedders(meta: Meta, settings: Settings) -> bool:
    return [e["id"] for e in meta.embedders] == embedder_ids(settings.embedder)
