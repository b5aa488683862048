"""`rag eval` end to end: the real Seed pipeline over the `small_index` fixture.

A scripted reader answers by question (`Scripted`); the run is interrupted (Ctrl-C at
ko-1), resumed without redoing answered questions, and its scores are checked by hand; a
failing question is logged and scored wrong; the CLI's retrieval-only JSON; the baselines
(plain BM25, the LangChain tutorial's naive RAG). Scoring alone: tests/test_eval.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from eval.gold import load_gold
from eval.run import run_one, run_systems, score
from eval.systems import NaiveSystem, PlainBM25, make_systems, naive_store
from rag.prompts import ABSTAIN
from rag.retrieve import Retriever
from shell.cli import main
from tests.eval_kit import HAND_GOLD, A, B, C, check


class Scripted(GenericFakeChatModel):
    """A reader answering by the question in the last message; an exception is raised."""

    script: dict[str, Any] = {}
    asked: list[str] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        prompt = messages[-1].content
        if prompt.startswith("Translate this text into"):  # a quote shown translated
            tag = "(번역) " if "Korean" in prompt.split("\n")[0] else "（译文）"
            reply = AIMessage(tag + prompt.split("\n\n", 1)[1])
            return ChatResult(generations=[ChatGeneration(message=reply)])
        key = next(k for k in self.script if k in prompt)
        self.asked.append(key)
        if isinstance(self.script[key], BaseException):
            raise self.script[key]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.script[key]))])


def reader(**changes) -> Scripted:
    return Scripted(messages=iter([]), script=REPLIES | changes, asked=[])


Q = {"en1": "What does DistilBERT's triple loss combine?",
     "en2": "What replaces next sentence prediction in ALBERT?",
     "en3": "What is the capital city of Australia?",
     "ko1": "DistilBERT는 BERT 대비 얼마나 작고 빠른가?", "ko2": "ALBERT는 몇 개의 GPU로 학습했나?",
     "zh1": "ALBERT如何减少参数量？", "zh2": "ELECTRA的预训练任务是什么？",
     "zh3": "2024年诺贝尔文学奖得主是谁？"}
REPLIES: dict[str, Any] = {
    Q["en1"]: "DistilBERT combines a distillation loss, a masked language modeling loss and "
              "a cosine embedding loss [1].",
    Q["en2"]: "ALBERT uses a sentence-order prediction (SOP) loss instead of NSP [1].",
    Q["en3"]: "Canberra [1].",
    Q["ko1"]: "DistilBERT는 BERT보다 40% 작고 60% 빠르며 성능의 97%를 유지합니다 [1].",
    Q["ko2"]: ABSTAIN["ko"],
    Q["zh1"]: "ALBERT通过跨层参数共享（cross-layer parameter sharing）和嵌入参数分解"
              "（factorized embedding parameterization）减少参数量 [1]。",
    Q["zh2"]: RuntimeError("reader crashed"),  # a failing question
    Q["zh3"]: ABSTAIN["zh"],
}
TINY = [("en-1", "en1", [B], [["distillation"], ["masked language", "mlm"], ["cosine"]]),
        ("en-2", "en2", [A], [["sentence-order", "sop"], ["coherence"]]),
        ("en-3", "en3", None, []), ("ko-1", "ko1", [B], [["40"], ["60"], ["97"]]),
        ("ko-2", "ko2", None, []), ("zh-1", "zh1", [A], [["参数共享"], ["分解", "factoriz"]]),
        ("zh-2", "zh2", [C], [["替换"]]), ("zh-3", "zh3", None, [])]


@pytest.fixture(scope="module")
def tiny_gold(tmp_path_factory):
    path = tmp_path_factory.mktemp("gold") / "tiny.jsonl"
    lines = [json.dumps({"id": i, "lang": i[:2], "question": Q[k], "sources": s or [],
                         "facts": f, "answerable": s is not None}, ensure_ascii=False)
             for i, k, s, f in TINY]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def retriever(small_index):
    return Retriever(small_index)


@pytest.fixture(scope="module")
def resumed(tiny_gold, retriever, tmp_path_factory):
    """Run seed, interrupted at ko-1 (Ctrl-C), then resumed: (scores, first, second, log)."""
    gold, log = load_gold(tiny_gold), tmp_path_factory.mktemp("eval") / "tiny.results.jsonl"
    first = reader(**{Q["ko1"]: KeyboardInterrupt()})
    systems = make_systems(["seed"], retriever.settings, llm=first, retriever=retriever)
    with pytest.raises(KeyboardInterrupt):
        run_systems(gold, systems, log, show_progress=False)
    done = [json.loads(line)["id"] for line in log.read_text().splitlines()]
    second = reader()
    systems = make_systems(["seed"], retriever.settings, llm=second, retriever=retriever)
    records = run_systems(gold, systems, log, resume=True, show_progress=False)["seed"]
    return score(gold, records), first.asked, second.asked, done


def test_resume_finishes_without_redoing_answered_questions(resumed):
    scores, first, second, done = resumed
    assert done == ["en-1", "en-2", "en-3"]  # en-3 abstained before the reader was asked
    assert first == [Q["en1"], Q["en2"], Q["ko1"]]
    assert Q["en1"] not in second and Q["en2"] not in second and second[0] == Q["ko1"]
    assert [q["id"] for q in scores["questions"]] == [t[0] for t in TINY]


class Broken:
    name = "broken"

    def run(self, question: str, retrieval_only: bool = False):
        raise ValueError(f"cannot handle {question!r}")


def test_failing_question_is_logged_and_scored_wrong(resumed, caplog):
    zh2 = next(q for q in resumed[0]["questions"] if q["id"] == "zh-2")
    assert zh2["error"] == "RuntimeError: reader crashed"
    assert zh2["rank"] is None and zh2["fact_recall"] == 0 and not zh2["lang_match"]
    record = run_one(Broken(), HAND_GOLD[0], "full")
    assert record["error"].startswith("ValueError: cannot handle") and not record["retrieved"]
    assert "broken failed on en-1" in caplog.text


def test_end_to_end_scores_hold_what_the_system_promises(resumed):
    """Properties of a run over the real small index, not today's ranks: each answerable
    question that ran finds its paper in the top 5 and cites it, and nothing else; the
    questions outside the papers abstain and no answerable one does; every answer is in its
    question's language; a reply the paper supports (en-1, zh-1) keeps all its facts; the
    failed question (zh-2) counts as wrong everywhere; the aggregates are the rows' means."""
    scores = resumed[0]
    rows = {r["id"]: r for r in scores["questions"]}
    ran = [r for r in rows.values() if r["answerable"] and not r["error"]]
    assert sorted(r["id"] for r in ran) == ["en-1", "en-2", "ko-1", "zh-1"]
    for r in ran:
        assert r["rank"] is not None and r["rank"] <= 5, r
        assert r["cited"] and set(r["cited"]) <= set(r["sources"]), r
        assert not r["abstained"] and r["lang_match"], r
    for r in rows.values():
        if not r["answerable"]:
            assert r["abstained"] and r["lang_match"] and r["cited"] == [], r
    assert rows["en-1"]["fact_recall"] == 1 and rows["zh-1"]["fact_recall"] == 1
    zh2 = rows["zh-2"]
    assert zh2["rank"] is None and zh2["fact_recall"] == 0 and not zh2["lang_match"]

    overall, answerable = scores["overall"], [r for r in rows.values() if r["answerable"]]
    check(overall, {
        "recall@5": sum(r["rank"] is not None and r["rank"] <= 5 for r in answerable) / 5,
        "mrr": sum(1 / r["rank"] for r in answerable if r["rank"]) / 5,
        "citation_precision": 1, "citation_recall": 4 / 5,
        "fact_recall": sum(r["fact_recall"] for r in answerable) / 5,
        "lang_match": 7 / 8, "abstention_accuracy": 1, "false_abstention": 0})
    assert 0 < overall["retrieve_p50_s"] <= overall["retrieve_p95_s"]
    assert 0 < overall["answer_p50_s"] <= overall["answer_p95_s"]


