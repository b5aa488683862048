"""The hand-worked gold set of tests/test_eval*.py, and `check` to compare scores with it.

Seven gold questions (`HAND_GOLD`, made with `gq`), one hand-written run record each
(`HAND_RECORDS`, made with `rec`: no index, no model), and every metric's value worked out
on paper (`HAND`; the arithmetic is in the comments). A, B, C are the three committed papers.
"""

from __future__ import annotations

import pytest

from eval.gold import GoldQuestion
from eval.run import METRICS
from rag.prompts import ABSTAIN

A, B, C = "1909.11942", "1910.01108", "2003.10555"


def gq(id_: str, sources=(), facts=(), answerable=True) -> GoldQuestion:
    return GoldQuestion(id_, id_[:2], f"question {id_}", tuple(sources),
                        tuple(tuple(f) for f in facts), answerable)


def rec(id_, retrieved=(), answer="", cited=(), abstained=False, r_s=None, a_s=None,
        error=None) -> dict:
    return {"system": "seed", "id": id_, "mode": "full", "retrieved": list(retrieved),
            "retrieve_s": r_s, "answer": answer, "abstained": abstained, "cited": list(cited),
            "answer_s": a_s, "error": error}


HAND_GOLD = [
    gq("en-1", [A], [["alpha"], ["beta"]]), gq("en-2", [B, C], [["delta"]]),
    gq("en-3", answerable=False), gq("ko-4", [A], [["파라미터 공유", "parameter sharing"]]),
    gq("ko-5", answerable=False), gq("zh-6", [C], [["参数共享"], ["x"]]), gq("zh-7", [C], [["y"]]),
]
HAND_RECORDS = [
    rec("en-1", [A, B], "alpha and gamma", [A, B], r_s=0.1, a_s=1.0),  # rank 1, facts 1/2
    rec("en-2", [A, A, C], "Delta is it.", [C], r_s=0.2, a_s=2.0),  # rank 3
    rec("en-3", [A], "Something made up [1]", [A], r_s=0.3, a_s=3.0),  # should have abstained
    rec("ko-4", [B] * 6 + [A], "ALBERT uses parameter sharing [1].", [A], r_s=0.4, a_s=4.0),
    rec("ko-5", [], ABSTAIN["ko"], abstained=True, r_s=0.5, a_s=5.0),
    rec("zh-6", [A, B], ABSTAIN["zh"], abstained=True, r_s=0.6, a_s=6.0),  # false abstention
    rec("zh-7", error="RuntimeError: boom"),  # failed: scored wrong everywhere
]
# answerable: en-1 (rank 1), en-2 (3), ko-4 (7), zh-6 (none), zh-7 (failed)
HAND = {
    "overall": {"recall@1": 1 / 5, "recall@5": 2 / 5, "recall@10": 3 / 5,
                "mrr": (1 + 1 / 3 + 1 / 7) / 5, "citation_precision": 3 / 4,  # A B C | A
                "citation_recall": 3 / 5, "fact_recall": (0.5 + 1 + 1) / 5, "all_facts": 2 / 5,
                "lang_match": 5 / 7,  # ko-4 answered in English, zh-7 failed
                "abstention_accuracy": 1 / 2, "false_abstention": 1 / 5,
                "retrieve_p50_s": 0.35, "retrieve_p95_s": 0.575,  # 0.5 + 0.75 * 0.1
                "answer_p50_s": 3.5, "answer_p95_s": 5.75},
    "en": {"recall@1": 0.5, "recall@5": 1, "recall@10": 1, "mrr": (1 + 1 / 3) / 2,
           "citation_precision": 2 / 3, "citation_recall": 1, "fact_recall": 0.75,
           "all_facts": 0.5, "lang_match": 1, "abstention_accuracy": 0,
           "false_abstention": 0, "retrieve_p50_s": 0.2, "retrieve_p95_s": 0.29,
           "answer_p50_s": 2.0, "answer_p95_s": 2.9},
    "ko": {"recall@1": 0, "recall@5": 0, "recall@10": 1, "mrr": 1 / 7,
           "citation_precision": 1, "citation_recall": 1, "fact_recall": 1, "all_facts": 1,
           "lang_match": 0.5, "abstention_accuracy": 1, "false_abstention": 0,
           "retrieve_p50_s": 0.45, "retrieve_p95_s": 0.495, "answer_p50_s": 4.5,
           "answer_p95_s": 4.95},
    "zh": {"recall@1": 0, "recall@5": 0, "recall@10": 0, "mrr": 0,
           "citation_precision": None, "citation_recall": 0, "fact_recall": 0,
           "all_facts": 0, "lang_match": 0.5, "abstention_accuracy": None,
           "false_abstention": 0.5, "retrieve_p50_s": 0.6, "retrieve_p95_s": 0.6,
           "answer_p50_s": 6.0, "answer_p95_s": 6.0},
}


def check(got: dict, want: dict) -> None:
    assert set(got) == set(METRICS)
    for metric, value in want.items():
        assert got[metric] == (None if value is None else pytest.approx(value)), metric
