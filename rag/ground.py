"""Rag stage: every number and name an answer states must occur in the passage it cites.

A 1.5B reader copies the right citation marker onto a wrong number ("RETRO's chunks are 32
tokens [1]" over a passage that says 64) or onto a name from elsewhere ("The Vaswani model
makes its state space parameters functions of the input [1]" over a Mamba passage). The
embedding-and-overlap support of rag/cite.py lets such sentences through: they are close in
meaning to the passage. So after the citation check, each sentence's *claims* are checked
one by one against the passages it cites:

- **numbers**, normalised: full-width digits (NFKC), thousands separators (`50,257` =
  `50257`), scale words and suffixes (`1.3B` = `1.3 billion` = `13억` = `13亿`), `%` and `×`;
- **names**: Latin-script terms that name something (ALBERT, RoBERTa, GPT-2, WebText,
  "Vaswani" inside an English sentence); a Korean or Chinese sentence may carry them from an
  English passage, so Latin names are compared across languages.

    >>> claims("GPT-2의 어휘는 50,257개입니다.").numbers
    frozenset({50257.0})
    >>> missing("GPT-2 has a vocabulary of 50,231 tokens.", "a vocabulary of 50,257 tokens")
    Claims(numbers=frozenset({50231.0}), names=frozenset({'gpt-2'}))

A number in a name ("GPT-2", "T5-11B") belongs to the name; a passage's numbers include
those inside its names, so "11 billion" is grounded by "T5-11B".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# A Latin-script token: a letter, then letters/digits, maybe joined by hyphens or dots
# ("GPT-2", "T5-11B", "BERT-large", "Flan-T5"); a trailing dot ends a sentence, not a token.
_NAME_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
# A number with its scale: "50,257", "1.3B", "11 billion", "28.4", "96.8%", "7.5x", "13억".
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])(?<!\d[.,])(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.(\d+))?"
    r"(?:\s?(billion|million|thousand|trillion|[BMKkT](?![A-Za-z])|조|억|만|천|万亿|亿|万|千|百万)"
    r"|(?=\s?(?:%|percent|x\b|×|배|倍)))?"
)
_PASSAGE_NUMBER = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.(\d+))?"
    r"(?:\s?(billion|million|thousand|trillion|[BMKkT](?![a-z])|조|억|만|천|万亿|亿|万|千|百万))?"
)
_ARXIV_ID = re.compile(r"arXiv:\s?\d{4}\.\d{4,5}(?:v\d+)?", re.I)
_SCALE = {"trillion": 1e12, "T": 1e12, "billion": 1e9, "B": 1e9, "million": 1e6, "M": 1e6,
          "thousand": 1e3, "K": 1e3, "k": 1e3, "조": 1e12, "万亿": 1e12, "천": 1e3, "억": 1e8,
          "亿": 1e8, "만": 1e4, "万": 1e4, "千": 1e3, "百万": 1e6}
# Capitalised words that open or join English sentences without naming anything.
_COMMON = frozenset((
    "a", "an", "the", "this", "these", "that", "those", "it", "its", "in", "on", "at", "for",
    "from", "to", "of", "by", "with", "and", "or", "but", "however", "also", "as", "we",
    "they", "our", "their", "there", "here", "then", "thus", "so", "such", "both", "each",
    "all", "table", "figure", "fig", "section", "appendix", "eq", "equation", "first",
    "second", "third", "finally", "moreover", "furthermore", "unlike", "like", "while", "when",
    "where", "which", "what", "who", "how", "why", "yes", "no", "not", "one", "two", "three",
    "compared", "based", "using", "instead", "specifically", "overall", "because", "although",
    "since", "after", "before", "during", "between", "both", "either", "neither", "in-context",
    "e.g", "i.e", "et", "al", "if", "is", "are", "was", "were", "you", "i", "he", "she", "some",
    "many", "most", "other", "another", "more", "less", "only", "even", "still", "yet", "every",
    "additionally", "according", "similarly", "therefore", "hence", "note", "given", "let",
    "experiments", "experiment", "results", "result", "researchers", "authors", "training",
    "model", "models", "paper", "papers", "method", "methods", "approach", "sources", "source",
    "answer", "question", "previous", "prior", "recent", "existing", "standard", "original",
    "main", "key", "new", "larger", "smaller", "large", "small", "further", "data", "dataset",
    "datasets", "task", "tasks", "performance", "language", "pre-training", "pretraining",
    "fine-tuning", "finetuning", "specific", "its", "do", "does", "did", "can", "could",
))


@dataclass(frozen=True)
class Claims:
    """What a sentence asserts that can be checked by string: numbers and names."""

    numbers: frozenset[float]
    names: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.numbers or self.names)

    def describe(self) -> str:
        """'50231, GPT-2' for messages and the eval's ungrounded column."""
        nums = [f"{n:g}" for n in sorted(self.numbers)]
        return ", ".join(nums + sorted(self.names))


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u00d7", " ×")


