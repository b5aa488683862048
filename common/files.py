"""Files written whole or not at all, and known by their content.

- `file_sha256`: the hex sha256 of a file's bytes. An unchanged hash means an unchanged
  document (nothing to re-embed), a verified model, one upload folder per content.
- `atomic_write_bytes` / `atomic_write_text`: write beside the target, then `os.replace`,
  so a reader (or a crash) never sees half a file.
- `looks_like_pdf`: whether a file's first bytes carry the `%PDF-` header (the one rule for
  downloads, cached and mirrored papers, uploads and the parser).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

PDF_MAGIC = b"%PDF-"
PDF_HEAD_BYTES = 1024  # PDF readers accept the header anywhere in a file's first 1024 bytes


def file_sha256(path: Path) -> str:
    """The hex sha256 of the file at `path`, read in blocks (a 1 GB model needs no 1 GB)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def atomic_write_bytes(path: Path, data: bytes, fsync: bool = False, suffix: str = ".tmp"
                       ) -> None:
    """Replace `path` with `data` at once: a hidden temporary file beside it
    (`.<name>.<random><suffix>`, so a cleaner can glob what a killed writer left), then
    `os.replace`. `fsync=True` also flushes it to disk first (survives a power cut)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}{suffix}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str, fsync: bool = False, suffix: str = ".tmp") -> None:
    """`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync, suffix=suffix)


def looks_like_pdf(head: bytes) -> bool:
    """True when `head` (a file's first bytes) holds the PDF header within `PDF_HEAD_BYTES`:
    what PDF readers accept, so a few bytes of junk before `%PDF-` pass, an HTML error page
    saved as .pdf does not.

    >>> looks_like_pdf(b"%PDF-1.7\\n..."), looks_like_pdf(b"\\r\\n%PDF-1.4")
    (True, True)
    >>> looks_like_pdf(b"<html><body>Not found</body></html>")
    False
    """
    return PDF_MAGIC in head[:PDF_HEAD_BYTES]
