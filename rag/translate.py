"""Rag stage: translation with the reader model, for answers and quotes.

Two uses: an answer the model wrote in the wrong language is translated once into the
question's; a quote from an English paper shown under a Korean or Chinese answer carries a
translation beside it. The model keeps numbers and Latin names as they are most of the
time, not always, so callers check what comes back (rag/ground.py) before showing it.

    >>> from langchain_core.language_models import FakeListChatModel  # scripted: the reader
    >>> translator = Translator(FakeListChatModel(responses=["입력 토큰의 15%를 마스킹합니다."]))
    >>> translator("We mask 15% of the input tokens.", "ko")
    '입력 토큰의 15%를 마스킹합니다.'
    >>> translator("ALBERT는 층 간 파라미터를 공유한다.", "ko")  # already Korean: kept as is
    'ALBERT는 층 간 파라미터를 공유한다.'
"""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from common.lang import detect_lang, written_in
from rag.prompts import LANG_NAMES, translate_prompt

log = logging.getLogger(__name__)

MAX_CACHED = 256


class Translator:
    """`translator(text, lang)`: `text` in `lang` (Korean, Chinese or English), cached."""

    def __init__(self, llm: BaseChatModel) -> None:
        self.llm = llm
        self._cache: dict[tuple[str, str], str] = {}

    def __call__(self, text: str, lang: str) -> str:
        if written_in(text, lang) and detect_lang(text) == lang:
            return text
        key = (text, lang)
        if key not in self._cache:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            budget = min(400, max(64, 3 * len(text) // 2))  # about as long as the text
            llm = self.llm.bind(max_tokens=budget)
            chain = translate_prompt() | llm | StrOutputParser()
            out = chain.invoke({"language": LANG_NAMES[lang], "text": text}).strip()
            log.info("translated into %s: %s -> %s", lang, text[:60], out[:60])
            self._cache[key] = out
        return self._cache[key]
