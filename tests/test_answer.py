"""The answer chain with a scripted chat model (the edge of the world) over a real index.

Retrieval, embeddings, citation checking and language checks are all real; only the LLM's
replies are scripted, so each test pins one behaviour: invented markers dropped, uncited
sentences repaired, wrong language translated once, abstention honoured.
"""

from __future__ import annotations

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.answer import Assistant
from rag.cite import parse_markers
from rag.prompts import ABSTAIN
from rag.retrieve import Retriever


class Recorder(BaseCallbackHandler):
    """Keeps the messages each model call received."""

    def __init__(self) -> None:
        self.calls: list[list] = []

    def on_chat_model_start(self, serialized, messages, **kwargs) -> None:
        self.calls.append(messages[0])


@pytest.fixture(scope="module")
def retriever(small_index):
    return Retriever(small_index)


KO_QUOTE = "(인용문의 한국어 번역)"  # what the scripted model says when asked to translate


def scripted(*replies: str):
    recorder = Recorder()
    model = GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]),
                                 callbacks=[recorder])
    return model, recorder


def _ask(retriever, question, *replies, english: bool = True):
    """Ask with scripted replies; `english`: read a Korean/Chinese question in English."""
    model, recorder = scripted(*replies)
    streamed: list[str] = []
    settings = retriever.settings.model_copy(update={"read_in_english": english})
    answer = Assistant(settings, retriever, model).ask(question, streamed.append)
    return answer, recorder, "".join(streamed)


def test_prompt_numbers_passages_and_names_the_language(retriever):
    answer, rec, streamed = _ask(
        retriever, "DistilBERT는 BERT 대비 얼마나 작은가?",
        "DistilBERT is 40% smaller than BERT [1].", "DistilBERT는 BERT보다 40% 작습니다 [1].",
        KO_QUOTE)
    prompt = rec.calls[0][-1].content
    assert "[1] (DistilBERT) " in prompt and "Answer in English" in prompt  # read in English
    assert "DistilBERT는 BERT 대비 얼마나 작은가?" in prompt
    assert "Korean" in rec.calls[1][-1].content  # then the checked answer is translated
    assert answer.text == "DistilBERT는 BERT보다 40% 작습니다 [1]."
    assert streamed.startswith("DistilBERT is")  # the draft reached the callback
    assert not answer.abstained and answer.citations[0].doc_id == "1910.01108"
    assert answer.lang == "ko" and answer.timings["first_token_s"] > 0


def test_by_default_a_korean_question_is_read_in_korean(retriever):
    answer, rec, _ = _ask(retriever, "DistilBERT는 BERT 대비 얼마나 작은가?",
                          "DistilBERT는 BERT보다 40% 작습니다 [1].", KO_QUOTE, english=False)
    assert "Answer in Korean" in rec.calls[0][-1].content
    assert answer.text == "DistilBERT는 BERT보다 40% 작습니다. [1]"
    assert answer.citations[0].translation == KO_QUOTE  # the English quote, translated


def test_comparison_reads_each_paper_on_its_own_and_cites_both(retriever):
    answer, rec, streamed = _ask(
        retriever, "ALBERT와 ELECTRA 차이?",
        "ALBERT presents two parameter-reduction techniques to lower memory consumption and "
        "increase the training speed of BERT [1].",
        "ELECTRA trains a discriminator to predict whether each token was replaced by a "
        "generator sample [1].",
        "ALBERT는 메모리 사용을 줄이고 BERT의 학습 속도를 높이는 두 가지 파라미터 감소 기법을 "
        "제시합니다 [1]. ELECTRA는 각 토큰이 생성기 샘플로 교체되었는지 예측하는 판별기를 "
        "학습합니다 [2].", KO_QUOTE, KO_QUOTE)
    first, second = (call[-1].content for call in rec.calls[:2])
    assert "key idea of ALBERT" in first and "(ALBERT)" in first and "(ELECTRA)" not in first
    assert "key idea of ELECTRA" in second and "(ELECTRA)" in second and "(ALBERT)" not in second
    assert streamed.startswith("ALBERT presents") and "ELECTRA trains" in streamed
    assert [c.doc_id for c in answer.citations] == ["1909.11942", "2003.10555"], answer
    assert answer.text.index("[1]") < answer.text.index("ELECTRA는") < answer.text.index("[2]")


def test_comparison_side_the_model_cannot_answer_is_left_out(retriever):
    answer, rec, _ = _ask(
        retriever, "ALBERT와 ELECTRA 차이?", ABSTAIN["en"],
        "ELECTRA trains a discriminator to predict whether each token was replaced by a "
        "generator sample [1].",
        "ELECTRA는 각 토큰이 생성기 샘플로 교체되었는지 예측하는 판별기를 학습합니다 [1].",
        KO_QUOTE)
    assert len(rec.calls) == 4 and not answer.abstained
    assert [c.doc_id for c in answer.citations] == ["2003.10555"]
    assert ABSTAIN["ko"] not in answer.text


