"""Rag stage: turn retrieved hits into numbered passages for the reader (RETRO-style).

Each hit brings its **continuation**, the chunk that follows it in the paper: a fact often
starts in one chunk and ends in the next. Hits from the same paper that touch or overlap are
merged into one passage (chunks overlap by a sentence, so the overlap is cut once), and
passages are added in rank order until the token budget is spent; a continuation is the first
thing dropped when it does not fit. Prompt processing is the reader's first-token cost on a
CPU, so the budget is what keeps answers fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from common.tokens import approx_tokens
from index.store import StoredIndex
from ingest.types import Chunk
from rag.named import doc_aliases
from rag.retrieve import Hit


@dataclass(frozen=True)
class Passage:
    """A numbered piece of evidence shown to the model: one or more adjacent chunks."""

    n: int
    doc_id: str
    title: str
    url: str
    page_start: int
    page_end: int
    text: str
    rows: tuple[int, ...]  # index rows of the chunks it is made of
    score: float
    aliases: tuple[str, ...] | None = None  # its paper's short names (None: not looked up)


@dataclass
class _Span:
    doc_id: str
    rows: list[int]
    score: float


def build_passages(
    hits: list[Hit], index: StoredIndex, budget_tokens: int, max_passages: int = 6
) -> list[Passage]:
    """Passages for `hits` (best first), within `budget_tokens` (estimated)."""
    spans: list[_Span] = []
    used = 0
    for hit in hits:
        if len(spans) >= max_passages and not _merges(spans, hit, index):
            continue
        row = index.row_of(hit.chunk.doc_id, hit.chunk.seq)
        if row is None:
            continue
        nxt = index.row_of(hit.chunk.doc_id, hit.chunk.seq + 1)
        wanted = [row] + ([nxt] if nxt is not None else [])
        for i, r in enumerate(wanted):
            cost = _new_tokens(spans, hit.chunk.doc_id, r, index)
            if used + cost > budget_tokens:
                if i == 0 and not spans:  # always keep the best hit, cut to the budget
                    spans.append(_Span(hit.chunk.doc_id, [r], hit.score))
                    used = budget_tokens
                break
            used += cost
            _add(spans, hit.chunk.doc_id, r, hit.score, index)
    return [_passage(n, s, index, budget_tokens) for n, s in enumerate(spans, start=1)]


def _merges(spans: list[_Span], hit: Hit, index: StoredIndex) -> bool:
    row = index.row_of(hit.chunk.doc_id, hit.chunk.seq)
    return any(s.doc_id == hit.chunk.doc_id and row is not None and
               min(abs(row - r) for r in s.rows) <= 1 for s in spans)


def _new_tokens(spans: list[_Span], doc_id: str, row: int, index: StoredIndex) -> int:
    if any(row in s.rows for s in spans):
        return 0
    return approx_tokens(index.chunks[row].text)


def _add(spans: list[_Span], doc_id: str, row: int, score: float, index: StoredIndex) -> None:
    for s in spans:
        if s.doc_id == doc_id and (row in s.rows or min(abs(row - r) for r in s.rows) <= 1):
            if row not in s.rows:
                s.rows = sorted([*s.rows, row])
            return
    spans.append(_Span(doc_id, [row], score))


def join_chunks(chunks: list[Chunk]) -> str:
    """Concatenate adjacent chunks of one document, cutting their shared overlap once."""
    text, end = "", -1
    for c in sorted(chunks, key=lambda c: c.char_start):
        if end < 0:
            text, end = c.text, c.char_end
        elif c.char_start >= end:
            text, end = f"{text} {c.text}", c.char_end
        elif c.char_end > end:
            text, end = text + c.text[end - c.char_start :], c.char_end
    return text


def _passage(n: int, span: _Span, index: StoredIndex, budget_tokens: int) -> Passage:
    chunks = [index.chunks[r] for r in span.rows]
    text = join_chunks(chunks)
    if approx_tokens(text) > budget_tokens:
        text = _truncate(text, budget_tokens)
    first = chunks[0]
    return Passage(
        n=n, doc_id=first.doc_id, title=first.title, url=first.url,
        page_start=min(c.page_start for c in chunks), page_end=max(c.page_end for c in chunks),
        text=text, rows=tuple(span.rows), score=span.score,
        aliases=doc_aliases(first.doc_id, index.meta.docs.get(first.doc_id, {})),
    )


def _truncate(text: str, budget_tokens: int) -> str:
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if approx_tokens(text[:mid]) <= budget_tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + " ..."


def passages_of(passages: list[Passage], doc_ids: list[str]) -> list[Passage]:
    """The passages of the papers in `doc_ids`, renumbered from 1 in their order ([] when
    none). A question that names a paper ("ALiBi는 ...", "GPT-1使用的...") is answered from
    that paper's passages when it has any: reading notes and papers that merely mention it
    otherwise take a third of the evidence, and the reader cites them (bench/bench_evidence.py:
    evidence from a gold source 0.69 -> 0.91 on the dev set); and each side of a comparison
    is read from its own paper's (rag/compare.py).

    >>> def passage(n, doc_id): return Passage(n, doc_id, "", "", 1, 1, "", (), 0.0)
    >>> [(p.n, p.doc_id) for p in passages_of([passage(1, "note"), passage(2, "t5")], ["t5"])]
    [(1, 't5')]
    """
    own = [p for p in passages if p.doc_id in doc_ids]
    return [replace(p, n=i) for i, p in enumerate(own, start=1)]
