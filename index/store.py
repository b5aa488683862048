"""Index stage: the on-disk index, versioned and swapped atomically.

Layout under `RAG_HOME/index/`:

    CURRENT                 name of the live version (replaced with os.replace)
    versions/<name>/        one complete index: meta.json, chunks.jsonl,
                            dense-<i>.faiss (one per embedder), bm25/
    cache/<embedder>/       per-document vectors, so an interrupted ingest resumes
    lock                    held by the one ingest allowed to write

A writer builds a whole new version in a temporary folder, renames it into `versions/`,
then points CURRENT at it. A crash at any moment leaves CURRENT naming a complete version,
so readers never see half an index.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from common.files import atomic_write_text
from index.lexical import LEXICAL_VERSION, LexicalIndex
from ingest.chunk import CHUNKER_VERSION
from ingest.types import Chunk

log = logging.getLogger(__name__)

HNSW_THRESHOLD = 50_000  # above this many vectors, exact search passes ~10 ms: use HNSW
KEEP_VERSIONS = 2


class StoreError(RuntimeError):
    """Base of the index store's errors."""


class IndexMissingError(StoreError):
    """No index has been built yet."""


class IndexMismatchError(StoreError):
    """The index was built by another embedder or chunker version."""


class IndexWriteError(OSError):
    """A new version could not be written (disk full, read-only...); the old one is kept."""

    def __str__(self) -> str:
        return str(self.strerror)


def _write_error(root: Path, e: BaseException) -> IndexWriteError:
    """One line naming the folder, the cause and what to do, for any failed write."""
    text = " ".join(str(e).split())
    code = e.errno if isinstance(e, OSError) and e.errno else errno.EIO
    full = code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or "No space left" in text
    why = "no space left on device" if full else (getattr(e, "strerror", None) or text[:200])
    hint = "free some disk space" if full else f"check that {root} is writable"
    return IndexWriteError(
        errno.ENOSPC if full else code,
        f"cannot save the index in {root} ({why}): {hint} and rerun `rag ingest`; "
        "the previous index is unchanged",
    )


@dataclass
class Meta:
    """What an index version was built with, and what it holds."""

    embedders: list[dict]  # [{"id": ..., "dim": ...}]
    chunker: str
    lexical: str
    chunk_tokens: int
    docs: dict[str, dict] = field(default_factory=dict)  # doc_id -> sha256, title, pages...
    created: float = field(default_factory=time.time)

    def check_embedders(self, want: list[str]) -> None:
        """Raise IndexMismatchError unless this index was embedded by `want`, in order."""
        mine = [e["id"] for e in self.embedders]
        if mine != want:
            raise IndexMismatchError(
                f"the index was built with embedder {'+'.join(mine)} but {'+'.join(want)} is "
                "configured: run `rag ingest --rebuild` (or set RAG_EMBEDDER back)"
            )

    def check_versions(self, chunker: str, lexical: str) -> None:
        """Raise IndexMismatchError unless this index was cut and tokenised as we do now."""
        if (self.chunker, self.lexical) != (chunker, lexical):
            raise IndexMismatchError(
                f"the index was built by chunker {self.chunker}/{self.lexical}, this version "
                f"uses {chunker}/{lexical}: run `rag ingest --rebuild`"
            )


@dataclass
class StoredIndex:
    """One loaded index version: chunks, one FAISS index per embedder, BM25, meta."""

    meta: Meta
    chunks: list[Chunk]
    dense: list[faiss.Index]
    lexical: LexicalIndex
    version: str = ""

    def __post_init__(self) -> None:
        self._row = {(c.doc_id, c.seq): i for i, c in enumerate(self.chunks)}
        self._doc_rows: dict[str, list[int]] = {}
        for row, c in enumerate(self.chunks):
            self._doc_rows.setdefault(c.doc_id, []).append(row)

    def row_of(self, doc_id: str, seq: int) -> int | None:
        return self._row.get((doc_id, seq))

    def doc_rows(self, doc_id: str) -> list[int]:
        """The rows of one document's chunks, in order."""
        return self._doc_rows.get(doc_id, [])

    def dense_search(self, leg: int, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        index = self.dense[leg]
        if index.ntotal == 0:
            return []
        scores, rows = index.search(query.reshape(1, -1).astype(np.float32), min(k, index.ntotal))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def build_faiss(vectors: np.ndarray) -> faiss.Index:
    """Inner-product index over unit vectors: exact below HNSW_THRESHOLD, HNSW above."""
    dim = vectors.shape[1]
    if len(vectors) > HNSW_THRESHOLD:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 96
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save_version(root: Path, index: StoredIndex) -> str:
    """Write `index` as a new version and make it current; returns the version name."""
    versions = root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    name = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    tmp = versions / f".tmp-{name}"
    try:
        _write_files(tmp, index)
        _fsync_tree(tmp)
        os.rename(tmp, versions / name)
        atomic_write_text(root / "CURRENT", name, fsync=True)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError | RuntimeError):  # faiss reports a failed write as RuntimeError
            raise _write_error(root, e) from e
        raise
    _prune(versions, keep=name)
    return name


def _write_files(folder: Path, index: StoredIndex) -> None:
    folder.mkdir(parents=True)
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as f:
        for c in index.chunks:
            f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
    for i, dense in enumerate(index.dense):
        # through a Python file: faiss's own writer only prints a failed close (disk full)
        with open(folder / f"dense-{i}.faiss", "wb") as f:
            faiss.write_index(dense, faiss.PyCallbackIOWriter(f.write))
    index.lexical.save(folder / "bm25")
    (folder / "meta.json").write_text(json.dumps(asdict(index.meta), ensure_ascii=False, indent=1))


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def _prune(versions: Path, keep: str) -> None:
    """Drop leftovers of crashed writes and all but the newest KEEP_VERSIONS versions."""
    for stale in versions.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    done = sorted(p for p in versions.iterdir() if not p.name.startswith("."))
    for old in done[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_version(root: Path) -> Path | None:
    """The folder of the live version, or None when nothing was built yet."""
    try:
        name = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    folder = root / "versions" / name
    return folder if folder.is_dir() else None


def read_meta(root: Path) -> Meta | None:
    folder = current_version(root)
    if folder is None:
        return None
    return Meta(**json.loads((folder / "meta.json").read_text()))


def load_version(root: Path) -> StoredIndex:
    """Load the live version (raises IndexMissingError when there is none)."""
    folder = current_version(root)
    if folder is None:
        raise IndexMissingError(
            f"no index in {root}: run `rag ingest` first (or set RAG_HOME to where it is)"
        )
    meta = Meta(**json.loads((folder / "meta.json").read_text()))
    meta.check_versions(CHUNKER_VERSION, LEXICAL_VERSION)
    lines = (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    chunks = [Chunk.from_dict(json.loads(line)) for line in lines if line]
    dense = [faiss.read_index(str(folder / f"dense-{i}.faiss")) for i in range(len(meta.embedders))]
    return StoredIndex(meta, chunks, dense, LexicalIndex.load(folder / "bm25"), folder.name)
