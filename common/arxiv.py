"""arXiv ids and the addresses built from them: one rule for every stage.

A new-style id is YYMM.NNNN (2007-2014) or YYMM.NNNNN (2015-), month 01-12, with an
optional version ("1409.0473v7"). Papers that are not on arXiv (the two OpenAI GPT papers,
reading notes) have other ids and no arXiv address.

    >>> abs_url("1909.11942v2"), pdf_url("1909.11942", page=3), abs_url("gpt2")
    ('https://arxiv.org/abs/1909.11942', 'https://arxiv.org/pdf/1909.11942#page=3', '')
"""

from __future__ import annotations

import re

ID_PATTERN = r"\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}(?!\d)"
VERSION_PATTERN = r"(?:v\d+)?"
_ID_RE = re.compile(rf"({ID_PATTERN}){VERSION_PATTERN}")


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


def abs_url(doc_id: str) -> str:
    """The arXiv abstract page of `doc_id`, or "" for papers that are not on arXiv."""
    return f"https://arxiv.org/abs/{strip_version(doc_id)}" if is_arxiv_id(doc_id) else ""


def pdf_url(doc_id: str, page: int | None = None) -> str:
    """The arXiv PDF of `doc_id` (as given, version kept), opened at `page` when given."""
    return f"https://arxiv.org/pdf/{doc_id}" + (f"#page={page}" if page else "")
