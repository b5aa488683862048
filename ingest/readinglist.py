"""Which papers to read -- the built-in manifest and arXiv ids found in notes.

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

from common.arxiv import ID_PATTERN, VERSION_PATTERN, abs_url, strip_version
from ingest.types import Paper

MANIFEST_PATH = Path(__file__).with_name("manifest.tsv")
NON_ARXIV_IDS = frozenset({"gpt1", "gpt2"})  # OpenAI papers that are not on arXiv

# One pattern, three spellings, scanned left to right so ids come out in reading order.
# A URL or `arXiv:` prefix is matched before the bare-id branch can see the id inside it.
# Bare ids need ASCII boundaries (CJK letters may touch them: "论文2108.12409"), must not sit in
# a path or a longer number ("/2101.12345", "1.2345", "12001.12345") and must not run on into
# more digits ("2108.12409.5").
_LIST_RE = re.compile(
    rf"arxiv\.org/(?:abs|pdf)/({ID_PATTERN}){VERSION_PATTERN}(?:\.pdf)?"
    rf"|arxiv:\s?({ID_PATTERN}){VERSION_PATTERN}"
    rf"|(?<![A-Za-z0-9./_-])({ID_PATTERN}){VERSION_PATTERN}(?![A-Za-z0-9_]|\.\d)",
    re.IGNORECASE,
)


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
