"""Ingest stage: text-cleaning rules for text extracted from research-paper PDFs.

pypdf hands back one page of text as lines in content-stream order. Papers need more than
that before they can be split into sentences and embedded:

* characters: NFKC turns typographic ligatures ("ﬁ", "ﬂ") into plain letters; soft hyphens,
  control and private-use characters (math-font debris) and U+FFFD go; small-caps glyph names
  leaked by fonts without a Unicode map ("R/e.sc /t.sc /r.sc/o.sc") become letters ("Retro");
* the arXiv side stamp ("arXiv:1909.11942v6 [cs.CL] 9 Feb 2020"), also reversed or spaced
  out letter by letter, is noise on every first page;
* running headers/footers and page-number lines repeat on every page (`HeaderFooterFilter`);
* words hyphenated at line ends are joined ("repre-\\nsentation" -> "representation"), but real
  compounds keep their hyphen ("pre-\\ntrained", "left-to-\\nright", "BERT-\\nbase");
* lines are collapsed into paragraphs: a line break inside a paragraph becomes a space; a
  paragraph ends after a short line closing a sentence, before headings and bullets.

Every rule is a pure function on strings, so each one can be tested on its own.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

# ---------------------------------------------------------------- characters

_SMALL_CAPS = re.compile(r"(?<=[A-Za-z]) ?/([a-z])\.sc")
_DROP_CATEGORIES = {"Cc", "Cf", "Co", "Cs"}  # control, format (soft hyphen, ZW*), private use


def normalize_chars(text: str) -> str:
    """NFKC-normalise `text` and drop characters that carry no text.

    >>> normalize_chars("e\\u00adf\\ufb01cient R/e.sc /t.sc /r.sc/o.sc\\x00")
    'efficient Retro'
    """
    text = _SMALL_CAPS.sub(r"\1", text)
    text = unicodedata.normalize("NFKC", text)
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or (ch != "\ufffd" and unicodedata.category(ch) not in _DROP_CATEGORIES)
    )


# ---------------------------------------------------------------- arXiv stamp

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_STAMP = re.compile(
    rf"arXiv:\s*\d{{4}}\.\d{{4,5}}(?:v\d+)?\s*\[[A-Za-z.\-]+\]\s*\d{{1,2}}\s*{_MONTH}\s*\d{{4}}"
)


def strip_arxiv_stamp(line: str) -> str:
    """Remove the arXiv side stamp from `line`, in any of the forms pypdf emits it.

    The stamp is a rotated line in the margin; pypdf gives it as is, reversed (characters in
    drawing order) or spaced out ("a r X i v : 1 9 1 0 ..."). References such as
    "arXiv:1607.06450, 2016" have no "[cs.CL] date" part and are kept.

    >>> strip_arxiv_stamp("x arXiv:1909.11942v6  [cs.CL]  9 Feb 2020 y")
    'x  y'
    >>> strip_arxiv_stamp("0202 beF 9  ]LC.sc[  6v24911.9091:viXra")
    ''
    """
    for reverse in (False, True):
        candidate = line[::-1] if reverse else line
        if "arXiv" not in candidate and "a r X i v" not in candidate:
            continue
        squeezed = re.sub(r"(?<=\S) (?=\S)", "", candidate)  # undo letter spacing
        for text in (candidate, squeezed):
            if _STAMP.search(text):
                rest = _STAMP.sub("", text)
                return rest[::-1] if reverse else rest
    return line


# ---------------------------------------------------------------- headers and footers

_PAGE_NUMBER = re.compile(
    r"^\s*(?:page\s+)?[-–—]?\s*(?:\d{1,4}|[ivxlc]{1,6})\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?\s*$",
    re.IGNORECASE,
)


def is_page_number(line: str) -> bool:
    """True for a line that is only a page number ("12", "- 3 -", "Page 4 of 9", "xii")."""
    return bool(_PAGE_NUMBER.match(line))


def edge_key(line: str) -> str:
    """The form a running header/footer keeps from page to page: digits masked, case folded."""
    return re.sub(r"\d+", "#", " ".join(line.split()).casefold())


class HeaderFooterFilter:
    """Drop running headers/footers and page numbers, learning them while pages stream by.

    A line among the first or last `edge` non-empty lines of a page is a running header or
    footer when the same `edge_key` sat at a page edge on at least `min_pages` pages and on at
    least `share` of the pages seen so far. Page-number-only lines at the edges always go.
    Page 1 keeps its headers: a paper's running header is often its own title there.
    """

    def __init__(self, edge: int = 3, min_pages: int = 3, share: float = 0.5) -> None:
        self.edge, self.min_pages, self.share = edge, min_pages, share
        self.counts: Counter[str] = Counter()
        self.pages_seen = 0

    def observe(self, lines: list[str]) -> None:
        """Count the edge lines of one page (call for every page before `clean`)."""
        self.pages_seen += 1
        self.counts.update({edge_key(lines[i]) for i in self._edges(lines)})

    def clean(self, lines: list[str], page_number: int) -> list[str]:
        """`lines` without the header/footer lines at its edges."""
        threshold = max(self.min_pages, self.share * self.pages_seen)
        drop = {
            i
            for i in self._edges(lines)
            if is_page_number(lines[i])
            or (page_number > 1 and self.counts[edge_key(lines[i])] >= threshold)
        }
        return [line for i, line in enumerate(lines) if i not in drop]

    def _edges(self, lines: list[str]) -> list[int]:
        """Indices of the first and last `edge` non-empty lines."""
        filled = [i for i, line in enumerate(lines) if line.strip()]
        return filled[: self.edge] + filled[self.edge :][-self.edge :]


# ---------------------------------------------------------------- hyphens and paragraphs

_LINE_HYPHEN = re.compile(r"(\S+)-\n(?=(\w*))")
_BROKEN = re.compile(r"\S+-\n\S+")
_WORD = re.compile(r"(?<![\w-])[^\W\d_]+(?![\w-])")
_HYPHENATED = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")


@dataclass
class Vocabulary:
    """The words and in-line hyphenated pairs of a document, learned page by page.

    A hyphen at a line end is ambiguous: "repre-\\nsentation" is one word broken by the
    typesetter, "pre-\\ntrained" may be a compound, "Tiny-\\nBERT" is "TinyBERT". How the
    document writes the pair elsewhere, inside a line, decides (see `join_hyphenated`).
    """

    words: set[str] = field(default_factory=set)  # casefolded, never from a line-end break
    pairs: set[tuple[str, str]] = field(default_factory=set)  # ("pre", "trained")

    def update(self, text: str) -> None:
        """Learn the words and hyphenated pairs written inside the lines of `text`."""
        inline = _BROKEN.sub(" ", text)
        self.words.update(w.casefold() for w in _WORD.findall(inline))
        for match in _HYPHENATED.finditer(inline):
            parts = match.group().casefold().split("-")
            self.pairs.update(zip(parts, parts[1:], strict=False))


def _keep_hyphen(left: str, right: str, vocab: Vocabulary) -> bool:
    """Whether "left-\\nright" is a compound (keep the hyphen) or one broken word."""
    word = left.rsplit("-", 1)[-1].lstrip("([{\"'“‘").casefold()
    tail = right.casefold()
    if (word, tail) in vocab.pairs:
        return True  # written "pre-trained" elsewhere
    if not word.isalpha() or "-" in left or not tail:
        return True  # "left-to-\nright", "GPT-\n2"
    if word + tail in vocab.words:
        return False  # written "TinyBERT" / "representation" elsewhere
    if not (right[:1].islower() and (left[-len(word) :].islower() or left.istitle())):
        return True  # "BERT-\nbase", "Romanian-\nEnglish"
    return len(word) > 2 and word in vocab.words and tail in vocab.words  # "resource-restricted"


def join_hyphenated(text: str, vocab: Vocabulary | None = None) -> str:
    """Join words split by a hyphen at a line end; keep the hyphen of compounds.

    What the document writes elsewhere decides: a pair written with a hyphen inside a line
    keeps it, a joined form written as one word is joined. Otherwise a lowercase break is
    joined unless both pieces are words of their own ("resource-restricted"); pieces that
    hold a hyphen or digits, acronyms and capitalised right pieces keep the hyphen.

    >>> vocab = Vocabulary()
    >>> vocab.update("pre-trained TinyBERT")
    >>> join_hyphenated("repre-\\nsentation, pre-\\ntrained, left-to-\\nright, Tiny-\\nBERT", vocab)
    'representation, pre-trained, left-to-right, TinyBERT'
    """
    vocab = vocab or Vocabulary()

    def join(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        return left + "-" if _keep_hyphen(left, right, vocab) else left

    return _LINE_HYPHEN.sub(join, text)


_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.(?:\d+\.?)*)\s+[A-Z][^.!?]{0,70}$")
_NAMED_HEADING = re.compile(r"^(?:Abstract|Acknowledge?ments?|References|Appendix)\b.{0,40}$")
_BULLET = re.compile(r"^\s*(?:[•●▪◦∙·\-–*]|\(\w\)|\d+\))\s")
_SENTENCE_END = re.compile(r"[.!?:][\"')\]”’]*$")


def _is_heading(line: str) -> bool:
    return bool(_HEADING.match(line) or _NAMED_HEADING.match(line))


def full_line_length(lines: list[str]) -> float:
    """How long a full line of the page is (80th percentile of its longer lines)."""
    lengths = [len(line.strip()) for line in lines if len(line.strip()) > 20]
    return statistics.quantiles(lengths, n=5)[3] if len(lengths) >= 5 else 80.0


def to_paragraphs(text: str, full: float | None = None) -> str:
    """Collapse lines into paragraphs separated by a blank line.

    pypdf gives no blank lines, so paragraph ends are inferred: a line clearly shorter than
    a full line (`full`, measured before hyphenated lines were joined) that closes a
    sentence ends a paragraph; headings and bullet items stand on their own. Any other line
    break inside a paragraph becomes a space.
    """
    lines = [" ".join(line.split()) for line in text.split("\n")]
    full = full or full_line_length(lines)
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if not line:
            paragraphs.append([])
            continue
        if _is_heading(line) or _BULLET.match(line):
            paragraphs.append([])
        paragraphs[-1].append(line)
        short_end = _SENTENCE_END.search(line) and len(line) < 0.8 * full
        if short_end or _is_heading(line):
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def clean_page_lines(lines: list[str], vocab: Vocabulary | None = None) -> str:
    """Turn one page's remaining lines into clean paragraph text."""
    lines = [strip_arxiv_stamp(line) for line in lines]
    full = full_line_length(lines)
    return to_paragraphs(join_hyphenated("\n".join(lines), vocab), full).strip()
