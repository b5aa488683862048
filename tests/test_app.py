"""The web UI (shell/web.py) over a real small index, with a scripted chat model: answers.

Retrieval, citation checks and the Gradio server are real (HTTP on 127.0.0.1); only the
model's replies are scripted (tests/app_kit.py). Covers: the chat shows the sources being
read and a token count while the model drafts, never the draft, 10 simultaneous questions
through `gradio_client` each get their answer with source cards, follow-ups are rewritten
with the history, the model is warmed up in the background. Uploads and the server's
limits: tests/test_app_upload.py. The first screen and the answer's HTML:
tests/test_ui_view.py.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import app_kit
from tests.app_kit import HANGUL, IN_FLIGHT, REPLIES, ScriptedChat, ask, last_text, start_server

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

home = app_kit.home  # a private copy of the small index (a fixture)
server = app_kit.server  # the UI over it, with a scripted model (a fixture)


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