def _value(whole: str, frac: str | None, scale: str | None) -> float:
    value = float(whole.replace(",", "") + (f".{frac}" if frac else ""))
    return round(value * _SCALE.get(scale or "", 1.0), 6)


def _name_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _NAME_TOKEN.finditer(text)]


def numbers(text: str) -> frozenset[float]:
    """The numbers `text` states outside names, each as its scaled value."""
    text = _norm(text)
    spans = _name_spans(text)
    out = set()
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        out.add(_value(m.group(1), m.group(2), m.group(3)))
    return frozenset(out)


def names(text: str) -> frozenset[str]:
    """Latin-script names in `text`, lower-cased: tokens with an inner capital or a digit
    (RoBERTa, GPT-2, T5), all-capital ones (BLEU) and capitalised words (Vaswani, Gopher,
    also a sentence's first word: the subject is where a wrong name sits), except common
    words that open English sentences ("The", "However", "Experiments")."""
    text = _norm(text)
    out = set()
    for m in _NAME_TOKEN.finditer(text):
        token = m.group(0).rstrip(".")
        if len(token) < 2 or token.lower() in _COMMON:
            continue
        inner = any(c.isupper() for c in token[1:]) or any(c.isdigit() for c in token)
        if inner or token[0].isupper():  # "Gopher was trained ...": the subject is a claim
            out.add(token.lower())
    return frozenset(out)


def claims(sentence: str) -> Claims:
    """The numbers and names a sentence states (citation markers excluded)."""
    plain = re.sub(r"\s?[\[【]\d+(?:\s*[,，、]\s*\d+)*[\]】]", "", sentence)
    plain = _ARXIV_ID.sub(" ", plain)  # a paper's identifier, not a claim
    return Claims(numbers(plain), names(plain))


@lru_cache(maxsize=512)
def _passage_facts(passage: str) -> tuple[frozenset[float], frozenset[str]]:
    """Every number (names' digits included, scaled and unscaled) and word form in a
    passage."""
    text = _norm(passage)
    values = set()
    for m in _PASSAGE_NUMBER.finditer(text):
        values.add(_value(m.group(1), m.group(2), None))
        values.add(_value(m.group(1), m.group(2), m.group(3)))
    words = set()
    for m in _NAME_TOKEN.finditer(text):
        token = m.group(0).rstrip(".").lower()
        parts = re.split(r"\.(?=[a-z])", token)  # "e.g" splits, "GPT-3.5" stays whole
        words.update({token, _compact(token), *token.split("-"), *parts})
    return frozenset(values), frozenset(words)


def _compact(token: str) -> str:
    return token.replace("-", "").replace(".", "")


def _name_in(name: str, words: frozenset[str]) -> bool:
    """A name occurs as a word, hyphenation and a plural 's' aside ("GPT2" = "GPT-2",
    "Transformers" = "Transformer")."""
    forms = {name, _compact(name), name.rstrip("s"), name + "s", _compact(name).rstrip("s")}
    return any(f in words for f in forms if f)


def missing(sentence: str, passage: str, header: str = "") -> Claims:
    """The claims of `sentence` that `passage` does not back (empty: grounded).

    Names must occur in the passage or in `header` (the paper's title and the label the
    reader saw). Numbers are checked *together and in context*: all of them must occur in
    one window of the passage (a sentence, or two adjacent ones) that also shares the
    sentence's other content words, so a number the passage states about something else
    does not count ("chunks of 32 tokens" over a page where 32 is a batch size). A Korean
    or Chinese sentence over an English passage shares no words but its claims, so there
    the numbers together suffice."""
    want = claims(sentence)
    free_values, free = _passage_facts(header)
    want = Claims(frozenset(n for n in want.numbers if n not in free_values),
                  frozenset(n for n in want.names if not _name_in(n, free)))
    if not want:
        return want
    values, words = _passage_facts(passage)
    names = frozenset(n for n in want.names if not _name_in(n, words))
    if not want.numbers:
        return Claims(frozenset(), names)
    context = _content(sentence, want)
    best = want.numbers
    for window in _windows(passage):
        values, _ = _passage_facts(window)
        left = frozenset(n for n in want.numbers if n not in values)
        if not left and _shares_context(context, window):
            return Claims(left, names)
        if len(left) < len(best):
            best = left
    return Claims(best or want.numbers, names)


