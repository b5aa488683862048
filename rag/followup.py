"""Rag stage: turn a follow-up question into a standalone one, using the conversation.

    rewrite_question("그럼 ELECTRA의 생성자 크기는?",
                     [("user", "ALBERT와 ELECTRA 차이?"), ("assistant", "ALBERT는 ...")], llm)
    -> "ELECTRA의 생성자 크기는 얼마인가?"

Retrieval sees one question at a time, so "그럼 그건?" must name what "그건" is before it can
find anything. The chat model is asked only when the question looks like a follow-up (a cue
such as 그럼/那/then, a pronoun, or very short with no name in it) and there is history;
otherwise, and whenever the rewrite looks wrong, the question is returned unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from common.lang import detect_lang
from rag.prompts import LANG_NAMES

log = logging.getLogger(__name__)

Turn = tuple[str, str]  # (role, text), role "user" or "assistant"

_CUES = re.compile(
    r"^\s*(그럼|그러면|그렇다면|그리고|또|那|那么|然后|还有|另外)"
    r"|(그것|그거|그건|그게|이것|이거|이건|그들|그 모델|이 모델|그 논문|이 논문|저자들|"
    r"它|它们|这个|那个|这些|那些|该模型|这篇|那篇|其中)"
    r"|^\s*(then|and|so|also|what about|how about)\b"
    r"|\b(it|its|they|them|their|these|those|the former|the latter|this (?:model|paper|method))\b",
    re.I,
)
_NAME = re.compile(r"[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9-]*|\b\d{4}\.\d{4,5}\b|[A-Z][a-z]+[A-Z]")
_SHORT = {"ko": 8, "zh": 6, "en": 3}  # at most this many letters (ko/zh) or words (en)
MAX_HISTORY_TURNS = 4
MAX_TURN_CHARS = 600

REWRITE = ChatPromptTemplate.from_messages([
    ("system", "You rewrite a follow-up question so that it can be understood without the "
               "conversation. Resolve pronouns and references using the conversation. Keep it "
               "a question in {language}; keep names and technical terms as written. Reply "
               "with the rewritten question only."),
    ("human", "Conversation:\n{history}\n\nFollow-up question: {question}\n\n"
              "Standalone question in {language}:"),
])


def looks_like_followup(question: str) -> bool:
    """True when `question` probably depends on what was said before."""
    if _CUES.search(question):
        return True
    if _NAME.search(question):
        return False
    lang = detect_lang(question)
    size = len(question.split()) if lang == "en" else len(re.sub(r"\W", "", question))
    return size <= _SHORT[lang]


def format_history(history: Sequence[Turn]) -> str:
    """The last few turns as `User: ...` / `Assistant: ...` lines, each cut to a length."""
    lines = []
    for role, text in list(history)[-2 * MAX_HISTORY_TURNS:]:
        text = " ".join(re.sub(r"\s*\[(?:\d+|\?)(?:,\s*\d+)*\]", "", text).split())
        who = "User" if role == "user" else "Assistant"
        lines.append(f"{who}: {text[:MAX_TURN_CHARS]}")
    return "\n".join(lines)


def rewrite_question(question: str, history: Sequence[Turn], llm: BaseChatModel) -> str:
    """A standalone version of `question` given `history`, or `question` itself.

    The model is called only for questions that look like follow-ups; a reply that is empty,
    far too long, or in another language than the question is discarded.
    """
    question = question.strip()
    if not history or not looks_like_followup(question):
        return question
    lang = detect_lang(question)
    chain = REWRITE | llm | StrOutputParser()
    try:
        reply = chain.invoke({"language": LANG_NAMES[lang], "history": format_history(history),
                              "question": question})
    except Exception as e:  # a failed rewrite must not lose the question
        log.warning("follow-up rewrite failed (%s); using the question as asked", e)
        return question
    return _clean(reply, question, lang)


def _clean(reply: str, question: str, lang: str) -> str:
    """The first line of the model's reply, without labels or quotes, if it is plausible."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    text = re.sub(r"^\s*(standalone question[^:]*:|rewritten[^:]*:|question:)\s*", "",
                  lines[0] if lines else "", flags=re.I).strip().strip("\"'“”「」")
    if not text or len(text) > 3 * len(question) + 200 or detect_lang(text) != lang:
        log.info("discarding follow-up rewrite %r for %r", text, question)
        return question
    log.info("follow-up %r rewritten as %r", question, text)
    return text
