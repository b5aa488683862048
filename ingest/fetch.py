"""Ingest stage: get a local PDF for each paper id -- cache, then mirrors, then arXiv.

For every id, `fetch_papers` looks in this order and stops at the first hit:

1. the cache, `settings.pdf_cache / "<id>.pdf"` -- a cached file is never downloaded again;
2. each folder of `settings.mirror_dirs` (`RAG_MIRROR_DIRS`), `<id>.pdf` used in place;
3. arXiv, unless `settings.offline`: one API query (the `arxiv` package, pointed at
   `settings.arxiv_api_url`) gives title, authors, year and PDF link, then the PDF is
   downloaded into the cache.

A download goes to a temporary file in the cache folder and is renamed into place
(`os.replace`, atomic) only once it has the `%PDF-` header, a sane size and as many bytes as
the server announced, so an interrupted run never leaves half a PDF behind. Connection
errors, HTTP 5xx/429 and truncated bodies are retried with exponential backoff; requests to
arXiv are spaced by `settings.arxiv_delay_s`. Ids that cannot be had end up in
`FetchReport.failures` with a one-line reason saying what to do -- nothing is raised.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import arxiv
import requests

from common.arxiv import abs_url, is_arxiv_id, pdf_url, strip_version
from common.files import atomic_write_text
from common.settings import Settings
from ingest.readinglist import NON_ARXIV_IDS, manifest_paper
from ingest.types import Paper

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
MIN_PDF_BYTES = 1024  # anything smaller is an error page, not a paper
MAX_PDF_BYTES = 200 * 2**20
STALE_TEMP_S = 3600  # temp files older than this are leftovers of a killed run
_TEMP_SUFFIX = ".part"
_USER_AGENT = "seed-rag/0.1 (research-paper assistant)"
_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)

Progress = Callable[[str, str], None]


class FetchError(Exception):
    """A PDF could not be downloaded; `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class FetchReport:
    """What `fetch_papers` got: (paper, local PDF) pairs and (id, reason) failures."""

    papers: list[tuple[Paper, Path]]
    failures: list[tuple[str, str]]


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


def fetch_papers(
    ids: list[str], settings: Settings, on_progress: Progress | None = None
) -> FetchReport:
    """Find or download a PDF for each id; see the module docstring for the lookup order.

    `on_progress(id, status)` is called as each id is settled, with status "cached",
    "mirror", "downloading", "downloaded" or "failed: <reason>".
    """
    report = FetchReport(papers=[], failures=[])
    notify = on_progress or (lambda _id, _status: None)
    settings.pdf_cache.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(settings.pdf_cache)
    missing: list[str] = []
    seen: set[str] = set()
    for raw in (i.strip() for i in ids):
        if raw not in NON_ARXIV_IDS and not is_arxiv_id(raw):
            _fail(report, notify, raw, f"not an arXiv id: {raw} (expected e.g. 2108.12409)")
            continue
        doc_id = raw if raw in NON_ARXIV_IDS else strip_version(raw)
        if doc_id in seen:
            continue
        seen.add(doc_id)
        local = find_local(doc_id, settings)
        reason = None if local else _not_downloadable(doc_id, settings)
        if local:
            report.papers.append(
                (_paper(doc_id, local[0], _load_metadata(doc_id, settings)), local[0])
            )
            notify(doc_id, local[1])
        elif reason:
            _fail(report, notify, doc_id, reason)
        else:
            missing.append(doc_id)
    if missing:
        _fetch_from_arxiv(missing, settings, report, notify)
    return report


def _not_downloadable(doc_id: str, settings: Settings) -> str | None:
    """Why `doc_id`, found nowhere locally, cannot come from arXiv either -- or None."""
    if doc_id in NON_ARXIV_IDS:
        return (
            f"{doc_id} is not on arXiv: put {doc_id}.pdf in a mirror folder "
            f"(RAG_MIRROR_DIRS) or in {settings.pdf_cache}"
        )
    if settings.offline:
        return (
            f"{doc_id}.pdf is in no mirror folder and offline mode is on: put it in a "
            "mirror folder (RAG_MIRROR_DIRS) or unset RAG_OFFLINE to download it"
        )
    return None


def _fail(report: FetchReport, notify: Progress, doc_id: str, reason: str) -> None:
    logger.info("%s: %s", doc_id, reason)
    report.failures.append((doc_id, reason))
    notify(doc_id, f"failed: {reason}")


def find_local(doc_id: str, settings: Settings) -> tuple[Path, str] | None:
    """(path, "cached" | "mirror") of a usable local `<doc_id>.pdf`, or None."""
    cached = settings.pdf_cache / f"{doc_id}.pdf"
    if cached.is_file():
        if looks_like_pdf(cached):
            return cached, "cached"
        logger.warning("%s is not a PDF; removing it and looking elsewhere", cached)
        cached.unlink(missing_ok=True)
    for folder in settings.mirror_dirs:
        candidate = Path(folder) / f"{doc_id}.pdf"
        if candidate.is_file() and looks_like_pdf(candidate):
            return candidate, "mirror"
    return None


def looks_like_pdf(path: Path) -> bool:
    """True if `path` starts with `%PDF-` and is at least `MIN_PDF_BYTES` long."""
    try:
        with path.open("rb") as f:
            head = f.read(len(PDF_MAGIC))
        return head == PDF_MAGIC and path.stat().st_size >= MIN_PDF_BYTES
    except OSError:
        return False


def clean_stale_temps(cache: Path, max_age_s: float = STALE_TEMP_S) -> int:
    """Delete download temp files older than `max_age_s` in `cache`; returns how many."""
    removed = 0
    for tmp in cache.glob(f".*{_TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):  # another run may remove it first
            if time.time() - tmp.stat().st_mtime > max_age_s:
                tmp.unlink()
                removed += 1
    if removed:
        logger.info("removed %d stale temp file(s) from %s", removed, cache)
    return removed


def _fetch_from_arxiv(
    ids: list[str], settings: Settings, report: FetchReport, notify: Progress
) -> None:
    """Ask arXiv for the metadata of all `ids` at once, then download each PDF."""
    pacer = Pacer(settings.arxiv_delay_s)
    try:
        found = query_arxiv(ids, settings)
    except (arxiv.ArxivError, requests.RequestException) as e:
        reason = (
            f"arXiv unreachable ({_short_cause(e)}): check the network, retry later, "
            "or put the PDF in a mirror folder (RAG_MIRROR_DIRS)"
        )
        for doc_id in ids:
            _fail(report, notify, doc_id, reason)
        return
    pacer.wait()  # the query counts as the last request to arXiv
    with requests.Session() as session:
        session.headers["User-Agent"] = _USER_AGENT
        for doc_id in ids:
            result = found.get(doc_id)
            if result is None:
                _fail(report, notify, doc_id, f"arXiv has no paper {doc_id}: check the id")
                continue
            notify(doc_id, "downloading")
            try:
                paper, path = _download_paper(doc_id, result, settings, session, pacer)
            except FetchError as e:
                hint = f"retry later or put {doc_id}.pdf in a mirror folder (RAG_MIRROR_DIRS)"
                _fail(report, notify, doc_id, f"{e}; {hint}")
                continue
            report.papers.append((paper, path))
            notify(doc_id, "downloaded")


def _short_cause(e: BaseException) -> str:
    """A few words on why a request failed, not urllib3's whole retry story."""
    text = str(e)
    for cue in ("Name or service not known", "Connection refused", "timed out",
                "Temporary failure in name resolution", "Network is unreachable"):
        if cue in text:
            return cue.lower()
    return text.splitlines()[0][:120] if text else type(e).__name__


def _download_paper(
    doc_id: str, result: arxiv.Result, settings: Settings, session: requests.Session, pacer: Pacer
) -> tuple[Paper, Path]:
    """Download one paper's PDF into the cache and keep its arXiv metadata beside it."""
    dest = settings.pdf_cache / f"{doc_id}.pdf"
    url = result.pdf_url or pdf_url(doc_id)
    download_pdf(url, dest, settings, session=session, pacer=pacer)
    meta = _save_metadata(doc_id, result, settings)
    return _paper(doc_id, dest, meta), dest


def query_arxiv(ids: list[str], settings: Settings) -> dict[str, arxiv.Result]:
    """arXiv API records for `ids`, keyed by version-less id (absent ids are missing)."""
    client = arxiv.Client(
        page_size=min(max(len(ids), 1), 100),
        delay_seconds=settings.arxiv_delay_s,
        num_retries=settings.arxiv_retries,
    )
    client.query_url_format = settings.arxiv_api_url
    search = arxiv.Search(id_list=list(ids), max_results=len(ids))
    found: dict[str, arxiv.Result] = {}
    for result in client.results(search):
        found.setdefault(strip_version(result.get_short_id()), result)
    return found


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
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.stem}.", suffix=_TEMP_SUFFIX)
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
        head = f.read(64)
    if not head.startswith(PDF_MAGIC):
        kind = "HTML" if b"<" in head[:16] else "something else"
        raise FetchError(f"server sent {kind}, not a PDF")
    if size < MIN_PDF_BYTES:
        raise FetchError(f"PDF too small ({size} bytes)")


def _save_metadata(doc_id: str, result: arxiv.Result, settings: Settings) -> dict:
    """Keep arXiv's title/authors/year next to the cached PDF for later runs."""
    meta = {
        "title": " ".join(result.title.split()),
        "authors": [a.name for a in result.authors],
        "year": result.published.year if result.published.year > 1 else None,
    }
    path = settings.pdf_cache / f"{doc_id}.json"
    atomic_write_text(path, json.dumps(meta, ensure_ascii=False), suffix=_TEMP_SUFFIX)
    return meta


def _load_metadata(doc_id: str, settings: Settings) -> dict:
    """arXiv metadata saved by an earlier download of `doc_id`, or {}."""
    try:
        return json.loads((settings.pdf_cache / f"{doc_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _paper(doc_id: str, path: Path, meta: dict) -> Paper:
    """A `Paper` for a local PDF. Title: arXiv metadata, manifest, PDF metadata, then id."""
    listed = manifest_paper(doc_id)
    title = meta.get("title") or (listed.title if listed else "") or _pdf_title(path) or doc_id
    id_year = 2000 + int(doc_id[:2]) if is_arxiv_id(doc_id) else None  # YYMM.NNNNN
    year = meta.get("year") or (listed.year if listed else None) or id_year
    authors = tuple(meta.get("authors") or ())
    return Paper(doc_id, title, year, authors, url=abs_url(doc_id), path=str(path))


def _pdf_title(path: Path) -> str | None:
    """The PDF's own /Title, if it looks like a title (not empty, not a file name)."""
    from pypdf import PdfReader  # imported lazily: only needed for unlisted papers

    try:
        raw = PdfReader(path).metadata
        title = " ".join((raw.title or "").split()) if raw else ""
    except Exception as e:  # pypdf raises many types on damaged files
        logger.debug("no PDF metadata in %s: %s", path, e)
        return None
    if len(title) < 4 or title.lower().endswith((".pdf", ".dvi", ".tex", ".doc", ".docx")):
        return None
    return title
