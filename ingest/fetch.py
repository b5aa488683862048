"""Ingest stage: get a local PDF for each paper id -- cache, then mirrors, then arXiv.

For every id, `fetch_papers` looks in this order and stops at the first hit:

1. the cache, `settings.pdf_cache / "<id>.pdf"` -- a cached file is never downloaded again;
2. each folder of `settings.mirror_dirs` (`RAG_MIRROR_DIRS`), `<id>.pdf` used in place;
3. arXiv, unless `settings.offline`: one API query (the `arxiv` package, pointed at
   `settings.arxiv_api_url`) gives title, authors, year and PDF link, then the PDF is
   downloaded into the cache.

Downloads are whole or absent, retried and paced (`ingest.download`). Ids that cannot be
had end up in `FetchReport.failures` with a one-line reason saying what to do -- nothing is
raised.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import arxiv
import requests

from common.arxiv import abs_url, is_arxiv_id, pdf_url, strip_version
from common.files import PDF_HEAD_BYTES, atomic_write_text, looks_like_pdf
from common.settings import Settings
from ingest.download import (
    MIN_PDF_BYTES,
    TEMP_SUFFIX,
    USER_AGENT,
    FetchError,
    Pacer,
    clean_stale_temps,
    download_pdf,
)
from ingest.readinglist import NON_ARXIV_IDS, manifest_paper
from ingest.types import Paper

logger = logging.getLogger(__name__)

Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class FetchReport:
    """What `fetch_papers` got: (paper, local PDF) pairs and (id, reason) failures."""

    papers: list[tuple[Paper, Path]]
    failures: list[tuple[str, str]]


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
        if _usable_pdf(cached):
            return cached, "cached"
        logger.warning("%s is not a PDF; removing it and looking elsewhere", cached)
        cached.unlink(missing_ok=True)
    for folder in settings.mirror_dirs:
        candidate = Path(folder) / f"{doc_id}.pdf"
        if candidate.is_file() and _usable_pdf(candidate):
            return candidate, "mirror"
    return None


def _usable_pdf(path: Path) -> bool:
    """True if `path` has the PDF header and is at least `MIN_PDF_BYTES` long."""
    try:
        with path.open("rb") as f:
            head = f.read(PDF_HEAD_BYTES)
        return looks_like_pdf(head) and path.stat().st_size >= MIN_PDF_BYTES
    except OSError:
        return False


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
        session.headers["User-Agent"] = USER_AGENT
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


def _save_metadata(doc_id: str, result: arxiv.Result, settings: Settings) -> dict:
    """Keep arXiv's title/authors/year next to the cached PDF for later runs."""
    meta = {
        "title": " ".join(result.title.split()),
        "authors": [a.name for a in result.authors],
        "year": result.published.year if result.published.year > 1 else None,
    }
    path = settings.pdf_cache / f"{doc_id}.json"
    atomic_write_text(path, json.dumps(meta, ensure_ascii=False), suffix=TEMP_SUFFIX)
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
    aliases = listed.aliases if listed else ()
    return Paper(doc_id, title, year, authors, url=abs_url(doc_id), path=str(path),
                 aliases=aliases)


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
