"""Splitting a comparison into one reading per paper: which sides qualify, renumbering."""

from __future__ import annotations

from rag.compare import join_sides, shift, side_papers
from rag.context import Passage, passages_of

NAMES = {"ALBERT": "1909.11942", "ELECTRA": "2003.10555", "BERT": "1810.04805"}


def passage(n: int, doc_id: str) -> Passage:
    return Passage(n, doc_id, doc_id, "", 1, 1, f"text of {doc_id}", (n,), 1.0)


PASSAGES = [passage(1, "1909.11942"), passage(2, "2003.10555"), passage(3, "1909.11942"),
            passage(4, "004_note")]


def test_each_side_must_name_its_own_paper_with_passages():
    assert side_papers(["ALBERT", "ELECTRA"], NAMES, PASSAGES) == [
        ("ALBERT", "1909.11942"), ("ELECTRA", "2003.10555")]
    assert side_papers(["ALBERT", "BERT"], NAMES, PASSAGES) == []  # BERT has no passage
    assert side_papers(["encoder", "ELECTRA"], NAMES, PASSAGES) == []  # names no paper
    assert side_papers(["ALBERT", "ALBERT-large"], NAMES, PASSAGES) == []  # same paper
    assert side_papers(["ALBERT"], NAMES, PASSAGES) == []


def test_own_passages_are_one_papers_renumbered_from_one():
    own = passages_of(PASSAGES, ["1909.11942"])
    assert [(p.n, p.rows) for p in own] == [(1, (1,)), (2, (3,))]
    assert passages_of(PASSAGES, ["1810.04805"]) == []


def test_second_side_markers_follow_the_first_sides_passages():
    own = passages_of(PASSAGES, ["2003.10555"])
    text, shifted = shift("ELECTRA detects replaced tokens [1]. It is small [7].", own, 2)
    assert text == "ELECTRA detects replaced tokens [3]. It is small."
    assert [p.n for p in shifted] == [3]


def test_sides_joined_in_chinese_stay_separate_sentences():
    from common.sentences import split_sentences

    text = join_sides(["ALBERT的核心思想是减少参数.", "ELECTRA使用替换词元检测 [2]。"], "zh")
    assert [text[a:b] for a, b in split_sentences(text, "zh")] == [
        "ALBERT的核心思想是减少参数。", "ELECTRA使用替换词元检测 [2]。"]
    assert join_sides(["GPT 3.2 is out.", "B [2]."], "zh") == "GPT 3.2 is out. B [2]。"
