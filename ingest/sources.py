"""Ingest stage: turn what the user typed (`rag ingest ...`) into documents to index.

Arguments may be mixed: arXiv ids or links (fetched), PDF files, reading notes (.md/.txt:
ingested as documents *and* their listed papers fetched), and folders of either. No argument
means the built-in reading list plus the reading notes found in `settings.notes_dirs`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from common.arxiv import abs_url, is_arxiv_id
from common.settings import Settings
from ingest.fetch import fetch_papers
from ingest.readinglist import load_manifest, manifest_paper, parse_reading_list
from ingest.types import Paper

log = logging.getLogger(__name__)

NOTE_SUFFIXES = {".md", ".txt", ".markdown"}
NAMED_PAPERS = {"gpt1", "gpt2"}


@dataclass(frozen=True)
class Source:
    """A file to index and what we know of it; `kind` is "pdf" or "note"."""

    paper: Paper
    path: Path
    kind: str


@dataclass
class SourceReport:
    sources: list[Source] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (what, one-line reason)
    notices: list[tuple[str, str]] = field(default_factory=list)  # ingested, but take note


def resolve_sources(args: list[str], settings: Settings, on_fetch=None) -> SourceReport:
    """Expand arguments into local files, fetching arXiv papers as needed."""
    report = SourceReport()
    ids: list[str] = []
    if not args:
        ids = [p.doc_id for p in load_manifest()]
        args = [str(d) for d in settings.notes_dirs]
    for arg in args:
        _resolve_one(arg, report, ids)
    if ids:
        fetched = fetch_papers(_unique(ids), settings, on_fetch)
        report.sources += [Source(p, path, "pdf") for p, path in fetched.papers]
        report.failures += fetched.failures
    report.sources = _unique_by_path(report.sources)
    return report


def _resolve_one(arg: str, report: SourceReport, ids: list[str]) -> None:
    path = Path(arg).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        for f in files:
            if f.suffix.lower() == ".pdf" or f.suffix.lower() in NOTE_SUFFIXES:
                _resolve_file(f, report, ids)
        return
    if path.is_file():
        _resolve_file(path, report, ids)
        if path.suffix.lower() in NOTE_SUFFIXES and not _names_papers(path):
            report.notices.append((str(path), NO_IDS))
        return
    found = parse_reading_list(arg)
    if found or arg in NAMED_PAPERS:
        ids.extend(found or [arg])
    else:
        report.failures.append(
            (arg, "not a file, a folder or an arXiv id (expected e.g. 1909.11942)")
        )


def _resolve_file(path: Path, report: SourceReport, ids: list[str]) -> None:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        report.sources.append(Source(pdf_paper(path), path, "pdf"))
    elif suffix in NOTE_SUFFIXES:
        report.sources.append(Source(Paper(doc_id=path.stem, title=path.stem, path=str(path)),
                                     path, "note"))
        ids.extend(parse_reading_list(path.read_text(encoding="utf-8", errors="replace")))
    else:
        report.failures.append((str(path), "unsupported file type: give a .pdf, .md or .txt"))


NO_IDS = ("no arXiv ids in it, so no papers were fetched (its text is indexed as a note); "
          "to fetch papers, add links such as https://arxiv.org/abs/2108.12409 or ids such "
          "as arXiv:2108.12409")


def _names_papers(note: Path) -> bool:
    """True when a reading list named on the command line lists at least one paper."""
    return bool(parse_reading_list(note.read_text(encoding="utf-8", errors="replace")))


def pdf_paper(path: Path) -> Paper:
    """The Paper for a local PDF: named by arXiv id (`1909.11942.pdf`) or by its file stem."""
    stem = path.stem
    doc_id = stem if (is_arxiv_id(stem) or stem in NAMED_PAPERS) else stem.replace(" ", "_")
    known = manifest_paper(doc_id)
    if known:
        return Paper(known.doc_id, known.title, known.year, known.authors, known.url, str(path),
                     known.aliases)
    return Paper(doc_id=doc_id, title=stem, url=abs_url(doc_id), path=str(path))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _unique_by_path(sources: list[Source]) -> list[Source]:
    seen: dict[str, Source] = {}
    for s in sources:
        seen.setdefault(str(s.path.resolve()), s)
    return list(seen.values())
