"""How the language model fails, said in one line a user can act on.

`ModelNotReadyError`: the local model cannot be had (parts missing, a file llama.cpp cannot
read); `LLMError`: the model or endpoint failed while answering. Both the model builders
(`rag.llm`, `rag.model_files`) and the local runner (`rag.llamacpp_chat`) raise them, and
the shells catch them, so they live apart from all three.
"""

from __future__ import annotations


class ModelNotReadyError(RuntimeError):
    """The local model file is missing and cannot be built (parts absent or corrupt)."""


class LLMError(RuntimeError):
    """The language model failed to answer (endpoint down, timeout, HTTP error, overflow)."""


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and cap the length: error messages must fit one terminal line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
