"""Index stage: per-document vector cache, the reason an interrupted ingest resumes.

Vectors are stored per (embedder, chunker, document sha256) as `.npy` files written
atomically, the moment a document is embedded. A rerun after a crash or Ctrl-C finds them
and embeds only what is missing; a document whose bytes did not change is never re-embedded.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np

from common.files import atomic_write_bytes

STALE_TMP_S = 600  # a temp file this old is left from a killed writer (a put takes ms)


class VectorCache:
    """Vectors of whole documents, keyed by the document's content hash."""

    def __init__(self, root: Path, embedder_id: str, chunker: str, chunk_tokens: int) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{embedder_id}-{chunker}-{chunk_tokens}")
        self.folder = root / slug
        self.folder.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temp_files()

    def _remove_stale_temp_files(self) -> None:
        """Delete temp files a killed process left behind (kill -9 between write and rename);
        recent ones may belong to a writer sharing this cache, so they stay."""
        cutoff = time.time() - STALE_TMP_S
        for tmp in self.folder.glob(".*.tmp.npy"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except FileNotFoundError:  # another process cleaned it first
                pass

    def _path(self, sha: str) -> Path:
        return self.folder / f"{sha}.npy"

    def has(self, sha: str) -> bool:
        return self._path(sha).is_file()

    def get(self, sha: str) -> np.ndarray:
        return np.load(self._path(sha))

    def put(self, sha: str, vectors: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(vectors, dtype=np.float32))
        atomic_write_bytes(self._path(sha), buf.getvalue(), fsync=True, suffix=".tmp.npy")
