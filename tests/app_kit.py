"""The web UI's test kit (tests/test_app*.py, test_browser.py): a scripted chat model, a server.

`ScriptedChat` answers by a word of the question (`REPLIES`), rewrites follow-ups
(`REWRITES`), tags translations (`TRANSLATED`) and streams its tokens; `IN_FLIGHT` counts
the model calls running at once. `start_server` launches the real Gradio UI on a free
loopback port; the module-scoped fixtures `home` (a private copy of the small index) and
`server` (its URL) serve the tests; `ask` puts a question through `gradio_client`.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from tests.conftest import small_settings

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

HANGUL = re.compile(r"[\uac00-\ud7a3]")
REPLIES = {  # a word of the question -> the scripted answer (first match)
    # a comparison is read one paper at a time (rag/compare.py)
    "ALBERT의 핵심": "ALBERT는 층 간 파라미터 공유로 파라미터 수를 줄입니다 [1].",
    "ELECTRA의 핵심": "ELECTRA는 교체된 토큰 탐지(replaced token detection)로 학습합니다 [1].",
    "작고": "DistilBERT는 BERT보다 40% 작고 60% 빠르며 성능의 97%를 유지합니다 [1].",
    "생성자": "ELECTRA의 생성자는 판별자 크기의 1/4에서 1/2 사이일 때 가장 잘 작동합니다 [1].",
    "ELECTRA": "ALBERT는 층 간 파라미터 공유로 파라미터 수를 줄입니다 [1]. ELECTRA는 교체된 "
               "토큰 탐지(replaced token detection)로 학습합니다 [2].",
    "DistilBERT": "DistilBERT combines a distillation loss, a masked language modeling loss "
                  "and a cosine embedding loss [1].",
}
REWRITES = {"그럼 ELECTRA의 생성자 크기는?": "ELECTRA의 생성자 크기는 얼마인가?",
            "그럼 DistilBERT는?": "DistilBERT는 BERT 대비 얼마나 작고 빠른가?"}
# A translation prompt (rag/translate.py) is answered with the text behind a language tag: it
# keeps every number and name, so the checks accept it, and a reader sees it is scripted.
TRANSLATED = {"Korean": "(한국어) ", "Chinese": "（中文）"}


class InFlight:
    """Counts the model calls running at once and keeps the most seen.

    Once armed, the first call waits (up to `wait_s`) for a second one to join it: if the
    server answers questions side by side the second arrives within moments and `most`
    reaches 2; if it answers them one by one nobody joins, the wait runs out and `most` stays
    1. Nothing is timed: the wait only gives a concurrent server the chance to show it.
    """

    def __init__(self) -> None:
        self.lock, self.joined = threading.Lock(), threading.Event()
        self.now, self.most, self.wait_s = 0, 0, 0.0

    def arm(self, wait_s: float = 30.0) -> None:
        self.now, self.most, self.wait_s = 0, 0, wait_s
        self.joined.clear()

    @contextmanager
    def call(self) -> Iterator[None]:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            if self.now >= 2:
                self.joined.set()
        try:
            self.joined.wait(self.wait_s)
            self.joined.set()  # waited once: later calls run straight through
            yield
        finally:
            with self.lock:
                self.now -= 1


IN_FLIGHT = InFlight()


class ScriptedChat(BaseChatModel):
    """A thread-safe scripted chat model: replies by a word of the question, streamed."""

    delay_s: float = 0.0  # pause between streamed tokens
    replies: dict[str, str] = REPLIES
    rewrites: dict[str, str] = REWRITES
    calls: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def reply_to(self, messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        self.calls.append(prompt)
        if prompt.startswith("Translate this text into"):
            ask, text = prompt.split("\n\n", 1)
            tag = next((t for name, t in TRANSLATED.items() if f"into {name}" in ask), "")
            return tag + text
        if "Follow-up question:" in prompt:
            asked = prompt.split("Follow-up question:")[1].split("\n")[0].strip()
            return self.rewrites.get(asked, asked)
        question = prompt.rsplit("Question:", 1)[-1]
        return next((r for word, r in self.replies.items() if word in question),
                    "The papers provided do not answer this question.")

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kw: Any) -> ChatResult:
        with IN_FLIGHT.call():
            reply = self.reply_to(messages)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kw: Any
                ) -> Iterator[ChatGenerationChunk]:
        with IN_FLIGHT.call():
            for token in re.findall(r"\S+\s*", self.reply_to(messages)):
                time.sleep(self.delay_s)
                if run_manager:
                    run_manager.on_llm_new_token(token)
                yield ChatGenerationChunk(message=AIMessageChunk(content=token))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(settings, llm: BaseChatModel):
    """Launch the UI on a free loopback port; returns (blocks, url)."""
    from rag.answer import Assistant
    from rag.retrieve import Retriever
    from shell.web import build_app, launch

    assistant = Assistant(settings, Retriever(settings), llm)
    blocks = build_app(settings, assistant, model_label="scripted test model")
    _, url, _ = launch(blocks, port=free_port(), prevent_thread_lock=True, quiet=True)
    return blocks, url


@pytest.fixture(scope="module")
def home(small_index, tmp_path_factory):
    """A private copy of the small index: the upload tests change it."""
    root = tmp_path_factory.mktemp("apphome")
    shutil.copytree(small_index.index_dir, root / "index")
    return small_settings(root)


@pytest.fixture(scope="module")
def server(home):
    blocks, url = start_server(home, ScriptedChat(delay_s=0.02))
    yield url
    blocks.close()


def last_text(chat: list[dict]) -> str:
    content = chat[-1]["content"]
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if isinstance(c, dict))
    return content if isinstance(content, str) else str(content)


def ask(url: str, question: str, **kw) -> str:
    client = gradio_client.Client(url, verbose=False)
    _, chat = client.predict(question, [], 6, False, api_name="/ask", **kw)
    return last_text(chat)