def grounded(sentence: str, passage: str, header: str = "") -> bool:
    """True when the numbers and names of `sentence` occur together in one window of
    `passage` that is about what the sentence is about (see `missing`)."""
    return not missing(sentence, passage, header)


def anchored(sentence: str, passage: str, header: str = "") -> bool:
    """Whether the sentence is tied to the passage by more than its meaning: a number or a
    name ("ALBERT는 …" over an ALBERT passage: the paper's own name counts), or English terms
    of the passage (half of at least two of its Latin words, "cross-layer parameter
    sharing" in a Korean sentence). "결과적으로, 된장찌개를 …" is tied by nothing."""
    from index.lexical import tokenize

    want = claims(sentence)
    if want.numbers or want.names:
        return True
    words = {t for t in tokenize(sentence, "en") if t.isascii() and t.isalpha()}
    if len(words) < 2:
        return False
    return len(words & set(tokenize(f"{header}\n{passage}", "en"))) >= 0.5 * len(words)


MIN_CONTEXT = 0.25  # share of the sentence's other content words its window must contain


def _content(sentence: str, want: Claims) -> frozenset[str]:
    """The sentence's English content words (stemmed), its claims left out."""
    from index.lexical import tokenize

    if detect_script(sentence) != "latin":
        return frozenset()
    out = set(tokenize(sentence, "en")) - {n.lower() for n in want.names}
    return frozenset(t for t in out if not any(c.isdigit() for c in t))


def _shares_context(context: frozenset[str], window: str) -> bool:
    if not context or detect_script(window) != "latin":
        return True
    from index.lexical import tokenize

    return len(context & set(tokenize(window, "en"))) >= MIN_CONTEXT * len(context)


def detect_script(text: str) -> str:
    """'latin', or 'cjk' when the text has Hangul or Han characters."""
    return "cjk" if re.search(r"[\uac00-\ud7a3\u4e00-\u9fff]", text) else "latin"


@lru_cache(maxsize=256)
def _windows(passage: str) -> tuple[str, ...]:
    """The passage's sentences and each pair of neighbours (a fact may span two)."""
    from common.lang import detect_lang
    from common.sentences import split_sentences

    sents = [piece.strip() for a, b in split_sentences(passage, detect_lang(passage))
             for piece in passage[a:b].split("…") if piece.strip()]
    pairs = [f"{a} {b}" for a, b in zip(sents, sents[1:], strict=False)]
    return tuple(sents + pairs) or (passage,)


_MARKS = re.compile(r"\s?[\[【](\d+(?:\s*[,，、]\s*\d+)*)[\]】]")


def cited_pieces(text: str, lang: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences, each with the `[n]` markers that belong to it (markers that
    open a sentence, "... sharing. [1] It ...", belong to the sentence before and are moved
    to its end)."""
    from common.sentences import split_sentences

    pieces: list[tuple[str, list[int]]] = []
    for a, b in split_sentences(text, lang):
        s = text[a:b]
        lead = re.match(r"(?:\s*[\[【]\d+(?:\s*[,，、]\s*\d+)*[\]】])+", s)
        if lead and pieces:
            moved = lead.group(0).strip()
            pieces[-1] = (f"{pieces[-1][0]} {moved}", pieces[-1][1] + _numbers_in(moved))
            s = s[lead.end():].strip()
        if s:
            pieces.append((s.strip(), _numbers_in(s)))
    return pieces


def unbacked(sentence: str, marks: list[int], sources: dict[int, tuple[str, str]]) -> Claims:
    """The claims of one shown sentence that the sources its markers point to lack
    (`sources`: {n: (passage text, title and label)}; an uncited sentence is held to all)."""
    cited = [sources[m] for m in marks if m in sources] if marks else list(sources.values())
    return missing(sentence, "\n".join(t for t, _ in cited), " ".join(h for _, h in cited))


def audit(text: str, lang: str, sources: dict[int, tuple[str, str]]) -> list[str]:
    """Each sentence of a shown answer whose numbers or names are not backed by the sources
    its markers point to, as "sentence (missing claims)": the eval's "ungrounded" column."""
    out = []
    for s, marks in cited_pieces(text, lang):
        miss = unbacked(s, marks, sources)
        if miss:
            out.append(f"{s} ({miss.describe()})")
    return out


def _numbers_in(markers: str) -> list[int]:
    return [int(x) for m in _MARKS.finditer(markers) for x in re.findall(r"\d+", m.group(1))]
