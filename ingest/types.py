"""Ingest stage: the plain types that leave this stage.

A `Paper` is what we know about a source before reading it; a `Document` is its extracted
text (pages joined, page offsets kept); a `Chunk` is a span of whole sentences of one
document, with its page span and character offsets, so `doc.text[c.char_start:c.char_end]
== c.text` always holds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from common.lang import Lang

PAGE_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Paper:
    """A source document: an arXiv paper, a local PDF or a reading note."""

    doc_id: str
    title: str
    year: int | None = None
    authors: tuple[str, ...] = ()
    url: str = ""
    path: str = ""  # local file the text comes from
    aliases: tuple[str, ...] = ()  # names readers use for it: "T5", "Kaplan", "GPT-1"


@dataclass(frozen=True)
class Page:
    """One page of extracted text; `number` is 1-based as printed by PDF viewers."""

    number: int
    text: str


@dataclass(frozen=True)
class Document:
    """A paper's whole extracted text with the offset where each page starts."""

    paper: Paper
    text: str
    page_offsets: tuple[int, ...]  # char offset of each page's first character
    lang: Lang
    sha256: str  # hash of the source bytes: unchanged hash -> nothing to re-embed

    @property
    def doc_id(self) -> str:
        return self.paper.doc_id

    def page_at(self, offset: int) -> int:
        """The 1-based page number holding character `offset`."""
        page = 1
        for i, start in enumerate(self.page_offsets):
            if start <= offset:
                page = i + 1
            else:
                break
        return page


@dataclass(frozen=True)
class Chunk:
    """A retrievable span of whole sentences of one document."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    lang: Lang
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    seq: int = 0  # position of the chunk in its document (neighbours are seq +- 1)
    url: str = ""

    @classmethod
    def from_dict(cls, value: dict) -> Chunk:
        """A chunk read back from an index (a line of chunks.jsonl, a PostgreSQL jsonb).
        Keys that are no field of a Chunk (an empty `extra` in older indexes) are ignored:
        whether an index can be read at all is decided by the chunker version in its meta."""
        return cls(**{k: v for k, v in value.items() if k in _CHUNK_FIELDS})


_CHUNK_FIELDS = frozenset(f.name for f in fields(Chunk))
