"""`LlamaCppChat`: a LangChain chat model over a GGUF run in-process by llama-cpp-python.

Why not `langchain_community.chat_models.ChatLlamaCpp`? It builds a new `Llama` (a 1 GB
mmap and a fresh KV cache, about a second) for every model object it validates, so callers
cannot share one loaded model. It also pulls about a dozen packages (SQLAlchemy, aiohttp,
langchain-classic), and langchain-community is being sunset. This adapter is the
small part we need:

* `_generate` -> `Llama.create_chat_completion(...)`, `_stream` -> the same with
  `stream=True`: token by token, with LangChain callbacks fired per token.
* The prompt is rendered by the GGUF's own chat template (`tokenizer.chat_template` in the
  file's metadata), which llama-cpp-python picks when no `chat_format` is forced.
* One `Llama` per (path, n_ctx, n_threads) per process (`load_llama`, cached), guarded by
  a lock: a llama.cpp context is not thread-safe, so concurrent UI requests take turns.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from llama_cpp import Llama

from rag import kv_state
from rag.llm_errors import LLMError, ModelNotReadyError, one_line

log = logging.getLogger(__name__)

_ROLES = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}


@dataclass
class LoadedModel:
    """A loaded `Llama`, the lock that serialises its use, and where its state is kept."""

    llama: Llama
    lock: threading.Lock
    state: Path | None = None  # rag/kv_state.py: saved after this process's first completion
    saved: bool = False


@functools.lru_cache(maxsize=2)
def load_llama(path: str, n_ctx: int, n_threads: int, state_dir: str = "") -> LoadedModel:
    """Load a GGUF once per (path, n_ctx, n_threads) per process; later calls reuse it.

    The weights are read into memory rather than mmap'd: llama.cpp repacks Q4_K weights for
    the CPU kernels, and with mmap the original pages stayed resident beside the repacked
    copy (`bench/bench_answer.py` peak RSS: 2,749 MiB with mmap, 2,158 MiB without).
    A file llama.cpp can't read raises `ModelNotReadyError`. With `state_dir`, the state a
    previous process saved there is restored (rag/kv_state.py): the prompt's fixed prefix
    is then not processed again.
    """
    check_build_cpu()
    start = time.perf_counter()
    try:
        llama = Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            use_mmap=False,
            verbose=False,
        )
    except (ValueError, RuntimeError) as e:  # not a GGUF, truncated, unsupported arch
        raise ModelNotReadyError(one_line(f"cannot load the GGUF {path}: {e}")) from e
    log.info(
        "loaded %s (n_ctx=%d, %d threads) in %.1f s",
        path,
        n_ctx,
        n_threads,
        time.perf_counter() - start,
    )
    state = kv_state.state_file(Path(state_dir), path, n_ctx) if state_dir else None
    if state is not None:
        kv_state.restore(llama, state)
    return LoadedModel(llama, threading.Lock(), state)


def _keep_state(model: LoadedModel) -> None:
    """After the process's first completion: save the context's state for the next process."""
    if model.state is None or model.saved:
        return
    model.saved = True
    try:
        kv_state.save(model.llama, model.state)
    except OSError as e:  # a full or read-only disk costs the next process time, nothing else
        log.warning("could not save the reader's state to %s: %s", model.state, e)


class BuiltForOtherCPUError(ModelNotReadyError):
    """llama.cpp in this environment uses instructions this CPU lacks (it would crash)."""


def check_build_cpu(marker: Path | None = None, cpuinfo: Path = Path("/proc/cpuinfo")) -> None:
    """Refuse to run kernels built for another CPU. `setup.sh` builds llama.cpp with
    `-march=native` and writes the features it was built with to `<venv>/.llama-cpu`
    ("<key> avx avx2 avx512f ..."); a venv carried to a machine without one of them would
    die on an illegal instruction, so this says what to do instead."""
    marker = marker or Path(sys.prefix) / ".llama-cpu"
    try:
        built = set(marker.read_text().split()[1:])
        text = cpuinfo.read_text()
    except OSError:  # no marker: not built by setup.sh (a portable wheel), nothing to check
        return
    m = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.M)
    missing = sorted(built - set(m.group(1).split())) if m else []
    if missing:
        raise BuiltForOtherCPUError(
            f"llama.cpp here was built for a CPU with {', '.join(missing)}, which this one "
            "lacks: run ./setup.sh to build it for this machine")


class LlamaCppChat(BaseChatModel):
    """Chat with a local GGUF. Greedy (temperature 0) unless told otherwise.

        chat = LlamaCppChat(model_path="model.gguf", n_ctx=4096, n_threads=2)
        chat.invoke("Reply with the single word: yes").content  # 'Yes'
    """

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    temperature: float = 0.0
    max_tokens: int = 320
    # Greedy decoding lets a 1.5B model loop on one sentence (seen on Chinese comparisons);
    # a mild penalty on recent tokens breaks the loop without bending technical terms.
    repeat_penalty: float = 1.1
    stop: list[str] | None = None
    state_dir: str = ""  # where the processed prompt prefix is kept between processes

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One blocking completion; usage (token counts) lands on `usage_metadata`."""
        model = self._model()
        with model.lock:
            out = self._complete(model.llama, messages, stop, stream=False, **kwargs)
            _keep_state(model)
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
            response_metadata={
                "finish_reason": choice.get("finish_reason"),
                "model_name": self.model_path,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Yield one chunk per generated token; the last carries `finish_reason`."""
        model = self._model()
        with model.lock:  # held until the stream is exhausted or closed
            for part in self._complete(model.llama, messages, stop, stream=True, **kwargs):
                choice = part["choices"][0]
                text = (choice.get("delta") or {}).get("content") or ""
                finish = choice.get("finish_reason")
                if not text and not finish:
                    continue  # the opening {"role": "assistant"} delta
                meta = {"finish_reason": finish} if finish else {}
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(content=text, response_metadata=meta),
                    generation_info=meta or None,
                )
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
            _keep_state(model)

    def _model(self) -> LoadedModel:
        return load_llama(self.model_path, self.n_ctx, self.n_threads, self.state_dir)

    def _complete(
        self,
        llama: Llama,
        messages: list[BaseMessage],
        stop: list[str] | None,
        stream: bool,
        **kwargs: Any,
    ) -> Any:
        """Call llama.cpp; its ValueErrors (e.g. prompt longer than n_ctx) become LLMError."""
        params = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "repeat_penalty": self.repeat_penalty,
            "stop": stop or self.stop or [],
            **kwargs,
        }
        try:
            out = llama.create_chat_completion(
                messages=[_to_dict(m) for m in messages], stream=stream, **params
            )
        except (ValueError, RuntimeError) as e:  # llama.cpp's own errors
            raise LLMError(one_line(f"local LLM {self.model_path} failed: {e}")) from e
        return self._guarded(out) if stream else out

    def _guarded(self, chunks: Iterator[dict]) -> Iterator[dict]:
        """A stream raises only once iterated: translate its errors there too."""
        try:
            yield from chunks
        except (ValueError, RuntimeError) as e:  # llama.cpp's own errors
            raise LLMError(one_line(f"local LLM {self.model_path} failed: {e}")) from e


def _to_dict(message: BaseMessage) -> dict[str, str]:
    """LangChain message -> OpenAI-style dict; list contents keep only their text blocks."""
    if isinstance(message, ChatMessage):
        role: str | None = message.role
    else:
        role = next((r for cls, r in _ROLES.items() if isinstance(message, cls)), None)
    if role is None:
        raise ValueError(f"unsupported message type for the local LLM: {type(message).__name__}")
    content = message.content
    if not isinstance(content, str):
        content = "".join(
            b if isinstance(b, str) else str(b.get("text", ""))
            for b in content
            if isinstance(b, str) or b.get("type") == "text"
        )
    return {"role": role, "content": content}
