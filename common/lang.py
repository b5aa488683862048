"""Detect a text's language from its script (Hangul -> ko, Han -> zh, else en).

Questions and notes in this corpus are Korean, Chinese or English, and the scripts tell them
apart without a model: any real share of Hangul means Korean (Korean text often carries Han
characters and Latin terms), Han without Hangul means Chinese, anything else English.
Used when a document is read (ingest) and when a question is asked (rag).
"""

from __future__ import annotations

import re
from typing import Literal

Lang = Literal["ko", "zh", "en"]

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_LETTER = re.compile(r"[^\W\d_]")


def script_counts(text: str) -> dict[str, int]:
    """Count Hangul, Han, kana and all letters in `text`."""
    return {
        "hangul": len(_HANGUL.findall(text)),
        "han": len(_HAN.findall(text)),
        "kana": len(_KANA.findall(text)),
        "letters": len(_LETTER.findall(text)),
    }


def detect_lang(text: str) -> Lang:
    """Return "ko", "zh" or "en" for `text` (anything not Korean or Chinese counts as "en").

    >>> detect_lang("ALBERT와 ELECTRA 차이?"), detect_lang("ALBERT和ELECTRA有什么区别？")
    ('ko', 'zh')
    """
    c = script_counts(text)
    if c["hangul"] and c["hangul"] >= 0.05 * max(c["han"] + c["hangul"], 1):
        return "ko"
    if c["han"] and not c["kana"]:
        return "zh"
    return "en"


def is_foreign(text: str) -> bool:
    """True when `text` is mostly letters of a script we do not handle (Cyrillic, Arabic...).

    Japanese (kana) counts as foreign too. Used to answer such questions in English, clearly.
    """
    c = script_counts(text)
    latin = len(re.findall(r"[A-Za-z\u00c0-\u024f]", text))
    ours = c["hangul"] + c["han"] + latin
    return c["letters"] > 0 and (c["kana"] > 0 or ours < 0.5 * c["letters"])


def written_in(text: str, lang: Lang) -> bool:
    """True when `text` reads as `lang`: Korean needs Hangul, Chinese Han without Hangul,
    English mostly Latin letters. Latin technical terms (ALBERT, BLEU) do not count against
    a Korean or Chinese answer.

    >>> written_in("ALBERT는 파라미터를 공유합니다 [1].", "ko"), written_in("ALBERT shares.", "ko")
    (True, False)
    """
    c = script_counts(text)
    if lang == "ko":
        return c["hangul"] >= 2
    if lang == "zh":
        return c["han"] >= 2 and c["hangul"] == 0 and c["kana"] == 0
    return c["hangul"] + c["han"] + c["kana"] <= 0.2 * max(c["letters"], 1)
