"""A question is parsed once (rag/question.py), and retrieval reads that parse."""

from __future__ import annotations

import dataclasses

from rag.question import Question
from rag.retrieve import Retriever

NAMES = {"ALBERT": "1909.11942", "ELECTRA": "2003.10555", "DistilBERT": "1910.01108"}


def test_parse_finds_language_named_papers_and_sides_in_every_language():
    ko = Question.parse("ALBERT와 ELECTRA의 차이는?", NAMES)
    assert (ko.lang, ko.answer_lang, ko.named, ko.sides) == (
        "ko", "ko", ("1909.11942", "2003.10555"), ("ALBERT", "ELECTRA"))
    zh = Question.parse("DistilBERT用了多少层？", NAMES)
    assert (zh.lang, zh.named, zh.sides) == ("zh", ("1910.01108",), ())
    en = Question.parse("What is the difference between ELECTRA and ALBERT?", NAMES)
    assert (en.lang, en.named, en.sides) == ("en", ("2003.10555", "1909.11942"),
                                             ("ELECTRA", "ALBERT"))
    assert Question.parse("ALBERT and ELECTRA results", NAMES).sides == ()  # no comparing cue
    ru = Question.parse("Чем ALBERT отличается от ELECTRA?", NAMES)
    assert (ru.lang, ru.answer_lang, ru.named) == ("en", "en", ("1909.11942", "2003.10555"))


def test_search_reads_the_parsed_question(small_index):
    retriever = Retriever(small_index)
    parsed = Question.parse("DistilBERT用了多少层？", retriever.names)
    assert parsed.named == ("1910.01108",)
    assert retriever.search(parsed, 5) == retriever.search(parsed.text, 5)
    assert any("named" in h.legs for h in retriever.search(parsed, 5))
    unnamed = dataclasses.replace(parsed, named=())  # what the parse said, not the text
    assert not any("named" in h.legs for h in retriever.search(unnamed, 5))
