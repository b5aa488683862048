"""Rag stage: check citations after generation (as PaperQA2 does), and repair them.

The small reader often forgets `[n]`, cites a passage that does not exist, or cites the
wrong one. So every answer sentence is checked against the passages:

1. markers that point to no passage are dropped;
2. a sentence's support by a passage combines the embedding similarity of the two with the
   share of the sentence's key tokens (names, numbers, terms) found in the passage, its
   paper's title or the label the model saw as its header ("ELECTRA uses ..." is supported
   by an ELECTRA passage that never repeats the name, "Kaplan et al. ..." by a passage of
   "Scaling Laws for Neural Language Models", labelled Kaplan);
3. a cited passage that does not support its sentence loses the marker; a sentence with no
   marker gets the best-supporting passage when support is strong, and is otherwise
   flagged as unsupported;
4. markers are renumbered in order of first use, and each `Citation` carries the passage
   sentence that best supports what was said (the quote) and a link to the paper (`render`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.lang import detect_lang
from common.sentences import split_sentences
from index.lexical import tokenize
from rag.context import Passage
from rag.prompts import source_label

MARKER = re.compile(r"\s?[\[【](\d+(?:\s*[,，、]\s*\d+)*)[\]】]")
STRONG = 0.62  # support needed to attach a passage to an uncited sentence
WEAK = 0.45  # support below which a cited passage is taken away
_WORDY = re.compile(r"[^\W\d_]{2}")  # two letters in a row: a sentence, not a gap mark

@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer, with the passage sentence that supports it."""

    n: int
    doc_id: str
    title: str
    page_start: int
    page_end: int
    url: str
    quote: str
    translation: str = ""  # the quote in the answer's language, when the paper's differs
    passage: int = 0  # the number of the passage it cites, in `Answer.passages`


@dataclass
class Answer:
    """What the user is shown: only checked sentences, each citation with its quote."""

    question: str
    lang: str
    text: str
    citations: list[Citation]
    passages: list[Passage]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)  # sentences not shown as written
    note: str = ""  # what the user can do about an abstention ("rag ingest 2203.15556")
    draft: str = ""  # the reader's own text, before any check (never shown; for eval)


Similarity = Callable[[list[str], list[Passage]], np.ndarray]  # (sentences x passages)


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without markers
    cited: tuple[int, ...]  # passage numbers (the model's numbering)
    supported: bool
    others: tuple[int, ...] = ()  # other passages that support it, best first
    quote: str = ""  # set when the sentence *is* a passage sentence (rag/repair.py)
    translation: str = ""  # and the answer shows it translated


def parse_markers(text: str) -> list[int]:
    """All passage numbers cited in `text`, in order ("[1, 3]" gives 1 and 3)."""
    out = []
    for m in MARKER.finditer(text):
        out.extend(int(x) for x in re.split(r"[^\d]+", m.group(1)) if x)
    return out


def key_overlap(sentence: str, passage: str) -> float | None:
    """Share of the sentence's content tokens that occur in the passage (0..1).

    Across languages (a Chinese answer, an English passage) only the sentence's Latin tokens
    can meet the passage's (names, numbers: ALBERT, 28.4); None when it has none."""
    s_lang, p_lang = detect_lang(sentence), detect_lang(passage)
    s_tokens = set(tokenize(sentence, s_lang))
    if s_lang != p_lang:
        s_tokens = {t for t in s_tokens if t.isascii()}
        if not s_tokens:
            return None
    if not s_tokens:
        return 0.0
    p_tokens = set(tokenize(passage, p_lang))
    return len(s_tokens & p_tokens) / len(s_tokens)


