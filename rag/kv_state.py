"""The local reader's processed prompt, kept on disk so a new process skips the fixed prefix.

Every prompt Seed sends the local model opens with the same ~600 tokens (rules and worked
examples, rag/prompts.py). Within one process llama.cpp keeps their key/value state and
only the question's own tokens cost time; a one-shot `rag ask` is a new process and paid
for all of them again (~6 s at ~95 tokens/s on 2 cores) before its first token.

So after each process's first completion, the context's state (the tokens and their KV
cache, ~28 KB a token for the 1.5B default) is written to `RAG_HOME/cache/llm-state/`, and
a freshly loaded model restores it. llama-cpp-python then reuses the longest common prefix
of the restored tokens and the next prompt, token by token, as it does within a process:
a prompt that changed since the state was saved simply reuses less. The file's name carries
what makes the state valid: llama-cpp-python's version, the model file (path, size, mtime)
and the context size. A file that can't be read is ignored (the prefix is processed anew).

    path = state_file(settings.home / "cache" / "llm-state", "model.gguf", 4096)
    restore(llama, path)   # tokens restored, 0 if none
    save(llama, path)      # after a completion
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
from pathlib import Path

import llama_cpp
import numpy as np
from llama_cpp import Llama

from common.files import atomic_write_bytes

log = logging.getLogger(__name__)

MAGIC = b"seed-llama-state-1\n"


def state_file(folder: Path, model_path: str, n_ctx: int) -> Path:
    """Where the state of `model_path` with `n_ctx` lives (the name says what it is valid for)."""
    p = Path(model_path)
    st = p.stat()
    key = f"{llama_cpp.__version__}|{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|{n_ctx}"
    return folder / f"{p.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.state"


def save(llama: Llama, path: Path) -> None:
    """Write the context's tokens and state (atomically: a reader never sees half a file)."""
    n = llama.n_tokens
    if n == 0:
        return
    ctx = llama._ctx.ctx  # noqa: SLF001 - llama-cpp-python exposes no other handle
    size = llama_cpp.llama_state_get_size(ctx)
    buf = (ctypes.c_uint8 * size)()
    used = llama_cpp.llama_state_get_data(ctx, buf, size)
    ids = np.asarray(llama.input_ids[:n], dtype=np.int32).tobytes()
    head = json.dumps({"n_tokens": n, "state_bytes": int(used)}).encode() + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, MAGIC + head + ids + bytes(buf)[:used])
    log.info("saved the reader's state (%d tokens, %.1f MB) to %s", n, used / 1e6, path)


def restore(llama: Llama, path: Path) -> int:
    """Load a saved state into a fresh context; the number of tokens restored (0: none)."""
    try:
        data = path.read_bytes()
        if not data.startswith(MAGIC):
            return 0
        head_end = data.index(b"\n", len(MAGIC))
        head = json.loads(data[len(MAGIC):head_end])
        n, used = int(head["n_tokens"]), int(head["state_bytes"])
    except (OSError, ValueError, KeyError):
        return 0
    ids_end = head_end + 1 + 4 * n
    if len(data) != ids_end + used or n > llama.n_ctx():
        log.info("ignoring a state file of the wrong size: %s", path)
        return 0
    buf = (ctypes.c_uint8 * used).from_buffer_copy(data, ids_end)
    if llama_cpp.llama_state_set_data(llama._ctx.ctx, buf, used) != used:  # noqa: SLF001
        log.info("llama.cpp refused the state in %s", path)
        llama.reset()
        return 0
    llama.input_ids[:n] = np.frombuffer(data, dtype=np.int32, count=n, offset=head_end + 1)
    llama.n_tokens = n
    log.info("restored the reader's state (%d tokens) from %s", n, path)
    return n
