"""Index stage: language-aware tokens and a persisted BM25 index (bm25s).

BM25 only works when question and passage share tokens, and plain white-space tokens fail
Korean and Chinese: "ALBERT와" and "ALBERT和ELECTRA有什么区别" are one token each. So:

- Korean: Kiwi morphemes, keeping content ones (nouns, verb/adjective stems, roots, numbers,
  Hanja) and Latin words, so "ALBERT와 ELECTRA의 차이" -> albert, electra, 차이.
- Chinese: jieba words (search mode), punctuation and function words dropped.
- English: lower-cased words, stop words dropped, Snowball-stemmed ("sharing" -> "share").

Latin words inside Korean or Chinese text get the English treatment, so a Korean question's
"ALBERT" meets the English paper's "ALBERT".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s

from common.sentences import kiwi
from ingest.types import Lang

LEXICAL_VERSION = "lex-v2"

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+(?:\.\d+)?")
_KO_KEEP = ("NNG", "NNP", "NR", "SL", "SN", "SH", "XR", "VV", "VA")
_ZH_STOP = set("的了和是在有与及或而被把对为以于从这那个们中上下也都就还吗呢吧啊") | {
    "什么",
    "怎么",
    "如何",
    "哪些",
    "多少",
    "有什么",
    "为什么",
    "是否",
    "可以",
    "使用",
}
_EN_STOP = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "from",
        "as",
        "at",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "which",
        "what",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "does",
        "do",
        "did",
        "has",
        "have",
        "had",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "we",
        "you",
        "i",
        "not",
        "no",
        "but",
        "if",
        "so",
        "such",
        "into",
        "about",
        "over",
        "also",
        "more",
        "most",
        "very",
        "each",
        "other",
    ]
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _latin(words: list[str]) -> list[str]:
    kept = [w.lower() for w in words if len(w) > 1 and w.lower() not in _EN_STOP]
    return _stemmer().stemWords(kept)


def tokenize(text: str, lang: Lang) -> list[str]:
    """BM25 tokens of `text` in language `lang`.

    >>> tokenize("ALBERT와 ELECTRA의 차이는?", "ko")
    ['albert', 'electra', '차이']
    """
    if lang == "ko":
        return _tokenize_ko(text)
    if lang == "zh":
        return _tokenize_zh(text)
    return _latin(_WORD.findall(text))


def _tokenize_ko(text: str) -> list[str]:
    out: list[str] = []
    for tok in _join_latin(kiwi().tokenize(text)):
        if tok.tag == "SL":
            out.extend(_latin([tok.form]))
        elif tok.tag.startswith(_KO_KEEP):
            out.append(tok.form.lower())
    return out


def _join_latin(tokens) -> list:
    """Glue Kiwi's pieces of one Latin word back together: "T5" comes as T/SL + 5/SN."""
    out: list = []
    for tok in tokens:
        prev = out[-1] if out else None
        if (prev is not None and tok.tag in ("SL", "SN") and prev.tag in ("SL", "SN")
                and prev.end == tok.start):
            out[-1] = _Span(prev.form + tok.form, "SL", prev.start, tok.start + tok.len)
        else:
            out.append(_Span(tok.form, tok.tag, tok.start, tok.start + tok.len))
    return out


@dataclass(frozen=True)
class _Span:
    form: str
    tag: str
    start: int
    end: int


def _tokenize_zh(text: str) -> list[str]:
    out: list[str] = []
    for word in _jieba().cut_for_search(text):
        word = word.strip()
        if not word or word in _ZH_STOP:
            continue
        if _WORD.fullmatch(word):
            out.extend(_latin([word]))
        elif re.search(r"[\u4e00-\u9fff]", word):
            out.append(word)
    return out


class LexicalIndex:
    """BM25 over token lists; rows line up with the chunk table."""

    def __init__(self, retriever: bm25s.BM25 | None, size: int) -> None:
        self._bm25 = retriever
        self.size = size

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        if not token_lists:
            return cls(None, 0)
        retriever = bm25s.BM25()
        retriever.index([toks or ["∅"] for toks in token_lists], show_progress=False)
        return cls(retriever, len(token_lists))

    def search(self, tokens: list[str], k: int) -> list[tuple[int, float]]:
        """(row, score) pairs, best first; rows with no shared token are left out."""
        if self._bm25 is None or not tokens:
            return []
        k = min(k, self.size)
        docs, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None:
            self._bm25.save(str(folder))
        (folder / "lexical.json").write_text(json.dumps({"size": self.size}))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        size = json.loads((folder / "lexical.json").read_text())["size"]
        if size == 0:
            return cls(None, 0)
        return cls(bm25s.BM25.load(str(folder), mmap=False), size)
