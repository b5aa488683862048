"""Ingest stage: one PDF over HTTP into the cache, whole or not at all.

    download_pdf(pdf_url("1909.11942"), settings.pdf_cache / "1909.11942.pdf", settings)

A download goes to a temporary file in the cache folder and is renamed into place
(`os.replace`, atomic) only once it has the `%PDF-` header, a sane size and as many bytes as
the server announced, so an interrupted run never leaves half a PDF behind (and
`clean_stale_temps` removes what a killed one left). Connection errors, HTTP 5xx/429 and
truncated bodies are retried with exponential backoff; a `Pacer` spaces requests to one
host (arXiv asks for 3 s, `settings.arxiv_delay_s`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

import requests

from common.files import PDF_HEAD_BYTES, looks_like_pdf
from common.settings import Settings

logger = logging.getLogger(__name__)

MIN_PDF_BYTES = 1024  # anything smaller is an error page, not a paper
MAX_PDF_BYTES = 200 * 2**20
STALE_TEMP_S = 3600  # temp files older than this are leftovers of a killed run
TEMP_SUFFIX = ".part"
USER_AGENT = "seed-rag/0.1 (research-paper assistant)"
_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)


class FetchError(Exception):
    """A PDF could not be downloaded; `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Pacer:
    """Spaces requests to one host by at least `delay_s` seconds (arXiv asks for 3 s)."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self._last = float("-inf")

    def wait(self) -> None:
        pause = self._last + self.delay_s - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self._last = time.monotonic()


def clean_stale_temps(cache: Path, max_age_s: float = STALE_TEMP_S) -> int:
    """Delete download temp files older than `max_age_s` in `cache`; returns how many."""
    removed = 0
    for tmp in cache.glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):  # another run may remove it first
            if time.time() - tmp.stat().st_mtime > max_age_s:
                tmp.unlink()
                removed += 1
    if removed:
        logger.info("removed %d stale temp file(s) from %s", removed, cache)
    return removed


def download_pdf(
    url: str,
    dest: Path,
    settings: Settings,
    *,
    session: requests.Session | None = None,
    pacer: Pacer | None = None,
) -> Path:
    """Download the PDF at `url` to `dest` atomically, retrying transient errors.

    Tries `1 + settings.arxiv_retries` times, sleeping `arxiv_delay_s * 2**attempt` between
    tries. Raises `FetchError` (and leaves no file) when every try failed or the server sent
    something that is not a PDF.
    """
    pacer = pacer or Pacer(settings.arxiv_delay_s)
    session = session or requests.Session()
    attempts = 1 + max(settings.arxiv_retries, 0)
    attempt = 0
    while True:
        pacer.wait()
        try:
            _download_once(session, url, dest)
        except FetchError as e:
            attempt += 1
            if not e.retryable or attempt == attempts:
                tries = f" after {attempt} tries" if e.retryable else ""
                raise FetchError(f"download of {url} failed{tries}: {e}") from e
            backoff = settings.arxiv_delay_s * 2 ** (attempt - 1)
            logger.info("retrying %s in %.1f s (%s)", url, backoff, e)
            time.sleep(backoff)
        else:
            logger.info("downloaded %s -> %s", url, dest)
            return dest


def _download_once(session: requests.Session, url: str, dest: Path) -> None:
    """One GET of `url` into a temp file next to `dest`, renamed onto `dest` if valid."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.stem}.", suffix=TEMP_SUFFIX)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            expected, got = _stream(session, url, out)
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and got != expected:
            raise FetchError(f"truncated body ({got} of {expected} bytes)", retryable=True)
        _check_pdf(tmp, got)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is ordinary files
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _stream(session: requests.Session, url: str, out: BinaryIO) -> tuple[int | None, int]:
    """Write the body of `url` to `out`; return (Content-Length or None, bytes written)."""
    try:
        with session.get(url, stream=True, timeout=_TIMEOUT) as resp:
            if resp.status_code >= 500 or resp.status_code == 429:
                raise FetchError(f"HTTP {resp.status_code}", retryable=True)
            if resp.status_code >= 400:
                raise FetchError(f"HTTP {resp.status_code}")
            length = resp.headers.get("Content-Length", "")
            encoded = resp.headers.get("Content-Encoding", "identity") != "identity"
            expected = int(length) if length.isdigit() and not encoded else None
            got = 0
            for block in resp.iter_content(chunk_size=1 << 16):
                got += len(block)
                if got > MAX_PDF_BYTES:
                    raise FetchError(f"body larger than {MAX_PDF_BYTES} bytes")
                out.write(block)
            return expected, got
    except requests.exceptions.ChunkedEncodingError as e:  # body ended before Content-Length
        raise FetchError("truncated body (connection closed early)", retryable=True) from e
    except requests.RequestException as e:
        raise FetchError(f"connection error: {type(e).__name__}", retryable=True) from e


def _check_pdf(path: Path, size: int) -> None:
    with path.open("rb") as f:
        head = f.read(PDF_HEAD_BYTES)
    if not looks_like_pdf(head):
        kind = "HTML" if b"<" in head[:16] else "something else"
        raise FetchError(f"server sent {kind}, not a PDF")
    if size < MIN_PDF_BYTES:
        raise FetchError(f"PDF too small ({size} bytes)")
