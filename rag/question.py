"""Rag stage: a question, parsed once into what every later step needs to know of it.

Retrieval, the gate, focusing and reading each ask the same things of a question: which
language it is written in, which indexed papers it names, and whether it compares two
things. `Question.parse` answers them once; the steps read the fields.

    >>> names = {"ALBERT": "1909.11942", "ELECTRA": "2003.10555"}
    >>> q = Question.parse("ALBERT와 ELECTRA 차이?", names)
    >>> q.lang, q.answer_lang, q.named, q.sides
    ('ko', 'ko', ('1909.11942', '2003.10555'), ('ALBERT', 'ELECTRA'))
    >>> Question.parse("Что такое ALBERT?", names).answer_lang  # a script we do not handle
    'en'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.lang import Lang, detect_lang, is_foreign
from rag.named import named_papers

_SIDES = {
    "ko": re.compile(r"^(?P<a>.+?)\s*(?:와|과|랑|이랑|하고|vs\.?|대)\s+(?P<b>.+?)(?:의|는|은)?\s*"
                     r"(?:차이|비교|다른 점|공통점)"),
    "zh": re.compile(r"^(?P<a>.+?)\s*(?:和|与|跟|同|vs\.?)\s*(?P<b>.+?)\s*(?:有什么|的)?"
                     r"(?:区别|差别|差异|不同|比较|对比)"),
    "en": re.compile(r"(?:between\s+)?(?P<a>[\w.\-]+(?:\s[\w.\-]+)?)\s+(?:and|vs\.?|versus)\s+"
                     r"(?P<b>[\w.\-]+(?:\s[\w.\-]+)?)", re.I),
}
_EN_CUE = re.compile(r"\b(differ|difference|compare|comparison|versus|vs\.?)\b", re.I)


@dataclass(frozen=True)
class Question:
    """A user's question and what it says about itself."""

    text: str
    lang: Lang  # the language of its script: how it is tokenised and searched
    answer_lang: Lang  # the language it is answered in: English for a script not handled
    named: tuple[str, ...] = ()  # doc ids of the indexed papers it names, in its order
    sides: tuple[str, ...] = ()  # the two things it compares, if it is a comparison

    @classmethod
    def parse(cls, text: str, names: dict[str, str]) -> Question:
        """`text` parsed against the index's paper names ({name: doc_id})."""
        lang = detect_lang(text)
        return cls(text, lang, "en" if is_foreign(text) else lang,
                   tuple(named_papers(text, names)), tuple(comparison_sides(text, lang)))


def comparison_sides(question: str, lang: Lang) -> list[str]:
    """The two things a comparison question compares, else [].

    >>> comparison_sides("ALBERT와 ELECTRA 차이?", "ko")
    ['ALBERT', 'ELECTRA']
    """
    if lang == "en" and not _EN_CUE.search(question):
        return []
    m = _SIDES[lang].search(question.strip())
    if not m:
        return []
    sides = [m.group("a").strip(" ,?"), m.group("b").strip(" ,?")]
    return sides if all(sides) else []
