"""Sentence splitting and chunking: nothing lost, offsets exact, order kept (ko/zh/en/mixed)."""

from __future__ import annotations

import re
from dataclasses import asdict

from hypothesis import given, settings
from hypothesis import strategies as st

from common.sentences import split_sentences
from common.tokens import approx_tokens
from ingest.chunk import chunk_document
from ingest.types import Chunk, Document, Paper

EN = "ALBERT uses cross-layer parameter sharing (Lan et al., 2020). It reaches 89.4 on GLUE. "
KO = "ALBERT는 파라미터를 공유한다. 그리고 SOP를 사용한다! 3.2절을 보라? "
ZH = "ALBERT通过参数共享减少参数量。它使用SOP任务！版本3.2很好；详见第4节。"

SENTENCE_PARTS = st.sampled_from([
    "BERT uses MLM (Devlin et al., 2019).", "See Fig. 3 for details.", "Scores rose 2.5%.",
    "e.g. ELECTRA is faster.", "ALBERT는 파라미터를 공유한다.", "그리고 SOP를 쓴다!",
    "参数共享减少了参数量。", "它有什么区别？", "版本3.2很好；", "Mixed 한국어 and 中文.",
    "No end punctuation here", "\n", "\n\n", "  ",
])


def _doc(text: str, lang: str, pages: tuple[int, ...] = (0,)) -> Document:
    return Document(Paper("t1", "Test"), text, pages, lang, "sha")


def test_english_sentences_survive_abbreviations_and_decimals():
    t = "BERT uses MLM (Devlin et al., 2019). See Fig. 3 for 3.5 points. We use e.g. BERT. Next."
    assert [t[a:b] for a, b in split_sentences(t, "en")] == [
        "BERT uses MLM (Devlin et al., 2019).", "See Fig. 3 for 3.5 points.",
        "We use e.g. BERT.", "Next.",
    ]


def test_chinese_sentences_split_on_own_punctuation_not_decimals():
    assert [ZH[a:b] for a, b in split_sentences(ZH, "zh")] == [
        "ALBERT通过参数共享减少参数量。", "它使用SOP任务！", "版本3.2很好；", "详见第4节。",
    ]


def test_korean_sentences_use_kiwi():
    spans = split_sentences(KO, "ko")
    assert [KO[a:b] for a, b in spans] == [
        "ALBERT는 파라미터를 공유한다.", "그리고 SOP를 사용한다!", "3.2절을 보라?",
    ]


def _check_chunks(text: str, lang: str, max_tokens: int) -> None:
    doc = _doc(text, lang)
    chunks = chunk_document(doc, max_tokens)
    covered = [False] * len(text)
    prev_start = -1
    for c in chunks:
        assert text[c.char_start : c.char_end] == c.text  # offsets map back exactly
        assert c.char_start > prev_start  # order kept, always moving on
        prev_start = c.char_start
        for i in range(c.char_start, c.char_end):
            covered[i] = True
    lost = "".join(ch for ch, cov in zip(text, covered, strict=True) if not cov)
    assert lost.strip() == ""  # nothing but white space falls between chunks
    for a, b in zip(chunks, chunks[1:], strict=False):
        overlap = max(0, a.char_end - b.char_start)
        # overlap is at most the one repeated sentence (never a whole chunk)
        assert overlap < len(a.text) or len(a.text) == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(SENTENCE_PARTS, min_size=1, max_size=80), st.sampled_from(["ko", "zh", "en"]),
       st.integers(min_value=8, max_value=120))
def test_chunks_cover_text_exactly(parts, lang, max_tokens):
    _check_chunks(" ".join(parts), lang, max_tokens)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc 한국中文.。!\n0123")), max_size=400),
       st.sampled_from(["ko", "zh", "en"]))
def test_chunks_cover_arbitrary_text(text, lang):
    _check_chunks(text, lang, 20)


def test_chunk_budget_and_pages():
    text = (EN * 40) + "\n\n" + (EN * 40)
    doc = _doc(text, "en", pages=(0, len(EN * 40) + 2))
    chunks = chunk_document(doc, 100)
    assert all(approx_tokens(c.text) <= 100 for c in chunks)
    assert chunks[0].page_start == 1 and chunks[-1].page_end == 2
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    # one sentence of overlap: each chunk starts with the previous chunk's last sentence
    last = re.split(r"(?<=\.) ", chunks[0].text)[-1]
    assert chunks[1].text.startswith(last)


def test_overlong_sentence_is_cut_within_budget():
    text = "word " * 1000
    chunks = chunk_document(_doc(text.strip(), "en"), 50)
    assert len(chunks) > 10
    assert all(approx_tokens(c.text) <= 50 for c in chunks)


def test_a_chunk_read_back_ignores_keys_that_are_no_field():
    chunk = Chunk("a:0", "a", "A", "Text.", "en", 1, 1, 0, 5, seq=0, url="u")
    assert Chunk.from_dict(asdict(chunk) | {"extra": {}}) == chunk
