"""The one place that builds a chat model.

`chat_model(settings)` returns a LangChain `BaseChatModel`, so the rest of Seed only ever
calls `.invoke(messages)` or `.stream(messages)` and never cares where the tokens come from:

* `RAG_LLM_BASE_URL` set -> any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama's
  `/v1`, a hosted API) through `langchain_openai.ChatOpenAI`.
* otherwise -> a local GGUF run in this process by llama-cpp-python (`RAG_LLM_GGUF`, or the
  bundled default Qwen2.5-Coder-1.5B-Instruct Q4_K_M).

The default model's file is assembled by `rag.model_files`; failures are named in
`rag.llm_errors` (`ModelNotReadyError`, `LLMError`), each with a one-line message a user
can act on.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from common.settings import Settings
from rag.llm_errors import LLMError, ModelNotReadyError, one_line
from rag.model_files import ensure_default_model

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def chat_model(settings: Settings) -> BaseChatModel:
    """Build the chat model the settings ask for (see the module docstring).

    Both kinds answer deterministically (temperature 0), cap answers at
    `settings.llm_max_tokens`, support `.stream()` token by token, and raise `LLMError`
    when answering fails. Building is cheap except for the first local model load (~1 s).
    """
    if settings.llm_base_url:
        return _guarded_chat_openai()(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout_s,
            # the openai client backs off exponentially (honouring Retry-After) on 429, 503
            # and other 5xx: a server whose slots are all busy says so with those
            max_retries=settings.llm_retries,
            temperature=0,
            max_tokens=settings.llm_max_tokens,
            slots=settings.llm_slots,
        )
    path = settings.llm_gguf or ensure_default_model(settings)
    if not Path(path).is_file():
        raise ModelNotReadyError(f"RAG_LLM_GGUF points to {path}, which is not a file")
    try:
        from rag.llamacpp_chat import LlamaCppChat
    except ImportError as e:  # llama-cpp-python is the optional extra [llm]
        raise ModelNotReadyError(
            f"llama-cpp-python is not installed ({e}); pip install 'seed-rag[llm]' "
            "or set RAG_LLM_BASE_URL to an OpenAI-compatible server"
        ) from e
    return LlamaCppChat(
        model_path=str(path),
        n_ctx=settings.llm_ctx,
        n_threads=settings.llm_threads,
        max_tokens=settings.llm_max_tokens,
        state_dir=str(settings.home / "cache" / "llm-state"),
    )


def _unreachable(url: str, err: BaseException) -> str:
    root: BaseException | None = err  # the deepest cause says most ("Connection refused")
    detail = type(err).__name__
    while root is not None:
        detail = str(root) or detail
        root = root.__cause__ or root.__context__
    return one_line(
        f"cannot reach the LLM at {url}: {detail}; "
        "check RAG_LLM_BASE_URL or unset it to use the built-in model"
    )


def _translate(url: str, err: Exception) -> LLMError:
    """An `openai` client error -> `LLMError` with a one-line, actionable message."""
    import openai

    if isinstance(err, openai.APIConnectionError):  # refused, DNS, timeout
        return LLMError(_unreachable(url, err))
    if isinstance(err, openai.APIStatusError):
        why = str(err).removeprefix(f"Error code: {err.status_code} - ")
        return LLMError(one_line(f"the LLM at {url} answered HTTP {err.status_code}: {why}"))
    return LLMError(one_line(f"the LLM at {url} failed: {err}"))


@functools.cache
def _slot(url: str, slots: int) -> threading.BoundedSemaphore:
    """One semaphore per server and slot count, shared by every chat model of this process:
    the UI's concurrent questions queue here instead of overrunning the server's slots."""
    return threading.BoundedSemaphore(max(slots, 1))


@functools.cache
def _guarded_chat_openai() -> type[BaseChatModel]:
    """`ChatOpenAI` whose failures surface as `LLMError` (built lazily: the import is ~1 s).

    Wraps the four LangChain entry points (`_generate`, `_stream` and their async twins);
    everything else (callbacks, batching, tool binding) is ChatOpenAI's own.
    """
    import openai
    from langchain_openai import ChatOpenAI

    class GuardedChatOpenAI(ChatOpenAI):
        slots: int = 1  # requests this process has in flight at once (RAG_LLM_SLOTS)

        def _generate(self, *args, **kwargs):
            try:
                with _slot(str(self.openai_api_base), self.slots):
                    return super()._generate(*args, **kwargs)
            except openai.OpenAIError as e:
                raise _translate(str(self.openai_api_base), e) from e

        def _stream(self, *args, **kwargs):
            try:
                with _slot(str(self.openai_api_base), self.slots):
                    yield from super()._stream(*args, **kwargs)
            except openai.OpenAIError as e:
                raise _translate(str(self.openai_api_base), e) from e

        async def _agenerate(self, *args, **kwargs):
            try:
                return await super()._agenerate(*args, **kwargs)
            except openai.OpenAIError as e:
                raise _translate(str(self.openai_api_base), e) from e

        async def _astream(self, *args, **kwargs):
            try:
                async for chunk in super()._astream(*args, **kwargs):
                    yield chunk
            except openai.OpenAIError as e:
                raise _translate(str(self.openai_api_base), e) from e

    return GuardedChatOpenAI
