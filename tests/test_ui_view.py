"""The web UI's view (shell/ui_view.py): the first screen and an answer's HTML.

The first screen is checked in the Blocks config the browser receives (over a real small
index): title, what Seed does, corpus, model and example questions in Korean, Chinese and
English, outside the side panel, localized per browser language. The answer card carries
the quote highlighted in its passage, its translation under it, page links; sentences the
checks removed appear only in a collapsed block; an abstention shows its note.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator

import pytest

from tests.app_kit import HANGUL

gr = pytest.importorskip("gradio")

HAN = re.compile(r"[\u4e00-\u9fff]")


def _subtree_ids(node: dict) -> set[int]:
    return {node["id"]} | {i for child in node.get("children", []) for i in _subtree_ids(child)}


def _walk(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("children", []):
        yield from _walk(child)


def test_first_screen_says_what_it_is(small_index):
    """Before any question: title, what Seed does, corpus, model and example questions in
    Korean, Chinese and English, in the main area (not the side panel); localized per
    browser language."""
    from types import SimpleNamespace

    from index.store import read_meta
    from shell import ui_text
    from shell.web import SeedUI, build_app

    blocks = build_app(small_index, SimpleNamespace(), model_label="scripted test model")
    config = blocks.config
    by_id = {c["id"]: c for c in config["components"]}
    text = json.dumps(config["components"], ensure_ascii=False, default=str)
    summary = ui_text.corpus_summary(read_meta(small_index.index_dir).docs, "en")
    for shown in ("Seed: ask the papers", ui_text.t("en", "tagline"), summary,
                  "scripted test model"):
        assert shown in text, shown
    samples = [q for c in config["components"] if c["type"] == "dataset"
               for row in c["props"]["samples"] for q in row]
    assert sum(bool(HANGUL.search(q)) for q in samples) >= 2
    assert sum(bool(HAN.search(q)) and not HANGUL.search(q) for q in samples) >= 2
    assert sum(q.isascii() for q in samples) >= 2
    assert "Which method adds a linear bias to attention scores?" in samples
    assert all(len(q) <= 60 for q in samples)  # gr.Examples shows 60 characters, then "..."
    sidebar = next(_subtree_ids(n) for n in _walk(config["layout"])
                   if by_id.get(n["id"], {}).get("type") == "sidebar")
    main = [c["id"] for c in config["components"] if c["type"] == "dataset" or
            c["props"].get("elem_id") == "seed-intro"]
    assert len(main) == 2 and not sidebar & set(main)
    seed = SeedUI(SimpleNamespace(settings=small_index), "scripted test model")
    intro, _ = seed.intro(SimpleNamespace(headers={"accept-language": "ko-KR,ko;q=0.9"}))
    assert intro.startswith("# Seed: 논문에 물어보기") and "문서 " in intro
    assert seed.intro(SimpleNamespace(headers={"accept-language": "zh-CN"}))[0].startswith(
        "# Seed：向论文提问")


def test_answer_card_shows_quote_translation_and_links():
    from rag.answer import Answer
    from rag.cite import Citation
    from rag.context import Passage
    from rag.prompts import ABSTAIN
    from shell.ui_text import pick_lang
    from shell.ui_view import render_answer

    p = Passage(1, "1909.11942", "ALBERT", "https://arxiv.org/abs/1909.11942", 3, 4,
                "Intro. ALBERT shares parameters across layers. More text.", (0,), 1.0)
    c = Citation(1, "1909.11942", "ALBERT", 3, 4, p.url, "ALBERT shares parameters across layers.",
                 translation="ALBERT는 층 간에 파라미터를 공유합니다.", passage=1)
    a = Answer("q", "ko", "ALBERT는 모든 층이 파라미터를 공유합니다 [1].", [c], [p], False,
               unsupported=["It runs on Mars <b>x</b>"])
    html = render_answer(a, "ko", show_passages=True)
    card = html[html.index('class="seed-card"'):]
    quote_at = card.index("<mark>ALBERT shares parameters across layers.</mark>")
    translated_at = card.index("ALBERT는 층 간에 파라미터를 공유합니다.")
    assert quote_at < translated_at and "번역" in card[quote_at:translated_at]  # under the quote
    assert 'href="https://arxiv.org/pdf/1909.11942#page=3"' in html and "3-4쪽" in html
    text = re.search(r'<div class="seed-text">(.*?)</div>', html).group(1)
    assert text == "ALBERT는 모든 층이 파라미터를 공유합니다 [1]." and "[?]" not in html
    left_out = html[html.index('<details class="seed-left-out">'):]  # collapsed, escaped
    assert "출처가 뒷받침하지 않음 (1)" in left_out and "&lt;b&gt;" in left_out
    assert "<b>x" not in html
    same_lang = dataclasses.replace(c, translation="")
    english = render_answer(Answer("q", "en", "ALBERT shares them [1].", [same_lang], [p], False),
                            "en")
    assert "seed-card-translation" not in english and "seed-left-out" not in english
    note = "Chinchilla (2203.15556) is on the reading list but not indexed: rag ingest 2203.15556"
    no = render_answer(Answer("Chinchilla?", "en", ABSTAIN["en"], [], [], True, note=note), "en")
    assert ABSTAIN["en"] in no and note in no and "seed-card" not in no
    assert pick_lang("zh-CN,zh;q=0.9,en;q=0.8") == "zh" and pick_lang("fr, ko;q=0.5") == "ko"
    assert pick_lang(None) == "en" and pick_lang("en-US,en;q=0.9,ko;q=0.8") == "en"
