"""End to end with the real default model (Qwen2.5-Coder-1.5B, llama.cpp) on a small real index.

Slow (the model answers in seconds to tens of seconds on 2 cores), so marked `slow`.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from shell.cli import main

SCRIPTS = {"ko": re.compile(r"[\uac00-\ud7a3]"), "zh": re.compile(r"[\u4e00-\u9fff]"),
           "en": re.compile(r"[A-Za-z]")}


def script_shares(text: str) -> dict[str, float]:
    """Each language's share of the text's letters (Hangul, Han, Latin; marks and digits
    do not count). A Korean or Chinese answer keeps English names (ALBERT, "replaced token
    detection"), so its own script need not be all of it, but it must be most of what is
    not Latin and a good part of the whole."""
    counts = {lang: len(p.findall(text)) for lang, p in SCRIPTS.items()}
    total = sum(counts.values()) or 1
    return {lang: n / total for lang, n in counts.items()}


def in_language(text: str, lang: str) -> bool:
    """True when `text` reads as written in `lang` by its share of scripts."""
    share = script_shares(text)
    if lang == "en":
        return share["en"] >= 0.95
    other = "zh" if lang == "ko" else "ko"
    return share[lang] >= 0.4 and share[other] <= 0.1 * share[lang]


def test_language_rule_counts_shares_not_one_character():
    assert in_language("ALBERT는 층 간 파라미터 공유로 파라미터 수를 줄입니다 [1].", "ko")
    assert in_language("ALBERT通过跨层参数共享减少参数量 [1]。", "zh")
    assert not in_language("ALBERT shares parameters across layers (층) [1].", "ko")
    assert in_language("ALBERT shares parameters across layers [1].", "en")
    assert not in_language("ALBERT는 파라미터를 공유한다 [1].", "en")
    assert not in_language("ALBERT的参数共享 (파라미터 공유) 减少参数", "zh")
    assert not in_language("ALBERT는 参数共享으로 参数量을 줄인다", "ko")


def _ask(settings, question: str) -> dict:
    env = {"RAG_HOME": str(settings.home), "RAG_CACHE_DIR": str(settings.vector_cache),
           "RAG_OFFLINE": "1"}
    result = CliRunner().invoke(main, ["ask", question, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# Issue 3 must-show: the comparison in three languages. It failed in session 1 (the reader
# looped or its Chinese answer failed the citation check) and passes since evidence focusing
# and cross-lingual citation support; it cites both papers since each side is read on its own
# (rag/compare.py). Greedy decoding makes it repeatable on one machine.
@pytest.mark.slow
@pytest.mark.parametrize("question, lang", [
    ("ALBERT와 ELECTRA 차이?", "ko"),
    ("ALBERT和ELECTRA有什么区别？", "zh"),
    ("What is the difference between ALBERT and ELECTRA?", "en"),
])
def test_comparison_is_answered_in_the_question_language_with_citations(
    small_index, question, lang
):
    out = _ask(small_index, question)
    assert not out["abstained"], out
    assert in_language(out["answer"], lang), (script_shares(out["answer"]), out["answer"])
    cited = {c["doc_id"] for c in out["citations"]}
    assert cited >= {"1909.11942", "2003.10555"}, out  # both papers, each side read alone
    assert all(c["quote"] for c in out["citations"])
    assert out["timings"]["first_token_s"] > 0


@pytest.mark.slow
def test_question_outside_the_corpus_abstains(small_index):
    out = _ask(small_index, "2024년 한국 프로야구 우승팀은?")
    assert out["abstained"] and out["citations"] == []
    assert "찾을 수 없습니다" in out["answer"]
