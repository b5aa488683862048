"""End to end in a real browser: Debian's chromium driven by Playwright, over a real index.

The first screen, before anything is opened or typed, shows the title, what Seed does, the
corpus, the model and example questions in Korean, Chinese and English, in the browser's
language (ko-KR), inside the window; a click on an example puts it in the question box
(screenshot: /tmp/seed-ui.png). A Korean question is typed into the page; while the model
drafts, the chat shows the sources being read and a growing token count, never the draft;
then the answer, in Korean, with at least one source card that links to arXiv. A
screenshot of it is saved under the test's output dir (pytest's tmp_path).
The fast variant scripts the chat model (Korean tokens with a pause between them); the
`slow` one uses the real default model.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import pytest

from tests.app_kit import HANGUL, REPLIES, ScriptedChat, start_server

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
QUESTION = "ALBERT와 ELECTRA 차이?"
REAL_QUESTION = "DistilBERT는 BERT보다 얼마나 작고 빠른가?"  # one the 1.5B model answers
BOT = '#seed-chat [data-testid="bot"]'
CARD_LINK = '#seed-chat .seed-card a[href*="arxiv.org"]'
FINAL = "#seed-chat .seed-text"  # the checked answer replaced the progress
FIRST_SCREEN = Path(tempfile.gettempdir()) / "seed-ui.png"
VIEWPORT = {"width": 1400, "height": 1000}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


@pytest.fixture
def page():
    """A Korean-language browser page (headless chromium, no sandbox, no GPU)."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        context = browser.new_context(locale="ko-KR", viewport=VIEWPORT)
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
            if page.locator(FINAL).count():  # the answer landed while we read: not a partial
                break
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


def test_first_screen_says_what_it_is(small_index, page):
    from index.store import read_meta
    from shell import ui_text

    blocks, url = start_server(small_index, ScriptedChat())
    try:
        page.goto(url)
        page.locator("#seed-intro h1", has_text="Seed: 논문에 물어보기").wait_for(timeout=60_000)
        intro = page.locator("#seed-intro").inner_text()
        corpus = ui_text.corpus_summary(read_meta(small_index.index_dir).docs, "ko")
        for shown in (ui_text.t("ko", "tagline"), corpus.replace("**", ""),
                      "scripted test model"):
            assert shown in intro, (shown, intro)
        for question in ui_text.EXAMPLES:  # all nine, in the window, nothing opened
            example = page.locator("#seed-examples").get_by_text(question, exact=True)
            box = example.bounding_box()
            assert example.is_visible() and box, question
            assert box["y"] + box["height"] <= VIEWPORT["height"], (question, box)
        page.screenshot(path=str(FIRST_SCREEN))
        print(f"screenshot: {FIRST_SCREEN}")
        page.locator("#seed-examples").get_by_text(ui_text.EXAMPLES[-1], exact=True).click()
        box = page.locator("#seed-question textarea")
        page.wait_for_function("([el, q]) => el.value === q",
                               arg=[box.element_handle(), ui_text.EXAMPLES[-1]], timeout=10_000)
    finally:
        blocks.close()


def test_korean_question_shows_progress_then_a_cited_korean_answer(small_index, page, tmp_path):
    blocks, url = start_server(small_index, ScriptedChat(delay_s=0.25))
    try:
        answer, partials = ask_in_browser(page, url, QUESTION, timeout_s=120)
        check_page(page, answer, partials, tmp_path / "seed-ui-ko.png")
    finally:
        blocks.close()
    draft = REPLIES["ALBERT의 핵심"] + REPLIES["ELECTRA의 핵심"]  # one reading per paper
    words = ["파라미터 공유로", "토큰 탐지", "[1]"]
    assert all(w in draft for w in words)
    assert not any(w in p for w in words for p in partials), partials  # never the draft
    assert any("구절" in p and "읽는 중" in p and "ALBERT" in p for p in partials), partials
    counts = [int(m.group(1)) for p in partials if (m := re.search(r"토큰 (\d+)개", p))]
    assert len(set(counts)) >= 3 and counts == sorted(counts), partials  # drafting, counted
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
    from shell.web import build_app, launch
    from tests.app_kit import free_port

    blocks = build_app(settings, assistant)
    _, url, _ = launch(blocks, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        answer, partials = ask_in_browser(page, url, REAL_QUESTION, timeout_s=900)
        check_page(page, answer, partials, tmp_path / "seed-ui-ko-real.png")
    finally:
        blocks.close()
    assert len(partials) >= 2, partials
