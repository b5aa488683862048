"""Papers named in a question: name table, matching rules, and the retriever's named leg."""

from __future__ import annotations

import pytest

from rag.named import named_as_kind, named_papers, paper_names, unseen_names
from rag.retrieve import Retriever
from rag.which import asks_which


def test_names_come_from_the_manifest_and_from_short_titles():
    names = paper_names({
        "1910.10683": {"title": "Exploring the Limits of Transfer Learning with a Unified"},
        "2001.08361": {"title": "Scaling Laws for Neural Language Models"},
        "9999.00001": {"title": "GizmoNet: A Paper the Manifest Does Not List"},
        "9999.00002": {"title": "Attention: an ordinary first word"},
        "my_note": {"title": "my_note"},
    })
    assert names["T5"] == "1910.10683" and names["Raffel"] == "1910.10683"
    assert names["Kaplan"] == "2001.08361"
    assert names["GizmoNet"] == "9999.00001"
    assert "Attention" not in names and "my_note" not in names


def test_matching_is_on_whole_latin_words_in_any_language():
    names = {"T5": "t5", "mT5": "mt5", "BERT": "bert", "ALBERT": "albert", "GPT-1": "gpt1"}
    assert named_papers("T5의 사전학습 데이터셋 이름은?", names) == ["t5"]
    assert named_papers("mT5和T5有什么区别？", names) == ["mt5", "t5"]
    assert named_papers("How much smaller is ALBERT-large than BERT-large?", names) == [
        "albert", "bert"]
    assert named_papers("GPT-1使用的预训练语料是什么？", names) == ["gpt1"]
    assert named_papers("what is bert?", names) == []  # names are case-sensitive
    assert named_papers("GPT-12 and ALBERTA", names) == []
    # a name ending in a letter may carry a size or version; one ending in a digit may not
    assert named_papers("How much smaller is TinyBERT4 than BERT-base?", names | {
        "TinyBERT": "tinybert"}) == ["tinybert", "bert"]
    assert named_papers("T50 results", names) == []


def test_named_leg_ranks_the_named_papers_own_chunks(small_index):
    retriever = Retriever(small_index)
    question = "DistilBERT用了多少层？"  # Chinese around a Latin name
    legs = retriever.legs(question, "zh")
    named_docs = {retriever.index.chunks[r].doc_id for r in legs["named"]}
    assert named_docs == {"1910.01108"}
    hits = retriever.search(question, 3)
    assert hits[0].chunk.doc_id == "1910.01108" and "named" in hits[0].legs
    assert "named" not in retriever.legs("参数共享有什么好处？", "zh")


def test_model_names_no_passage_mentions_are_unseen():
    names = paper_names({"gpt1": {
        "title": "Improving Language Understanding by Generative Pre-Training"}})
    text = "Flan-PaLM 540B reaches 75.2% on MMLU. TinyBERT4 is 7.5x smaller. OPT-175B ..."
    assert unseen_names("GPT-5의 컨텍스트 길이는?", text, names) == ["GPT-5"]
    assert unseen_names("GPT-1使用的预训练语料是什么？", text, names) == []  # names a paper
    assert unseen_names("What does PaLM-540B score?", text, names) == []  # spelt differently
    assert unseen_names("tinybert4 size, OPT 175B in 2019, top-5?", text, names) == []
    assert unseen_names("LLaMA-2 vs GPT-4", text, names) == ["LLaMA-2", "GPT-4"]


def test_question_about_a_model_no_paper_mentions_abstains(small_index):
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from rag.answer import Assistant

    replies = iter([AIMessage("The generator works best at 1/4 to 1/2 the size of the "
                              "discriminator [1].")])
    assistant = Assistant(small_index, Retriever(small_index),
                          GenericFakeChatModel(messages=replies))
    answer = assistant.ask("How large is the generator of ELECTRA-7 compared to the discriminator?")
    assert answer.abstained and not answer.citations
    assert next(replies, None) is not None  # decided before the model was asked
    replies = iter([AIMessage("The generator works best at 1/4 to 1/2 the size of the "
                              "discriminator [1].")])
    assistant._llm = GenericFakeChatModel(messages=replies)
    answer = assistant.ask("How large is the generator of ELECTRA compared to the discriminator?")
    assert next(replies, None) is None  # the same question without the unknown version is read


