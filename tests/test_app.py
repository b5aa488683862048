"""The web UI (shell/web.py) over a real small index, with a scripted chat model.

Retrieval, citation checks and the Gradio server are real (HTTP on 127.0.0.1); only the
model's replies are scripted. Covers: the chat shows the sources being read and a token
count while the model drafts, never the draft, 10 simultaneous questions through
`gradio_client` each get their answer with source cards, follow-ups are rewritten with the
history, bad uploads leave the index unchanged, a good note is added. The first screen and
the answer's HTML: tests/test_ui_view.py.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


def test_ten_simultaneous_questions_all_get_cited_answers(server):
    questions = ["ALBERT와 ELECTRA 차이?"] * 5 + ["What does DistilBERT's triple loss combine?"] * 5
    IN_FLIGHT.arm()
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda q: ask(server, q), questions))
    assert len(answers) == 10
    for q, a in zip(questions, answers, strict=True):
        assert 'class="seed-card"' in a and "https://arxiv.org/" in a, a
        assert bool(HANGUL.search(a)) == bool(HANGUL.search(q)), a
    assert all("2003.10555" in a or "1909.11942" in a for a in answers[:5])
    assert all("1910.01108" in a for a in answers[5:])
    assert IN_FLIGHT.most >= 2, "the questions were answered one at a time"


def test_empty_question_is_refused_without_an_answer(server):
    client = gradio_client.Client(server, verbose=False)
    box, chat = client.predict("   ", [], 6, False, api_name="/ask")
    assert chat == []


def test_chat_shows_sources_and_progress_never_the_draft(home):
    """While the model drafts, the chat shows what is read and a token count; the draft
    (here with a made-up sentence the checks remove) never reaches the chat."""
    from rag.answer import Assistant
    from rag.retrieve import Retriever
    from shell.web import Live, SeedUI

    draft = ("DistilBERT combines a distillation loss, a masked language modeling loss and a "
             "cosine embedding loss [1]. It was trained on Mars with 4096 GPUs [1].")
    llm = ScriptedChat(delay_s=0.01, replies={"DistilBERT": draft})
    seed = SeedUI(Live(home, Assistant(home, Retriever(home), llm)), "scripted test model")
    shown = [chat[-1]["content"] for _, chat, _ in seed.respond(
        "What does DistilBERT's triple loss combine?", [], [], 6, False, None)]
    *before, final = shown
    assert not any("cosine" in s or "Mars" in s or "seed-text" in s for s in before), before
    assert "Searching the papers" in before[0]
    reading = [s for s in before if "Reading " in s]
    assert reading and "DistilBERT" in reading[0] and "arXiv:1910.01108" in reading[0]
    counts = [int(m.group(1)) for s in before if (m := re.search(r"Drafting… (\d+) tokens", s))]
    assert counts == sorted(counts) and counts[-1] == len(draft.split()), counts
    text = re.search(r'<div class="seed-text">(.*?)</div>', final).group(1)
    assert "cosine embedding loss" in text and "Mars" not in text and "[?]" not in final
    assert 'class="seed-card"' in final and "Drafting" not in final


def test_followup_is_rewritten_with_the_history(home):
    from rag.followup import looks_like_followup, rewrite_question

    llm = ScriptedChat()
    history = [("user", "ALBERT와 ELECTRA 차이?"), ("assistant", REPLIES["ELECTRA"])]
    assert rewrite_question("그럼 ELECTRA의 생성자 크기는?", history, llm) == \
        "ELECTRA의 생성자 크기는 얼마인가?"
    assert "ALBERT와 ELECTRA 차이?" in llm.calls[-1]  # the history reached the model
    calls = len(llm.calls)
    for standalone in ("ALBERT와 ELECTRA 차이?", "ALBERT和ELECTRA有什么区别？",
                       "What does ALiBi add to attention?"):
        assert not looks_like_followup(standalone)
        assert rewrite_question(standalone, history, llm) == standalone
    assert rewrite_question("그럼 ELECTRA의 생성자 크기는?", [], llm).startswith("그럼")
    assert len(llm.calls) == calls  # the model was not asked for any of those
    assert looks_like_followup("那它的生成器多大？") and looks_like_followup("Why?")


def test_rewrite_in_another_language_is_discarded():
    from rag.followup import rewrite_question

    llm = ScriptedChat(rewrites={"그럼 그건?": "What is the generator size of ELECTRA?"})
    assert rewrite_question("그럼 그건?", [("user", "ELECTRA?")], llm) == "그럼 그건?"


def test_ui_conversation_uses_the_rewritten_question(home):
    """Through the UI handler: the second turn shows what was searched and cites ELECTRA."""
    blocks, url = start_server(home, ScriptedChat())
    try:
        client = gradio_client.Client(url, verbose=False)
        client.predict("ALBERT와 ELECTRA 차이?", [], 6, False, api_name="/ask")
        _, chat = client.predict("그럼 DistilBERT는?", [], 6, True, api_name="/ask")
    finally:
        blocks.close()
    text = last_text(chat)
    assert "DistilBERT는 BERT 대비 얼마나 작고 빠른가?" in text  # shown as "searched as"
    assert "1910.01108" in text and "<details>" in text  # cited; passages shown


def current(settings) -> str:
    return (settings.index_dir / "CURRENT").read_text()


def test_bad_uploads_change_nothing(home, tmp_path):
    from shell.web import Live, add_to_index

    live = Live(home, None)
    before = current(home)
    fake = tmp_path / "paper.pdf"
    fake.write_text("this is not a pdf")
    assert "not a PDF" in add_to_index(live, str(fake), "", "en")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00")
    assert "unsupported file type" in add_to_index(live, str(exe), "", "en")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n%garbage that no parser can read\n")
    message = add_to_index(live, str(broken), "", "ko")
    assert message.startswith("추가된 것이 없습니다") and "broken.pdf" in message
    assert "arXiv id" in add_to_index(live, None, "not-an-id", "en")
    assert current(home) == before
    assert not list((home.home / "uploads").glob("*/broken.pdf"))


def test_good_note_is_added_and_searchable(home, tmp_path):
    from shell.web import Live, add_to_index

    live = Live(home, None)
    before, docs = current(home), set(live.assistant.retriever.index.meta.docs)
    note = tmp_path / "rotary_note.md"
    note.write_text("# RoFormer 노트\n\nRoPE(rotary position embedding)는 쿼리와 키 벡터를 "
                    "위치에 따라 회전시켜 상대 위치 정보를 어텐션에 넣는다.\n", encoding="utf-8")
    message = add_to_index(live, str(note), "", "en")
    assert message.startswith("Added to the index") and "rotary_note" in message
    assert current(home) != before
    assert set(live.assistant.retriever.index.meta.docs) == docs | {"rotary_note"}
    hits = live.assistant.retriever.search("RoPE 회전 위치 임베딩", 3)
    assert hits[0].chunk.doc_id == "rotary_note"
    assert add_to_index(live, str(note), "", "en").startswith("Already in the index")


def test_upload_through_the_server_reports_progress_and_refuses_bad_files(server, tmp_path):
    fake = tmp_path / "notapdf.pdf"
    fake.write_text("hello")
    client = gradio_client.Client(server, verbose=False)
    status, info, _ = client.predict(gradio_client.handle_file(str(fake)), "", api_name="/add")
    assert "not a PDF" in status and "documents" in info


def test_server_binds_loopback_and_limits_upload_size(server):
    import requests

    from shell import web

    assert server.startswith("http://127.0.0.1:") and web.HOST == "127.0.0.1"
    big = b"%PDF-1.4\n" + b"0" * ((web.MAX_UPLOAD_MB << 20) + 1)
    r = requests.post(server.rstrip("/") + "/gradio_api/upload",
                      files={"files": ("big.pdf", big, "application/pdf")}, timeout=60)
    assert r.status_code in (400, 413), r.text[:200]
    assert set(web.UPLOAD_TYPES) == {".pdf", ".md", ".txt"}


def test_the_ui_warms_the_model_up_in_the_background(home):
    """`rag serve` processes the prompt's fixed prefix at start, not on the first question."""
    from rag.answer import Assistant
    from shell.web import Live
    llm = ScriptedChat()
    llm.calls.clear()
    live = Live(home, Assistant(home, llm=llm), warm=True)
    assert live.warming is not None
    live.warming.join(timeout=60)
    assert not live.warming.is_alive() and len(llm.calls) == 1
    assert "citing sources as [n]" in llm.calls[0]  # the reader's own prompt (same prefix)
    assert Live(home, live.assistant).warming is None  # off unless asked for
