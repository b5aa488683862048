"""fetch_papers, where papers come from: the arXiv feed and the cache, mirrors, offline.

Against the loopback arXiv of tests/fetch_kit.py (the real `arxiv` client, real HTTP on
127.0.0.1, every request counted): feed metadata and the PDF cache, mirror folders used in
place, offline mode, ids that must never reach the network, stale temp files and a bad
cached file. Failures and retries: tests/test_fetch_failures.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ingest.fetch import fetch_papers
from tests import fetch_kit
from tests.conftest import CORPUS_PDFS, PDFS, needs_corpus
from tests.fetch_kit import LORA, LORA_TITLE, FakeArxiv, _leftovers, _settings

server = fetch_kit.server  # the loopback arXiv (a fixture)


def test_download_uses_feed_metadata_and_caches(tmp_path: Path, server: FakeArxiv) -> None:
    settings = _settings(tmp_path, server)
    events: list[tuple[str, str]] = []
    report = fetch_papers([f"{LORA}v1"], settings, lambda i, s: events.append((i, s)))

    assert report.failures == []
    ((paper, path),) = report.papers
    assert (paper.doc_id, paper.title, paper.year) == (LORA, LORA_TITLE, 2021)
    assert paper.authors == ("Edward J. Hu", "Yelong Shen")
    assert paper.url == f"https://arxiv.org/abs/{LORA}" and paper.path == str(path)
    assert path == settings.pdf_cache / f"{LORA}.pdf"
    assert path.read_bytes() == server.pdf
    assert (server.count("api"), server.count("pdf")) == (1, 1)
    assert events == [(LORA, "downloading"), (LORA, "downloaded")]
    assert not list(settings.pdf_cache.glob(".*"))  # no temp files

    again = fetch_papers([LORA], settings)  # cached: no request, same title (kept metadata)
    assert again.papers == report.papers
    assert len(server.requests) == 2


def test_mirror_hit_is_used_in_place_without_requests(tmp_path: Path, server: FakeArxiv) -> None:
    settings = _settings(tmp_path, server, mirror_dirs=[tmp_path / "nothing", PDFS])
    events: list[tuple[str, str]] = []
    report = fetch_papers(["1910.01108", "1909.11942"], settings,
                          lambda i, s: events.append((i, s)))

    assert report.failures == []
    assert [path for _, path in report.papers] == [PDFS / "1910.01108.pdf",
                                                   PDFS / "1909.11942.pdf"]
    distil, albert = (paper for paper, _ in report.papers)
    assert distil.title.startswith("DistilBERT") and distil.year == 2019  # from the manifest
    assert albert.title.startswith("ALBERT") and albert.url.endswith("/abs/1909.11942")
    assert events == [("1910.01108", "mirror"), ("1909.11942", "mirror")]
    assert server.requests == []
    assert _leftovers(settings) == []  # nothing copied


@needs_corpus
def test_paper_not_on_arxiv_comes_from_the_mirror(tmp_path: Path, server: FakeArxiv) -> None:
    settings = _settings(tmp_path, server, mirror_dirs=[CORPUS_PDFS])
    report = fetch_papers(["gpt1"], settings)
    ((gpt1, path),) = report.papers
    assert path == CORPUS_PDFS / "gpt1.pdf" and gpt1.url == ""
    assert gpt1.title == "Improving Language Understanding by Generative Pre-Training"
    assert server.requests == []


def test_offline_missing_paper_fails_without_network(tmp_path: Path, server: FakeArxiv) -> None:
    settings = _settings(tmp_path, server, offline=True, mirror_dirs=[PDFS])
    report = fetch_papers(["1910.01108", "2203.15556"], settings)

    assert [p.doc_id for p, _ in report.papers] == ["1910.01108"]
    ((doc_id, reason),) = report.failures
    assert doc_id == "2203.15556"
    assert "offline" in reason and "RAG_MIRROR_DIRS" in reason
    assert server.requests == []


def test_gpt_papers_and_bad_ids_never_touch_the_network(tmp_path: Path, server: FakeArxiv) -> None:
    report = fetch_papers(["gpt2", "hello", "28.4", "2113.12345"], _settings(tmp_path, server))

    reasons = dict(report.failures)
    assert "put gpt2.pdf in a mirror folder (RAG_MIRROR_DIRS)" in reasons["gpt2"]
    for bad in ("hello", "28.4", "2113.12345"):
        assert reasons[bad].startswith(f"not an arXiv id: {bad}")
    assert report.papers == [] and server.requests == []


def test_stale_temp_files_are_removed_and_bad_cache_replaced(
    tmp_path: Path, server: FakeArxiv
) -> None:
    settings = _settings(tmp_path, server)
    settings.pdf_cache.mkdir(parents=True)
    stale = settings.pdf_cache / f".{LORA}.abc123.part"
    stale.write_bytes(b"%PDF-half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    (settings.pdf_cache / f"{LORA}.pdf").write_text("<html>not a pdf</html>")

    report = fetch_papers([LORA], settings)

    assert not stale.exists()
    assert report.failures == [] and report.papers[0][1].read_bytes() == server.pdf
    assert server.count("pdf") == 1
