"""Papers named in a question: name table, matching rules, and the retriever's named leg."""

from __future__ import annotations

from rag.named import named_papers, paper_names
from rag.retrieve import Retriever


def test_names_come_from_the_manifest_and_from_short_titles():
    names = paper_names({
        "1910.10683": "Exploring the Limits of Transfer Learning with a Unified Text-to-Text",
        "2001.08361": "Scaling Laws for Neural Language Models",
        "9999.00001": "GizmoNet: A Paper the Manifest Does Not List",
        "9999.00002": "Attention: an ordinary first word",
        "my_note": "my_note",
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


def test_named_leg_ranks_the_named_papers_own_chunks(small_index):
    retriever = Retriever(small_index)
    question = "DistilBERT用了多少层？"  # Chinese around a Latin name
    legs = retriever.legs(question, "zh")
    named_docs = {retriever.index.chunks[r].doc_id for r in legs["named"]}
    assert named_docs == {"1910.01108"}
    hits = retriever.search(question, 3)
    assert hits[0].chunk.doc_id == "1910.01108" and "named" in hits[0].legs
    assert "named" not in retriever.legs("参数共享有什么好处？", "zh")
