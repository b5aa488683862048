"""Rag stage: "which paper / model / method ..." questions are answered with its name.

A question that describes a paper without naming it ("Which method penalizes attention
scores in proportion to the query-key distance?", "어떤 모델이 임베딩을 분해하나?",
"哪篇论文提出了…") wants a name back; the small reader tends to restate the description.
The retrieval already found the paper and the checked answer cites it, so the name is
added from the cited passage's metadata, grounded by construction:

    ALiBi: Train Short, Test Long: Attention with Linear Biases ... (arXiv:2108.12409) [1]

    >>> asks_which("Which method penalizes attention scores by distance?", "en")
    True
    >>> asks_which("RoBERTa는 BERT의 어떤 손실을 제거했나?", "ko")
    False
"""

from __future__ import annotations

import re

from rag.cite import CheckedSentence
from rag.context import Passage
from rag.prompts import NOTE_LABEL, source_label

_THING = {
    "en": r"(?:paper|model|method|technique|architecture|approach|work|study|mechanism|algorithm|"
          r"objective|framework|system|network|encoder)s?",
    "ko": r"(?:논문|모델|방법|방식|기법|연구|아키텍처|구조|메커니즘|프레임워크|시스템|네트워크)",
    "zh": r"(?:论文|模型|方法|技术|机制|架构|研究|框架|系统|网络|工作)",
}
_WHICH = {
    "en": re.compile(rf"\b(?:which|what)\s+(?:(?!(?:does|do|did|is|are|was|were|the|a|an)\b)"
                     rf"[\w-]+\s+){{0,2}}?{_THING['en']}\b|"
                     r"\bwhat(?:'s| is| was) (?:the )?name\b|\bwhat (?:is|was|are) .+ called\b",
                     re.I),
    # a word may sit between: "어떤 대화 모델", "哪个对话模型", "哪种预训练方法"
    "ko": re.compile(rf"(?:어떤|어느|무슨)\s*(?:[가-힣A-Za-z0-9-]+\s+)?{_THING['ko']}|이름|"
                     r"뭐라고 (?:부르|하)"),
    "zh": re.compile(rf"(?:哪(?:个|篇|种|项|一个|一篇|一种|一项)?|什么)"
                     rf"[\u4e00-\u9fffA-Za-z0-9-]{{0,4}}?{_THING['zh']}|叫什么|名称|名字"),
}
NAMED_AS = {"en": "This is {name} ({ident}).", "ko": "해당 논문: {name} ({ident}).",
            "zh": "对应论文：{name}（{ident}）。"}


def asks_which(question: str, lang: str) -> bool:
    """Whether the question asks for the name of a paper, model or method."""
    return bool(_WHICH[lang].search(question))


def name_sentence(passage: Passage, lang: str) -> CheckedSentence | None:
    """A sentence naming the passage's paper and its arXiv id, cited to the passage; None
    for a reading note (it names no paper of its own)."""
    label = source_label(passage.title, passage.doc_id, passage.aliases)
    if label == NOTE_LABEL:
        return None
    name = passage.title if passage.title.startswith(label) else f"{label}: {passage.title}"
    ident = f"arXiv:{passage.doc_id}" if re.fullmatch(r"\d{4}\.\d{4,5}", passage.doc_id) \
        else passage.doc_id
    return CheckedSentence(NAMED_AS[lang].format(name=name, ident=ident), (passage.n,), True)


def with_name(shown: list[CheckedSentence], passages: list[Passage], lang: str
              ) -> list[CheckedSentence]:
    """The answer's sentences and, after them, the name of the paper the first one cites."""
    if not shown or not shown[0].cited:
        return shown
    by_n = {p.n: p for p in passages}
    named = name_sentence(by_n[shown[0].cited[0]], lang)
    return [*shown, named] if named else shown
