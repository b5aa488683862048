"""Reading lists: arXiv ids from the real notes and hand-written edge cases; the manifest."""

from __future__ import annotations

import csv

import pytest

from common.arxiv import is_arxiv_id, strip_version
from ingest.readinglist import (
    load_manifest,
    manifest_paper,
    parse_reading_list,
)
from tests.conftest import CORPUS, SEEDS, needs_corpus


def _note(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("000", ["2108.12409", "2204.13509", "2211.05100", "2209.14375", "2109.04650"]),
        ("002", ["2001.08361", "2203.15556", "1907.11692", "2206.11893", "2407.04620"]),
        ("003", ["1409.0473", "1706.03762", "2203.02155", "2007.06225"]),
    ],
)
def test_real_notes_yield_known_ids(prefix: str, expected: list[str]) -> None:
    ids = parse_reading_list(_note(prefix))
    assert set(expected) <= set(ids)
    assert len(ids) == len(set(ids))
    assert ids.index(expected[0]) == 0  # first link in the note comes first


def test_ids_keep_order_of_first_appearance() -> None:
    ids = parse_reading_list(_note("003"))  # 1706.03762 and 2203.15556 appear twice
    assert ids[:4] == ["1409.0473", "1706.03762", "1810.04805", "1910.13461"]
    assert ids.count("2203.15556") == 1


def test_every_id_in_the_notes_is_in_the_manifest() -> None:
    listed = {p.doc_id for p in load_manifest()}
    for note in SEEDS.glob("*.txt"):
        assert set(parse_reading_list(note.read_text(encoding="utf-8"))) <= listed, note.name


@pytest.mark.parametrize("prefix", ["001", "004"])
def test_note_without_links_names_no_paper(prefix: str) -> None:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    assert parse_reading_list(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://arxiv.org/abs/2108.12409v2", ["2108.12409"]),
        ("[PDF](https://arxiv.org/pdf/2001.08361)", ["2001.08361"]),
        ("https://arxiv.org/pdf/1409.0473.pdf", ["1409.0473"]),
        ("http://export.arxiv.org/abs/1706.03762v7.", ["1706.03762"]),
        ("arXiv:1909.11942 and ARXIV: 2003.10555v1", ["1909.11942", "2003.10555"]),
        ("see 1910.01108, then 1910.01108v4 again", ["1910.01108"]),
        ("论文2108.12409和（2305.13048）", ["2108.12409", "2305.13048"]),
        ("논문 2203.15556을 보면", ["2203.15556"]),
        ("lr 1.56, 28.4 BLEU, 3.2M batch, 0.5 dropout", []),
        ("in 2023.1234 and 1913.12345 (months 23, 13)", []),
        ("https://github.com/x/y/blob/2101.12345/z.py", []),
        ("v=2108.123456 and 2108.12409.5", []),
        ("https://aclanthology.org/2021.naacl-main.41.pdf", []),
    ],
)
def test_parse_edge_cases(text: str, expected: list[str]) -> None:
    assert parse_reading_list(text) == expected


@pytest.mark.parametrize(
    ("s", "ok"),
    [
        ("2108.12409", True),
        ("1409.0473", True),
        ("2108.12409v2", True),
        (" 2108.12409 ", True),
        ("2113.12409", False),
        ("28.4", False),
        ("gpt1", False),
        ("arXiv:2108.12409", False),
        ("2108.124", False),
    ],
)
def test_is_arxiv_id(s: str, ok: bool) -> None:
    assert is_arxiv_id(s) is ok


def test_strip_version() -> None:
    assert strip_version("2108.12409v12") == "2108.12409"
    assert strip_version("gpt1") == "gpt1"


def test_manifest_has_44_unique_papers() -> None:
    papers = load_manifest()
    ids = [p.doc_id for p in papers]
    assert len(ids) == 44 == len(set(ids))
    for p in papers:
        assert p.title and p.year and 2014 <= p.year <= 2024
        assert is_arxiv_id(p.doc_id) or p.doc_id in {"gpt1", "gpt2"}
        assert p.url == ("" if p.doc_id.startswith("gpt") else f"https://arxiv.org/abs/{p.doc_id}")


@needs_corpus
def test_manifest_covers_corpus_and_arxiv_only_papers() -> None:
    ids = {p.doc_id for p in load_manifest()}
    in_pdfs = {p.stem for p in (CORPUS / "pdfs").glob("*.pdf")}
    arxiv_only = set(parse_reading_list((CORPUS / "README.md").read_text(encoding="utf-8")))
    assert len(in_pdfs) == 27 and len(arxiv_only) == 17
    assert ids == in_pdfs | arxiv_only
    with (CORPUS / "SOURCES.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            assert manifest_paper(row["id"]).title == row["title"]


def test_manifest_paper_lookup() -> None:
    alibi = manifest_paper("2108.12409v2")
    assert alibi is not None and alibi.title.startswith("Train Short, Test Long")
    assert manifest_paper("gpt2").title == "Language Models are Unsupervised Multitask Learners"
    assert manifest_paper("2005.14165").title == "Language Models are Few-Shot Learners"
    assert manifest_paper("2106.09685") is None
