"""End to end with the real default model (Qwen2.5-Coder-1.5B, llama.cpp) on a small real index.

Slow (the model answers in seconds to tens of seconds on 2 cores), so marked `slow`.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from shell.cli import main

pytestmark = pytest.mark.slow


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
@pytest.mark.parametrize("question, script", [
    ("ALBERT와 ELECTRA 차이?", r"[\uac00-\ud7a3]"),
    ("ALBERT和ELECTRA有什么区别？", r"[\u4e00-\u9fff]"),
    ("What is the difference between ALBERT and ELECTRA?", r"[A-Za-z]"),
])
def test_comparison_is_answered_in_the_question_language_with_citations(
    small_index, question, script
):
    out = _ask(small_index, question)
    assert not out["abstained"], out
    assert re.search(script, re.sub(r"[A-Za-z0-9\[\]().,%\- ]", "", out["answer"]) or "x") \
        or script == r"[A-Za-z]"
    cited = {c["doc_id"] for c in out["citations"]}
    assert cited >= {"1909.11942", "2003.10555"}, out  # both papers, each side read alone
    assert all(c["quote"] for c in out["citations"])
    assert out["timings"]["first_token_s"] > 0


def test_question_outside_the_corpus_abstains(small_index):
    out = _ask(small_index, "2024년 한국 프로야구 우승팀은?")
    assert out["abstained"] and out["citations"] == []
    assert "찾을 수 없습니다" in out["answer"]
