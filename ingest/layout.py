"""Ingest stage: a PDF page's text in reading order, from pypdf's text positions.

pypdf's `extract_text()` follows the content stream. For LaTeX papers that is the reading
order, two-column ones included (left column, then right column), so it is kept as is. But
some PDFs draw text out of order, e.g. a title and abstract overlaid after the body (BART's
arXiv PDF): the text would read "Abstract / 1 Introduction ... <right column> ... <title>
<abstract>". This module notices such pages and rebuilds their order.

How: `extract_text(visitor_text=...)` reports each text piece with its position, and the
pieces joined are exactly the extracted text. Pieces are grouped into lines, lines into
blocks (consecutive lines of one kind without a vertical jump). On a two-column page a line
is L (left column), R (right column) or F (full width: title, authors, wide caption); on
other pages S (single column). Text drawn inside a form XObject (a figure) is G: pypdf
reports its positions in the figure's own coordinates, so it never decides anything and
stays after the block it follows in the stream. Rotated text (the arXiv side stamp) is X.

A page is out of order when a sizeable block comes in the stream after a block it should
precede: one lying wholly above it and starting at about the same x (blocks far apart in x
are in different columns), unless the earlier is a left-column block and the later a
right-column one. Only then are the blocks re-sorted: full-width blocks, top-down, cut the
page into bands; inside a band the left column is read top-down before the right one (a
single-column page is one band of one column); rotated text goes last. In the 27-paper
corpus this fires on exactly three pages, the overlaid first pages of BART and T5 (and
T5's second page), and leaves the other 744 in pypdf's order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pypdf import PageObject

_MIN_BLOCK_CHARS = 40  # blocks smaller than this (math pieces, labels) never trigger reorder
_MIN_COLUMN_LINES = 6  # lines starting in each half for a page to count as two-column


@dataclass
class _Line:
    """One extracted line: where its first piece starts, the font size, its text."""

    x: float = math.nan
    y: float = math.nan
    size: float = 10.0
    text: str = ""
    starts: list[float] = field(default_factory=list)  # x of every piece
    end: float = math.nan  # estimated x where the line ends
    rotated: bool = False
    in_form: bool = False  # drawn by a form XObject (a figure): its positions are local

    def add(self, text: str, x: float, y: float, size: float, flags: tuple[bool, bool]) -> None:
        if text.strip():
            if math.isnan(self.x):
                self.x, self.y, self.size = x, y, size
                self.rotated, self.in_form = flags
            self.starts.append(x)
            self.end = x + 0.5 * size * len(text)
        self.text += text


@dataclass
class _Block:
    kind: str  # "L", "R", "F", "S", "G" or "X"
    lines: list[_Line]

    @property
    def top(self) -> float:
        return max(line.y for line in self.lines)

    @property
    def bottom(self) -> float:
        return min(line.y for line in self.lines)

    @property
    def left(self) -> float:
        return min(line.x for line in self.lines)

    @property
    def chars(self) -> int:
        return sum(len(line.text.strip()) for line in self.lines)


def _lines(page: PageObject) -> tuple[str, list[_Line]]:
    """The page's extracted text and its lines with positions."""
    lines = [_Line()]
    # Depth of form XObjects ("Do") being drawn. pypdf flushes the text pending before the
    # form with one visitor call right after "Do" is seen: that call is still outside.
    form = {"depth": 0, "flush": False}

    def enter(op: bytes, *_: object) -> None:
        if op == b"Do":
            form["depth"] += 1
            form["flush"] = True

    def leave(op: bytes, *_: object) -> None:
        if op == b"Do":
            form["depth"] -= 1

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        a, b = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3]
        scale = math.hypot(a, b) or 1.0
        flags = (abs(b) > 0.2 * scale, form["depth"] - form["flush"] > 0)
        form["flush"] = False
        points = min(max(size * scale, 4.0), 40.0)
        for i, piece in enumerate(text.split("\n")):
            if i:
                lines.append(_Line())
            lines[-1].add(piece, x, y, points, flags)

    text = page.extract_text(
        visitor_operand_before=enter, visitor_operand_after=leave, visitor_text=visit
    )
    return text, [line for line in lines if not math.isnan(line.x)]


