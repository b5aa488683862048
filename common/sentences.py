"""Split text into sentences, as (start, end) character spans.

Spans point into the text they came from (kiwipiepy-style offsets), so nothing is copied or
lost: the text between two spans is only white space. Rules per language:

- Korean: kiwipiepy's `split_into_sents` (one shared `Kiwi`, loaded on first use).
- Chinese: ends at 。！？；… (and their ASCII forms), closing quotes and brackets kept.
- English: ends at . ! ? followed by space and a capital, digit or bracket, except after
  abbreviations ("et al.", "e.g.", "Fig. 3", "Eq.", single initials) and inside decimals.

Every language also breaks at line ends: cleaned PDF text keeps one paragraph per line and
reading notes are lists, so a newline never sits inside a sentence we want to keep whole.
"""

from __future__ import annotations

import re
from functools import lru_cache

from common.lang import Lang

Span = tuple[int, int]

_LINE = re.compile(r"[^\n]+")
_ABBREVIATIONS = {
    "al", "e.g", "i.e", "eg", "ie", "fig", "figs", "eq", "eqs", "sec", "secs", "tab", "vs",
    "cf", "no", "nos", "vol", "pp", "p", "dr", "mr", "ms", "prof", "st", "inc", "ltd", "jr",
    "approx", "resp", "ref", "refs", "ch", "app", "thm", "def", "alg", "viz", "etc.,",
}
# Candidate end: terminal punctuation, optional closing quotes/brackets, then space and a
# character that can open a sentence.
_EN_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[A-Z0-9\u3131-\u9fff])")
_ZH_END = re.compile(r"(?:[。！？；!?;]+|…+|\.{3,})[”’」』）)\]】]*")
_WORD_BEFORE = re.compile(r"([\w.]+)\.?$")


@lru_cache(maxsize=1)
def kiwi():
    """The one shared `Kiwi` instance (loading it takes ~2 s, so it is loaded once)."""
    from kiwipiepy import Kiwi

    return Kiwi()


def split_sentences(text: str, lang: Lang) -> list[Span]:
    """Split `text` into sentence spans, in order, each stripped of surrounding space.

    >>> t = "BERT uses MLM (Devlin et al., 2019). It works. See Fig. 3 for 3.5 points."
    >>> [t[a:b] for a, b in split_sentences(t, "en")]
    ['BERT uses MLM (Devlin et al., 2019).', 'It works.', 'See Fig. 3 for 3.5 points.']
    """
    spans: list[Span] = []
    for line in _LINE.finditer(text):
        for a, b in _split_line(line.group(), lang):
            spans.extend(_strip(text, line.start() + a, line.start() + b))
    return spans


def _split_line(line: str, lang: Lang) -> list[Span]:
    if lang == "ko":
        return [(s.start, s.end) for s in kiwi().split_into_sents(line)] or [(0, len(line))]
    ends = sorted(set(_zh_ends(line)) | (set() if lang == "zh" else set(_en_ends(line))))
    spans, start = [], 0
    for end in ends:
        if end > start:
            spans.append((start, end))
            start = end
    if start < len(line):
        spans.append((start, len(line)))
    return spans


def _zh_ends(line: str) -> list[int]:
    return [m.end() for m in _ZH_END.finditer(line) if not _inside_number(line, m.start())]


def _en_ends(line: str) -> list[int]:
    return [m.end() for m in _EN_END.finditer(line) if not _is_abbreviation(line, m.start())]


def _inside_number(line: str, i: int) -> bool:
    """True for the '.' of 3.2 (an ASCII period between digits is never a sentence end)."""
    return (
        line[i] == "."
        and 0 < i < len(line) - 1
        and line[i - 1].isdigit()
        and line[i + 1].isdigit()
    )


def _is_abbreviation(line: str, i: int) -> bool:
    """True when the period at `i` ends an abbreviation or an initial, not a sentence."""
    if line[i] != ".":
        return False
    m = _WORD_BEFORE.search(line[:i])
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    if word in _ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha() and line[i - 1].isupper()


def _strip(text: str, a: int, b: int) -> list[Span]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return [(a, b)] if b > a else []