def check_answer(
    text: str, lang: str, passages: list[Passage], similarity: Similarity
) -> list[CheckedSentence]:
    """Split `text` into sentences and decide each one's citations (see module docstring)."""
    sentences = [text[a:b] for a, b in split_sentences(text, lang)]
    sentences = _attach_lone_markers(sentences)
    if not sentences:
        return []
    clean = [MARKER.sub("", s).strip() for s in sentences]
    sims = similarity(clean, passages) if passages else np.zeros((len(clean), 0))
    by_n = {p.n: i for i, p in enumerate(passages)}
    out = []
    for s, plain, row in zip(sentences, clean, sims, strict=True):
        support = {p.n: _support(row[by_n[p.n]], plain, as_read(p)) for p in passages}
        cited = [n for n in dict.fromkeys(parse_markers(s)) if n in by_n]
        kept = tuple(n for n in cited if support[n] >= WEAK)
        if not kept and support:
            best = max(support, key=support.get)
            kept = (best,) if support[best] >= STRONG else ()
        others = tuple(n for n in sorted(support, key=lambda n: -support[n])
                       if support[n] >= WEAK and n not in kept)
        if plain:
            out.append(CheckedSentence(plain, kept, bool(kept), others))
    return out


def header(p: Passage) -> str:
    """The paper's title and the label the model saw as the passage's header."""
    return f"{p.title} {source_label(p.title, p.doc_id, p.aliases)}"


def as_read(p: Passage) -> str:
    """The passage with its paper's title and the label the model saw as its header
    ("Kaplan等人的...论文中..." is supported by a Kaplan passage that never names Kaplan)."""
    return f"{p.title} {source_label(p.title, p.doc_id, p.aliases)}\n{p.text}"


def _support(similarity: float, sentence: str, passage: str) -> float:
    """Blend embedding similarity (e5 cosines sit in ~0.7-0.9) with key-token overlap."""
    sim = min(max(0.0, (similarity - 0.70) / 0.20), 1.0)
    overlap = key_overlap(sentence, passage)
    return sim if overlap is None else 0.5 * sim + 0.5 * overlap


def _attach_lone_markers(sentences: list[str]) -> list[str]:
    """'...sharing.' followed by '[1]' as its own piece belongs to the sentence before."""
    out: list[str] = []
    for s in sentences:
        if out and not MARKER.sub("", s).strip():
            out[-1] = f"{out[-1]} {s.strip()}"
        else:
            out.append(s)
    return out


def quote_candidates(passage: Passage) -> list[str]:
    """The passage's sentences, split again at focus gap marks (" … "), worded ones only."""
    text = passage.text
    pieces = [piece.strip(" …") for a, b in split_sentences(text, detect_lang(text))
              for piece in text[a:b].split("…")]
    return [p for p in pieces if _WORDY.search(p)]  # never a bare "…" or a lone marker


def best_quote(sentence: str, passage: Passage, max_chars: int = 300) -> str:
    """The passage sentence sharing most key tokens with `sentence` (the citation's quote)."""
    candidates = quote_candidates(passage)
    if not candidates:
        return passage.title
    scored = [(key_overlap(sentence, c) or 0.0, -i) for i, c in enumerate(candidates)]
    quote = candidates[-max(scored)[1]]
    return quote if len(quote) <= max_chars else quote[: max_chars - 3] + "..."


def page_url(p: Passage, path: str = "") -> str:
    """The arXiv abstract page; for a local file, its path (PDFs at the cited page)."""
    if p.url:
        return p.url
    if path:
        uri = Path(path).resolve().as_uri()
        return f"{uri}#page={p.page_start}" if path.lower().endswith(".pdf") else uri
    return ""


def render(
    checked: list[CheckedSentence], passages: list[Passage], paths: dict[int, str]
) -> tuple[str, list]:
    """Answer text with markers renumbered by first use, and the citations behind them."""
    by_n = {p.n: p for p in passages}
    new_n: dict[int, int] = {}
    quotes: dict[int, tuple[str, str]] = {}
    out = []
    for s in checked:
        marks = []
        for n in s.cited:
            if n not in new_n:
                new_n[n] = len(new_n) + 1
                quotes[n] = (s.quote, s.translation) if s.quote else \
                    (best_quote(s.text, by_n[n]), "")
            marks.append(f"[{new_n[n]}]")
        out.append(s.text + (" " + "".join(marks) if marks else " [?]"))
    citations = [
        Citation(m, by_n[n].doc_id, by_n[n].title, by_n[n].page_start, by_n[n].page_end,
                 page_url(by_n[n], paths.get(n, "")), *quotes[n], n)
        for n, m in sorted(new_n.items(), key=lambda x: x[1])
    ]
    return " ".join(out), citations
