"""Ingest stage: which papers to read -- the built-in manifest and arXiv ids found in notes.

Two sources name papers:

* `manifest.tsv` (next to this file): the 44 papers the shipped reading notes discuss, one row
  per paper (`doc_id`, `title`, `year`, `aliases`: the names readers use for it, such as
  `T5` or `Kaplan`, comma-separated). `doc_id` is the arXiv id without version, or `gpt1` /
  `gpt2` for the two OpenAI papers that were never posted to arXiv. Titles here are the
  fallback when arXiv cannot be asked (offline, or a mirror copy without metadata).
* Reading notes (Markdown-ish, in Korean, Chinese or English): `parse_reading_list` pulls the
  arXiv ids out of their links and prose, in order of first appearance.

    >>> parse_reading_list("see https://arxiv.org/pdf/2108.12409v2.pdf and arXiv:1706.03762")
    ['2108.12409', '1706.03762']
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

from ingest.types import Paper

MANIFEST_PATH = Path(__file__).with_name("manifest.tsv")
NON_ARXIV_IDS = frozenset({"gpt1", "gpt2"})  # OpenAI papers that are not on arXiv

# New-style arXiv id: YYMM.NNNN (2007-2014) or YYMM.NNNNN (2015-), month 01-12.
_ID = r"\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}(?!\d)"
_VERSION = r"(?:v\d+)?"
_ID_RE = re.compile(rf"({_ID}){_VERSION}")

# One pattern, three spellings, scanned left to right so ids come out in reading order.
# A URL or `arXiv:` prefix is matched before the bare-id branch can see the id inside it.
# Bare ids need ASCII boundaries (CJK letters may touch them: "论文2108.12409"), must not sit in
# a path or a longer number ("/2101.12345", "1.2345", "12001.12345") and must not run on into
# more digits ("2108.12409.5").
_LIST_RE = re.compile(
    rf"arxiv\.org/(?:abs|pdf)/({_ID}){_VERSION}(?:\.pdf)?"
    rf"|arxiv:\s?({_ID}){_VERSION}"
    rf"|(?<![A-Za-z0-9./_-])({_ID}){_VERSION}(?![A-Za-z0-9_]|\.\d)",
    re.IGNORECASE,
)


class ReadingListError(ValueError):
    """A reading list could not be read or names no paper; the message says what to do."""


def is_arxiv_id(s: str) -> bool:
    """True for a new-style arXiv id, with or without version ("2108.12409", "1409.0473v7").

    >>> is_arxiv_id("2108.12409v2"), is_arxiv_id("28.4"), is_arxiv_id("2013.12345")
    (True, False, False)
    """
    return _ID_RE.fullmatch(s.strip()) is not None


def strip_version(arxiv_id: str) -> str:
    """Drop a trailing version: "2108.12409v2" -> "2108.12409"; other strings pass unchanged."""
    m = _ID_RE.fullmatch(arxiv_id.strip())
    return m.group(1) if m else arxiv_id.strip()


def parse_reading_list(text: str) -> list[str]:
    """arXiv ids in `text`, versions stripped, deduplicated, in order of first appearance.

    Recognises `arxiv.org/abs/ID`, `arxiv.org/pdf/ID[.pdf]`, `arXiv:ID` and bare new-style
    ids in prose. Decimals ("1.56", "28.4"), years ("2023.1234" has month 23) and numbers
    inside other sites' URL paths are not ids.
    """
    seen: dict[str, None] = {}
    for m in _LIST_RE.finditer(text):
        arxiv_id = next(g for g in m.groups() if g)
        seen.setdefault(arxiv_id, None)
    return list(seen)


def ids_from_file(path: str | Path) -> list[str]:
    """arXiv ids listed in the text file at `path` (see `parse_reading_list`).

    Raises `ReadingListError` when the file cannot be read or holds no id.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise ReadingListError(
            f"cannot read reading list {path}: {e.strerror or e}; check the path"
        ) from e
    ids = parse_reading_list(text)
    if not ids:
        raise ReadingListError(
            f"no arXiv ids in {path}: add links such as https://arxiv.org/abs/2108.12409 "
            "or ids such as arXiv:2108.12409, or pass the ids on the command line"
        )
    return ids


def abs_url(doc_id: str) -> str:
    """The arXiv abstract page of `doc_id`, or "" for papers that are not on arXiv."""
    return f"https://arxiv.org/abs/{strip_version(doc_id)}" if is_arxiv_id(doc_id) else ""


@cache
def _manifest() -> tuple[Paper, ...]:
    with MANIFEST_PATH.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return tuple(
        Paper(
            doc_id=row["doc_id"],
            title=row["title"],
            year=int(row["year"]) if row["year"] else None,
            url=abs_url(row["doc_id"]),
            aliases=tuple(a.strip() for a in (row.get("aliases") or "").split(",") if a.strip()),
        )
        for row in rows
    )


def load_manifest() -> list[Paper]:
    """The papers the built-in reading notes discuss, in manifest order (arXiv ids sorted)."""
    return list(_manifest())


def manifest_paper(doc_id: str) -> Paper | None:
    """The manifest entry for `doc_id` (a version suffix is ignored), or None if not listed."""
    key = strip_version(doc_id)
    return next((p for p in _manifest() if p.doc_id == key), None)
