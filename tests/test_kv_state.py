"""A new process restores the reader's processed prompt prefix instead of computing it again.

Real model, real llama.cpp context: the first completion saves the context's state under
`state_dir`; a freshly loaded model (what the next `rag ask` process sees) restores it, and
llama.cpp then evaluates only the tokens after the common prefix. A state file that is cut
short or not ours is ignored: the prompt is processed in full and the answer still comes.
"""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import pytest

from rag.llamacpp_chat import LlamaCppChat, load_llama
from rag.prompts import prompt_inputs, reader_prompt
from tests.test_llm import default_gguf  # noqa: F401 - the session's assembled model

pytestmark = pytest.mark.slow
N_CTX = 2048


def _messages(question: str) -> list:
    return reader_prompt().format_messages(**prompt_inputs(question, "en", []))


def _prompt_tokens_evaluated(chat: LlamaCppChat, question: str) -> int:
    """Answer `question` in a fresh process's model; how many prompt tokens llama.cpp ran."""
    load_llama.cache_clear()  # what a new process starts with
    chat.invoke(_messages(question))
    model = load_llama(chat.model_path, chat.n_ctx, chat.n_threads, chat.state_dir)
    return llama_cpp.llama_perf_context(model.llama._ctx.ctx).n_p_eval  # noqa: SLF001


def test_the_next_process_skips_the_saved_prefix(default_gguf: Path, tmp_path: Path):  # noqa: F811
    chat = LlamaCppChat(model_path=str(default_gguf), n_ctx=N_CTX, max_tokens=4,
                        state_dir=str(tmp_path))
    full = _prompt_tokens_evaluated(chat, "Which objective does BERT pre-train with?")
    assert len(list(tmp_path.glob("*.state"))) == 1
    reused = _prompt_tokens_evaluated(chat, "How large is RoBERTa's batch?")
    assert full > 500 and reused < full / 4, (full, reused)


def test_a_damaged_state_file_is_ignored(default_gguf: Path, tmp_path: Path):  # noqa: F811
    chat = LlamaCppChat(model_path=str(default_gguf), n_ctx=N_CTX, max_tokens=4,
                        state_dir=str(tmp_path))
    full = _prompt_tokens_evaluated(chat, "Which objective does BERT pre-train with?")
    (state,) = tmp_path.glob("*.state")
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    again = _prompt_tokens_evaluated(chat, "Which objective does BERT pre-train with?")
    assert again >= full - 1  # processed in full, no crash
    load_llama.cache_clear()
