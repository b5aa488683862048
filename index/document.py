"""Index stage: one document's work, wherever it runs (this process or a Dask worker).

`parse_one` reads a source into chunks and records it in the index's document table;
`embed_doc` turns a document's chunks into one embedder's vectors; both report into a
`BuildReport`. `index.build` runs them in turn for an ingest, `index.cluster` on workers.

    chunks = parse_one(src, file_sha256(src.path), docs_meta, report, settings)
    vectors = embed_doc(embedder, chunks, settings, NullReporter(), "embed")
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common.settings import Settings
from index.embed import Embedder
from index.progress import Reporter
from ingest.chunk import chunk_document
from ingest.pdf import ParseError, load_document
from ingest.sources import Source
from ingest.types import Chunk


@dataclass
class BuildReport:
    """What one ingest did; the CLI prints it as the closing summary."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    documents: int = 0
    pages: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    embed_s: dict[str, float] = field(default_factory=dict)  # per embedder id
    version: str = ""


def embed_text(chunk: Chunk) -> str:
    """What gets embedded and BM25-indexed: the paper title as a header, then the chunk."""
    return f"{chunk.title}\n{chunk.text}"


def parse_one(
    src: Source, sha: str, docs_meta: dict[str, dict], report: BuildReport, settings: Settings
) -> list[Chunk] | None:
    """The chunks of `src` (whose bytes hash to `sha`), recorded in `docs_meta` and `report`
    as added or updated; None, with the reason in `report.skipped`, when it has no text."""
    try:
        doc = load_document(src.path, src.paper)
    except ParseError as e:
        report.skipped.append((str(src.path), str(e)))
        return None
    chunks = chunk_document(doc, settings.chunk_tokens)
    if not chunks:
        report.skipped.append((str(src.path), "no text to index"))
        return None
    doc_id = src.paper.doc_id
    (report.updated if doc_id in docs_meta else report.added).append(doc_id)
    docs_meta[doc_id] = {
        "sha256": sha,
        "title": doc.paper.title,
        "year": doc.paper.year,
        "authors": list(doc.paper.authors),
        "aliases": list(doc.paper.aliases),
        "url": doc.paper.url,
        "path": str(src.path),
        "kind": src.kind,
        "lang": doc.lang,
        "pages": len(doc.page_offsets),
        "chunks": len(chunks),
    }
    return chunks


def embed_doc(
    emb: Embedder, chunks: list[Chunk], settings: Settings, reporter: Reporter, stage: str
) -> np.ndarray:
    """One (len(chunks), dim) matrix of `emb`'s vectors, in batches of `settings.embed_batch`,
    each batch advancing `stage` of `reporter`."""
    parts = []
    for i in range(0, len(chunks), settings.embed_batch):
        batch = chunks[i : i + settings.embed_batch]
        parts.append(emb.encode_document([embed_text(c) for c in batch]))
        reporter.advance(stage, len(batch))
    return np.vstack(parts)
