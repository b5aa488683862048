"""Rag stage: a translation score belongs to its language pair, in any of the three languages.

Papers report one score per language pair in adjacent sentences ("On the WMT 2014
English-to-German translation task ... 28.4. On the WMT 2014 English-to-French translation
task ... 41.0."), and the 1.5B reader swaps them: "Transformer在WMT 2014英德翻译任务上的BLEU是
41.0". The number is in the cited passage, so the number check passes; the language pair,
written in Chinese or Korean, is no Latin name it could check. This module reads the
languages a text names, in English, Chinese or Korean, so that a number is held to a sentence
of its passage that names the same pair.

    >>> sorted(languages("Transformer在WMT 2014英德翻译任务上的BLEU是多少？"))
    ['english', 'german']
    >>> sorted(languages("On the WMT 2014 English-to-French translation task, ..."))
    ['english', 'french']
    >>> passage = ("On the WMT 2014 English-to-German translation task, the big model "
    ...            "reaches a BLEU score of 28.4. On the WMT 2014 English-to-French "
    ...            "translation task, our big model achieves a BLEU score of 41.0.")
    >>> other_pair("Transformer在WMT 2014英德翻译任务上的BLEU是41.0。", passage)
    True
    >>> other_pair("Transformer在WMT 2014英德翻译任务上的BLEU是28.4。", passage)
    False
"""

from __future__ import annotations

import re

from common.sentences import split_sentences
from rag.ground import numbers

# Full names of the languages of the corpus's translation tasks, in the three scripts.
_NAMES = {
    "english": r"english|英语|英文|영어",
    "german": r"german|deutsch|德语|德文|독일어",
    "french": r"french|法语|法文|프랑스어|불어",
    "romanian": r"romanian|罗马尼亚语?|루마니아어?",
}
# Pairs written with one character (英德, 英-法, 영-독) or a code (EN-DE, En→Fr): a single
# character alone is too common a word (法 in 方法) to mean a language.
_CHAR = {"英": "english", "德": "german", "法": "french", "罗": "romanian",
         "영": "english", "독": "german", "불": "french"}
_CODE = {"en": "english", "de": "german", "fr": "french", "ro": "romanian"}
_CHAR_PAIR = re.compile(r"([英德法罗])\s*[-–→/到]?\s*([英德法罗])|([영독불])\s*[-–→/]\s*([영독불])")
_CODE_PAIR = re.compile(r"(?<![A-Za-z])(en|de|fr|ro)\s*[-–→/]\s*(en|de|fr|ro)(?![A-Za-z])", re.I)
_FULL = {lang: re.compile(rf"(?<![A-Za-z])(?:{words})", re.I) for lang, words in _NAMES.items()}


def languages(text: str) -> frozenset[str]:
    """The languages `text` names: full names, one-character pairs (英德) and codes (EN-DE)."""
    found = {lang for lang, pattern in _FULL.items() if pattern.search(text)}
    for m in _CHAR_PAIR.finditer(text):
        found |= {_CHAR[c] for c in m.groups() if c}
    for m in _CODE_PAIR.finditer(text):
        found |= {_CODE[c.lower()] for c in m.groups()}
    return frozenset(found)


def _foreign(text: str) -> frozenset[str]:
    """The languages other than English: what tells one pair from another."""
    return languages(text) - {"english"}


def other_pair(sentence: str, passage: str) -> bool:
    """Whether `sentence` names a language pair and one of its numbers is stated in
    `passage` only in sentences that name another pair: the score of another task."""
    mine = _foreign(sentence)
    if not mine:
        return False
    sentences = [passage[a:b] for a, b in split_sentences(passage, "en")]
    for n in numbers(sentence):
        holding = [_foreign(s) for s in sentences if n in numbers(s)]
        named = [langs for langs in holding if langs]
        if named and not any(langs & mine for langs in named):
            return True
    return False


def contradicts(question: str, quote: str) -> bool:
    """Whether `quote` is about another language pair than the one `question` asks about."""
    asked, said = _foreign(question), _foreign(quote)
    return bool(asked and said and not asked & said)