def _kind(line: _Line) -> str | None:
    """Kind "G" for figure text, "X" for rotated text, None for body text."""
    return "G" if line.in_form else "X" if line.rotated else None


def _classify(lines: list[_Line], left: float, width: float) -> list[str]:
    """Each line's kind: L/R/F on a two-column page, S (single column) otherwise; G, X."""
    mid = left + width / 2
    body = [ln for ln in lines if len(ln.text) >= 20 and _kind(ln) is None]
    right = [ln for ln in body if ln.x > mid]
    if len(right) < _MIN_COLUMN_LINES or len(body) - len(right) < _MIN_COLUMN_LINES:
        return [_kind(ln) or "S" for ln in lines]
    widths = sorted(ln.end - ln.x for ln in right)
    column = widths[int(0.9 * (len(widths) - 1))]
    kinds = []
    for ln in lines:
        if _kind(ln):
            kinds.append(_kind(ln))
        elif ln.x > mid - 0.01 * width:
            kinds.append("R")
        elif max(ln.starts) > mid + 0.03 * width or ln.end - ln.x > 1.35 * column:
            kinds.append("F")
        else:
            kinds.append("L")
    return kinds


def _blocks(lines: list[_Line], kinds: list[str]) -> list[_Block]:
    """Group consecutive lines of one kind without a big vertical jump into blocks."""
    blocks: list[_Block] = []
    for line, kind in zip(lines, kinds, strict=True):
        if blocks and blocks[-1].kind == kind:
            prev = blocks[-1].lines[-1]
            if -1.5 * line.size < prev.y - line.y < 2.5 * line.size:
                blocks[-1].lines.append(line)
                continue
        blocks.append(_Block(kind, [line]))
    return blocks


def _out_of_order(blocks: list[_Block], width: float) -> bool:
    """True when a sizeable block follows in the stream one it should be read before.

    Blocks whose left edges lie far apart sit in different columns (maybe of a layout not
    recognised as two-column) and are never compared.
    """
    seen: list[_Block] = []
    for block in (b for b in blocks if b.chars >= _MIN_BLOCK_CHARS and b.kind not in "GX"):
        for earlier in seen:
            above = block.bottom > earlier.top + 1.0
            aligned = abs(block.left - earlier.left) < 0.25 * width
            if above and aligned and not (earlier.kind == "L" and block.kind == "R"):
                return True
        seen.append(block)
    return False


def _reading_order(blocks: list[_Block]) -> list[_Block]:
    """Blocks sorted: bands cut by full-width blocks, left column before right in each
    (a single-column page is one band of one column: its blocks are read top-down)."""
    wide = sorted((b for b in blocks if b.kind == "F"), key=lambda b: -b.top)
    rank = {id(b): i for i, b in enumerate(wide)}

    def key(block: _Block) -> tuple[float, int, int, float]:
        if block.kind == "X":
            return (math.inf, 0, 0, 0.0)
        if block.kind == "F":
            return (rank[id(block)], 0, 0, -block.top)
        band = sum(1 for w in wide if w.top > block.top) - 1
        return (band, 1, 0 if block.kind in "LS" else 1, -block.top)

    keys: list[tuple[float, int, int, float]] = []
    for block in blocks:  # figure text (G) keeps its place after the block before it
        keys.append(key(block) if block.kind != "G" else keys[-1] if keys else (-math.inf,) * 4)
    order = sorted(range(len(blocks)), key=keys.__getitem__)
    return [blocks[i] for i in order]


def reading_order_text(page: PageObject) -> str:
    """The page's text; out-of-order two-column pages are rebuilt in reading order."""
    text, lines = _lines(page)
    box = page.mediabox
    blocks = _blocks(lines, _classify(lines, float(box.left), float(box.width)))
    if not _out_of_order(blocks, float(box.width)):
        return text
    ordered = _reading_order(blocks)
    return "\n".join(line.text for block in ordered for line in block.lines)