def test_a_question_is_about_the_paper_it_names_though_a_note_is_found_first(small_index):
    """A Korean question finds the Korean reading note first (it quotes DistilBERT's triple
    loss); the question is still about the DistilBERT paper, whose passages are read."""
    from rag.answer import Assistant

    question = "DistilBERT의 triple loss는 무엇으로 이루어지나요?"
    assistant = Assistant(small_index)
    unnamed = {f"dense-{i}" for i in range(len(assistant.retriever.embedders))} | {"bm25"}
    found = [h.chunk.doc_id for h in assistant.retriever.search(question, 5, legs=unnamed)]
    assert found[0] == "001_2823b95318a23eab"  # the setting this test is about
    plan = assistant.plan(question)
    assert {p.doc_id for r in plan.readings for p in r.passages} == {"1910.01108"}


def test_a_name_used_for_a_kind_of_model_is_not_the_paper_asked_about():
    names = {"BERT": "bert", "ALBERT": "albert", "GPT-2": "gpt2"}
    kinds = [
        "2단계 증류를 수행한 경량 BERT 모델의 이름은?",
        "Which lightweight BERT variant distils the teacher in two stages?",
        "哪个轻量BERT模型使用两阶段蒸馏？",
        "What is the name of the lighter BERT that shares parameters across layers?",
        "Which BERT-based model replaces NSP with sentence order prediction?",
    ]
    for q in kinds:
        assert named_as_kind(q, named_papers(q, names), names), q
    about = [
        "BERT의 사전학습 목표 이름은?",
        "Which objective did BERT add besides masked language modelling?",
        "GPT-2使用了哪个数据集？",
        "ALBERT와 BERT 모델의 차이는?",  # ALBERT is named as the paper itself
        "What objective did T5 find best, and what is the largest T5 model?",
    ]
    for q in about:
        assert not named_as_kind(q, named_papers(q, names), names), q


def test_names_come_from_the_index_own_record_of_aliases():
    """The index records each document's aliases at ingest; the reading list is only the
    fallback for an index built before it did."""
    names = paper_names({
        "9999.00001": {"title": "Some Paper", "aliases": ["Gizmo"]},
        "1910.10683": {"title": "Exploring the Limits of Transfer Learning", "aliases": []},
        "2003.10555": {"title": "Pre-training Text Encoders as Discriminators"},  # older index
    })
    assert names["Gizmo"] == "9999.00001"
    assert "T5" not in names  # the index says it has none: the manifest is not asked
    assert names["ELECTRA"] == "2003.10555"


def test_ingest_records_a_listed_papers_aliases_in_the_index(small_index):
    from index.backend import open_index

    docs = open_index(small_index).meta.docs
    assert docs["1909.11942"]["aliases"] == ["ALBERT"]
    assert docs["1910.01108"]["aliases"] == ["DistilBERT"]
    assert all(docs[d]["aliases"] == [] for d in docs if not d[0].isdigit())  # the notes


@pytest.mark.parametrize(("question", "lang", "which"), [
    ("哪个对话模型用合理性、具体性和趣味性衡量回答质量？", "zh", True),
    ("哪种预训练方法把输入的一部分词元替换掉？", "zh", True),
    ("哪篇论文提出了注意力机制？", "zh", True),
    ("T5的基线实验使用多大的SentencePiece词表？", "zh", False),
    ("어떤 대화 모델이 외부 도구를 호출하나?", "ko", True),
    ("어떤 모델이 임베딩을 분해하나?", "ko", True),
    ("RoBERTa는 BERT의 어떤 손실을 제거했나?", "ko", False),
    ("Which dialogue model consults a toolset?", "en", True),
    ("What batch size did RoBERTa scale to?", "en", False),
])
def test_a_which_question_may_put_a_word_before_the_thing_it_asks_for(question, lang, which):
    assert asks_which(question, lang) is which
