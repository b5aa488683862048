"""`rag eval` scoring on a tiny gold set: every metric against values computed by hand.

`test_scores_*` score the hand-written records of tests/eval_kit.py (no index, no model),
so each metric's value can be worked out on paper (the arithmetic is in the kit's
comments); then the report's tables and plots, and the check of system names. The real
pipeline, interrupted and resumed: tests/test_eval_e2e.py.
"""

from __future__ import annotations

import json

import pytest

from eval.report import write_report
from eval.run import score
from eval.systems import parse_systems
from tests.eval_kit import HAND, HAND_GOLD, HAND_RECORDS, check


def test_scores_match_hand_computed_values():
    scores = score(HAND_GOLD, HAND_RECORDS)
    check(scores["overall"], HAND["overall"])
    for lang in ("en", "ko", "zh"):
        check(scores["by_lang"][lang], HAND[lang])
    rows = {q["id"]: q for q in scores["questions"]}
    assert rows["en-1"]["facts_hit"] == ["alpha"] and rows["en-1"]["facts_missed"] == ["beta"]
    assert rows["ko-4"]["rank"] == 7 and rows["ko-4"]["lang_match"] is False
    assert rows["zh-7"]["error"] and rows["zh-7"]["fact_recall"] == 0


def test_retrieval_only_scores_leave_answer_metrics_empty():
    records = [r | {"mode": "retrieval", "answer": None, "cited": []} for r in HAND_RECORDS]
    overall = score(HAND_GOLD, records, retrieval_only=True)["overall"]
    assert overall["mrr"] == pytest.approx(HAND["overall"]["mrr"])
    assert overall["retrieve_p50_s"] == pytest.approx(0.35)
    assert overall["fact_recall"] is overall["answer_p50_s"] is overall["lang_match"] is None


def test_report_shows_tables_plots_and_why_questions_failed(tmp_path):
    scores = score(HAND_GOLD, HAND_RECORDS)
    path = write_report({"seed": scores, "bm25": scores}, tmp_path, tmp_path / "dev.jsonl")
    text = path.read_text()
    assert "| system | lang | recall@1 | recall@5 | recall@10 | mrr |" in text
    assert "| seed | ko | 0.00 | 0.00 | 1.00 | 0.14 |" in text
    assert "**failed**: RuntimeError: boom" in text and "| alpha | beta |" in text
    for family in ("retrieval", "citations", "answers", "latency"):
        assert (tmp_path / f"{family}.png").stat().st_size > 1000
    assert json.loads((tmp_path / "scores.json").read_text())["bm25"]["overall"]["mrr"] > 0


def test_system_names_are_checked():
    assert parse_systems(None) == ["seed"] and parse_systems("bm25, naive") == ["bm25", "naive"]
    with pytest.raises(ValueError, match="unknown system nope"):
        parse_systems("seed,nope")