def test_invented_markers_are_dropped(retriever):
    answer, _, _ = _ask(retriever, "What does DistilBERT's triple loss combine?",
                        "DistilBERT combines a distillation loss, a masked language "
                        "modeling loss and a cosine embedding loss [9].")
    assert 9 not in parse_markers(answer.text)
    assert all(1 <= c.n <= len(answer.passages) for c in answer.citations)
    # the sentence was true, so the best-supporting passage was attached instead
    assert answer.citations and answer.citations[0].doc_id == "1910.01108"
    assert answer.citations[0].quote


def test_uncited_korean_sentence_gets_a_citation(retriever):
    answer, _, _ = _ask(retriever, "DistilBERT는 BERT 대비 얼마나 작고 빠른가?",
                        "DistilBERT is 40% smaller than BERT.",
                        "DistilBERT는 BERT보다 40% 작습니다 [1].", KO_QUOTE)
    assert answer.citations, answer
    assert answer.citations[0].doc_id == "1910.01108"
    assert "[1]" in answer.text


def test_answer_in_wrong_language_is_translated_once(retriever):
    answer, rec, _ = _ask(retriever, "How much smaller than BERT is DistilBERT?",
                          "DistilBERT는 BERT보다 40% 작습니다 [1].",
                          "DistilBERT is 40% smaller than BERT [1].")
    assert len(rec.calls) == 2 and "English" in rec.calls[1][-1].content
    assert answer.text.startswith("DistilBERT is") and answer.lang == "en"


def test_model_saying_it_cannot_find_abstains(retriever):
    answer, _, _ = _ask(retriever, "ALBERT는 몇 개의 GPU로 학습했나?", ABSTAIN["ko"])
    assert answer.abstained and answer.text == ABSTAIN["ko"] and not answer.citations


def test_question_far_outside_the_corpus_abstains_without_the_model(retriever):
    answer, rec, _ = _ask(retriever, "What is the capital city of Australia?",
                          "Canberra is the capital [1].")
    assert answer.abstained and not answer.citations
    assert rec.calls == []  # decided by retrieval; the model was never asked


def test_unsupported_claim_is_not_cited(retriever):
    answer, _, _ = _ask(retriever, "What does DistilBERT's triple loss combine?",
                        "DistilBERT combines a distillation loss and a cosine loss [1]. "
                        "It was trained on 4096 TPUs in Antarctica [2].")
    assert any("Antarctica" in s for s in answer.unsupported)
    assert "Antarctica" not in answer.text and "[?]" not in answer.text  # never shown


def test_a_wrong_number_is_replaced_by_what_the_paper_says(retriever):
    answer, _, _ = _ask(retriever, "How much smaller than BERT is DistilBERT?",
                        "DistilBERT is 45% smaller than BERT [1].")
    assert "45" not in answer.text and "40%" in answer.text and not answer.abstained
    assert answer.text.startswith(answer.citations[0].quote)  # the paper's own sentence
    assert "45%" in answer.unsupported[0]


def test_the_question_echoed_back_is_not_shown(retriever):
    answer, _, _ = _ask(retriever, "How much smaller than BERT is DistilBERT?",
                        "DistilBERT is 40% smaller than BERT [1]. "
                        "How much faster than BERT is DistilBERT? [1]")
    assert "40%" in answer.text and "faster" not in answer.text
    assert any("faster" in s for s in answer.unsupported)


def test_a_translation_that_changes_a_number_loses_its_sentence(retriever):
    question = "DistilBERT는 BERT보다 얼마나 작은가?"
    answer, _, _ = _ask(retriever, question, "DistilBERT is 40% smaller than BERT [1].",
                        "DistilBERT는 BERT보다 50% 작습니다 [1].")
    assert answer.abstained and "50" not in answer.text
    assert any("50%" in s for s in answer.unsupported)


def test_a_which_question_is_answered_with_the_papers_name_and_id(retriever):
    answer, _, _ = _ask(
        retriever, "Which model is trained with a triple loss of distillation, masked "
        "language modeling and cosine-distance terms?",
        "It combines a distillation loss, a masked language modeling loss and a cosine "
        "embedding loss [1].")
    assert "DistilBERT" in answer.text and "arXiv:1910.01108" in answer.text
    assert answer.citations[0].doc_id == "1910.01108"


class NoModel:
    """Any call means `plan` reached for the LLM, which it must never do."""

    def __getattr__(self, name):
        raise AssertionError(f"plan() touched the model ({name})")


def test_plan_decides_the_readings_without_the_model(retriever):
    assistant = Assistant(retriever.settings, retriever, NoModel())
    one = assistant.plan("DistilBERT는 BERT 대비 얼마나 작은가?")
    assert len(one.readings) == 1 and one.lang == "ko"
    assert "DistilBERT" in one.readings[0].inputs["sources"]
    # the question names DistilBERT: it is read from that paper alone, not from the notes
    assert {p.doc_id for p in one.passages} != {"1910.01108"}
    assert {p.doc_id for p in one.readings[0].passages} == {"1910.01108"}
    assert sum(len(p.text) for p in one.readings[0].passages) < \
        sum(len(p.text) for p in one.passages)  # focused: fewer words than retrieved
    both = assistant.plan("ALBERT와 ELECTRA 차이?")
    assert [{p.doc_id for p in r.passages} for r in both.readings] == \
        [{"1909.11942"}, {"2003.10555"}]
    assert assistant.plan("What is the capital of Australia?").readings == []
