"""Ingest stage: cut a `Document` into `Chunk`s of whole sentences within a token budget.

Sentences are packed greedily until the next one would pass `max_tokens`; the next chunk
starts again with the previous chunk's last sentence (one sentence of overlap), so a fact
split across a chunk border is still whole in one chunk. A sentence longer than the budget
(a table row, a reference list without periods) is cut at white space (or between
characters for Chinese/Korean runs).

Token counts are `common.tokens.approx_tokens`, an estimate on the high side, so a chunk
never overflows the embedder's 512-token window.
"""

from __future__ import annotations

from common.sentences import Span, split_sentences
from common.tokens import approx_tokens
from ingest.types import Chunk, Document

CHUNKER_VERSION = "sent-v1"


def chunk_document(doc: Document, max_tokens: int = 300) -> list[Chunk]:
    """Split `doc` into chunks of whole sentences, each within `max_tokens` (estimated)."""
    spans = _fit(doc.text, split_sentences(doc.text, doc.lang), max_tokens)
    groups = _pack(doc.text, spans, max_tokens)
    return [_make_chunk(doc, seq, a, b) for seq, (a, b) in enumerate(groups)]


def _fit(text: str, spans: list[Span], max_tokens: int) -> list[Span]:
    """Cut any sentence longer than the budget into budget-sized pieces."""
    out: list[Span] = []
    for a, b in spans:
        if approx_tokens(text[a:b]) <= max_tokens:
            out.append((a, b))
        else:
            out.extend(_cut(text, a, b, max_tokens))
    return out


def _cut(text: str, a: int, b: int, max_tokens: int) -> list[Span]:
    """Cut text[a:b] at white space (or any character) into pieces within the budget."""
    pieces, start, used, last_space = [], a, 0, -1
    i = a
    while i < b:
        if text[i].isspace():
            last_space = i
        used += approx_tokens(text[i]) if not text[i].isspace() else 0
        if used > max_tokens // 2 * 2 - 2 and i > start:
            end = last_space if last_space > start else i
            pieces.append((start, end))
            start = end
            while start < b and text[start].isspace():
                start += 1
            used, last_space, i = 0, -1, start
            continue
        i += 1
    if start < b:
        pieces.append((start, b))
    return pieces


def _pack(text: str, spans: list[Span], max_tokens: int) -> list[Span]:
    """Group consecutive sentences into chunks; each chunk repeats the previous last one."""
    groups: list[Span] = []
    i = 0
    while i < len(spans):
        j, used = i, 0
        while j < len(spans):
            cost = approx_tokens(text[spans[j][0] : spans[j][1]])
            if j > i and used + cost > max_tokens:
                break
            used += cost
            j += 1
        groups.append((spans[i][0], spans[j - 1][1]))
        if j >= len(spans):
            break
        i = j - 1 if j - 1 > i else j  # one sentence of overlap, but always move on
    return groups


def _make_chunk(doc: Document, seq: int, a: int, b: int) -> Chunk:
    return Chunk(
        chunk_id=f"{doc.doc_id}:{seq:04d}",
        doc_id=doc.doc_id,
        title=doc.paper.title,
        text=doc.text[a:b],
        lang=doc.lang,
        page_start=doc.page_at(a),
        page_end=doc.page_at(b - 1),
        char_start=a,
        char_end=b,
        seq=seq,
        url=doc.paper.url,
    )
