"""The repair pass (rag/repair.py) on real corpus pages with the real sentence embedder (USE):
a sentence whose facts sit in another passage than the one it cites moves its citation there,
even when the citation check did not list that passage as a support."""

from __future__ import annotations

from functools import cache

import pytest

from index.embed import load_embedders
from ingest.pdf import extract_pages
from rag.cite import CheckedSentence
from rag.context import Passage
from rag.repair import MIN_MEANING, Grounder
from tests.conftest import pdf_path

GPT2 = "Language Models are Unsupervised Multitask Learners"


@cache
def page(pdf: str, number: int) -> str:
    return next(p.text for p in extract_pages(pdf_path(pdf)) if p.number == number)


@pytest.fixture(scope="module")
def grounder() -> Grounder:
    use = load_embedders("use")[0]

    def similar(sentence: str, candidates: list[str]) -> list[float]:
        if not candidates:
            return []
        return (use.encode_document(candidates) @ use.encode_query([sentence])[0]).tolist()

    def no_translation(text: str, lang: str) -> str:
        raise AssertionError("an English answer needs no translation")

    return Grounder("en", no_translation, similar, MIN_MEANING[use.id])


def passage(n: int, text: str) -> Passage:
    return Passage(n, "gpt2", GPT2, "", 1, 1, text, (), 0.0, ("GPT-2",))


def test_a_fact_under_the_wrong_marker_is_cited_where_it_is(grounder):
    webtext = page("gpt2", 3)  # "WebText, contains the text subset of these 45 million links"
    start = webtext.index("The resulting dataset, WebText")
    other = page("gpt2", 5)  # GPT-2's results: no WebText link counts
    passages = [passage(1, other[:1500]), passage(2, webtext[start - 400:start + 600])]
    said = CheckedSentence("WebText holds the text of 45 million outbound links.", (1,), True,
                           others=())  # the citation check listed no other support
    shown, dropped = grounder.ground([said], passages)
    assert [(s.text, s.cited) for s in shown] == [(said.text, (2,))]
    assert dropped == []


TRANSFORMER = "Attention Is All You Need"
EN_DE = "Transformer在WMT 2014英德翻译任务上的BLEU是多少？"
EN_FR = "What BLEU does the Transformer reach on WMT 2014 English-to-French?"


def transformer_results() -> Passage:
    text = page("1706.03762", 8)  # the EN-DE score (28.4), then the EN-FR score (41.0)
    start = text.index("On the WMT 2014 English-to-German")
    return Passage(1, "1706.03762", TRANSFORMER, "", 8, 8, text[start:start + 900], (), 0.0,
                   ("Transformer",))


@pytest.mark.parametrize(("lang", "asked", "said", "right"), [
    ("zh", EN_DE, "Transformer在WMT 2014英德翻译任务上的BLEU是41.0。", False),  # the model's
    ("zh", EN_DE, "Transformer在WMT 2014英德翻译任务上的BLEU是28.4。", True),
    ("en", EN_FR, "The Transformer reaches 28.4 BLEU on WMT 2014 English-to-French.", False),
    ("en", EN_FR, "The Transformer reaches 41.0 BLEU on WMT 2014 English-to-French.", True),
])
def test_a_score_is_held_to_its_language_pair(grounder, lang, asked, said, right):
    """Both scores are in the cited passage, one sentence each: a score stated for the other
    pair is not shown as written, and the quote that may replace it is the asked pair's."""
    def translate(text: str, to: str) -> str:
        return ""  # a translated quote is not shown: what is left is the check's doing

    checked = CheckedSentence(said, (1,), True, others=())
    kept, _ = Grounder(lang, translate, grounder.similar, grounder.min_meaning, asked).ground(
        [checked], [transformer_results()])
    assert ([s.text for s in kept] == [said]) is right, kept
    other = "German" if asked == EN_FR else "French"
    assert not [s for s in kept if other in s.text or other in (s.quote or "")], kept