def test_cli_retrieval_only_json(small_index, tiny_gold, tmp_path):
    args = ["eval", "--gold", str(tiny_gold), "--retrieval-only", "--json"]
    result = CliRunner().invoke(main, args, env={"RAG_HOME": str(small_index.home)})
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"overall", "by_lang", "by_shape", "questions"} and set(out["by_lang"]) >= {
        "ko", "zh", "en"}
    check(out["by_lang"]["en"], {"recall@5": 1, "fact_recall": None,
                                 "answer_p50_s": None, "lang_match": None})
    check(out["by_lang"]["ko"], {"recall@5": 1, "citation_recall": None})
    assert out["overall"]["retrieve_p50_s"] > 0 and len(out["questions"]) == len(TINY)
    bad = CliRunner().invoke(main, ["eval", "--gold", str(tiny_gold), "--systems", "x"])
    assert bad.exit_code == 2 and "unknown system x" in bad.output


def test_bm25_baseline_uses_plain_tokens(retriever):
    """bm25s's default regex keeps "ALBERT는" whole, so a Korean question meets no paper."""
    plain = PlainBM25(retriever.index)
    assert plain.search(Q["ko2"], 10) == []
    assert plain.search(Q["en1"], 10)[0].chunk.doc_id == B


def test_bm25_system_answers_through_the_same_assistant(retriever):
    """The baseline reads with Seed's Assistant, whose relevance gate embeds the question."""
    systems = make_systems(["bm25"], retriever.settings, llm=reader(), retriever=retriever)
    result = systems["bm25"].run(Q["en1"])
    assert result.retrieved and result.retrieved[0] == B
    plan = systems["bm25"].assistant.plan(Q["en1"])  # what it reads: the baseline's hits
    assert plan.hits and all(set(h.legs) == {"bm25"} for h in plan.hits)
    assert result.answer is not None and not result.answer.abstained


def test_naive_baseline_is_the_langchain_tutorial(retriever, tmp_path):
    """Tutorial splits over one re-extracted paper, FAISS, top-4, markers taken as written."""
    index = retriever.index
    one = replace(index, meta=replace(index.meta, docs={B: index.meta.docs[B]}))
    store = naive_store(one, retriever.embedders[0], tmp_path)
    texts = [d.page_content for d in store.docstore._dict.values()]
    assert len(texts) > 20 and max(map(len, texts)) <= 1000
    llm = reader(**{Q["en1"]: "Three losses [1][9]."})
    res = NaiveSystem(naive_store(one, retriever.embedders[0], tmp_path), llm).run(Q["en1"])
    assert res.retrieved == [B] * 10 and len(res.answer.passages) == 4
    assert [c.doc_id for c in res.answer.citations] == [B, ""]  # [9] cites nothing: wrong
    assert not res.answer.abstained and res.answer_s >= res.retrieve_s
