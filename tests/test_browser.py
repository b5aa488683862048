"""End to end in a real browser: Debian's chromium driven by Playwright, over a real index.

A Korean question is typed into the page; the answer must arrive streamed (several growing
partial texts seen before the final one), in Korean, with at least one source card that
links to arXiv, and the UI labels must follow the browser's language (ko-KR). A screenshot
is saved under the test's output dir (pytest's tmp_path) for a person to look at.
The fast variant scripts the chat model (Korean tokens with a pause between them); the
`slow` one uses the real default model.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.test_app import HANGUL, ScriptedChat, start_server

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
QUESTION = "ALBERT와 ELECTRA 차이?"
REAL_QUESTION = "DistilBERT는 BERT보다 얼마나 작고 빠른가?"  # one the 1.5B model answers
BOT = '#seed-chat [data-testid="bot"]'
CARD_LINK = '#seed-chat .seed-card a[href*="arxiv.org"]'
FINAL = "#seed-chat .seed-text"  # the checked answer replaced the streamed text

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


@pytest.fixture
def page():
    """A Korean-language browser page (headless chromium, no sandbox, no GPU)."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        context = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        browser.close()


def ask_in_browser(page, url: str, question: str, timeout_s: float) -> tuple[str, list[str]]:
    """Type `question`, wait for the final answer; returns (answer text, partials seen)."""
    page.goto(url)
    box = page.locator("#seed-question textarea")
    box.wait_for(timeout=60_000)
    box.fill(question)
    box.press("Enter")
    partials: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and page.locator(FINAL).count() == 0:
        if page.locator(BOT).count():
            text = page.locator(BOT).last.inner_text().strip()
            if text and text != "…" and (not partials or partials[-1] != text):
                partials.append(text)
        time.sleep(0.1)
    page.locator(FINAL).last.wait_for(timeout=5_000)
    return page.locator(FINAL).last.inner_text(), partials


def check_page(page, answer: str, partials: list[str], shot: Path) -> None:
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert HANGUL.search(answer), answer  # the answer itself is Korean
    assert page.locator(CARD_LINK).count() >= 1
    href = page.locator(CARD_LINK).first.get_attribute("href")
    assert re.match(r"https://arxiv\.org/(abs|pdf)/\d{4}\.\d{4,5}", href or ""), href
    assert page.locator("#seed-ask").inner_text().strip() == "질문하기"  # ko-KR labels
    assert shot.stat().st_size > 10_000


def test_korean_question_streams_a_cited_korean_answer(small_index, page, tmp_path):
    blocks, url = start_server(small_index, ScriptedChat(delay_s=0.25))
    try:
        answer, partials = ask_in_browser(page, url, QUESTION, timeout_s=120)
        check_page(page, answer, partials, tmp_path / "seed-ui-ko.png")
    finally:
        blocks.close()
    growing = [p for p in partials if "출처" not in p]
    assert len(growing) >= 3, partials  # the answer arrived piece by piece
    assert all(len(a) < len(b) for a, b in zip(growing, growing[1:], strict=False)), growing
    assert "ALBERT" in answer and "[1]" in answer


@pytest.mark.slow
def test_korean_question_with_the_real_default_model(small_index, page, tmp_path):
    from rag.answer import Assistant
    from rag.llm import ModelNotReadyError, chat_model, ensure_default_model
    from rag.retrieve import Retriever

    try:
        gguf = ensure_default_model(type(small_index)())  # the user's assembled model
    except ModelNotReadyError as e:
        pytest.skip(str(e))
    settings = small_index.model_copy(update={"llm_gguf": gguf})
    assistant = Assistant(settings, Retriever(settings), chat_model(settings))
    from app import build_app, launch
    from tests.test_app import free_port

    blocks = build_app(settings, assistant)
    _, url, _ = launch(blocks, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        answer, partials = ask_in_browser(page, url, REAL_QUESTION, timeout_s=900)
        check_page(page, answer, partials, tmp_path / "seed-ui-ko-real.png")
    finally:
        blocks.close()
    assert len(partials) >= 2, partials
