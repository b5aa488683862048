"""fetch_papers when arXiv fails: retries, truncated or HTML bodies, unknown ids, no server.

Against the loopback arXiv of tests/fetch_kit.py, scripted to answer 500, half a PDF or an
HTML page; every request is counted, so the number of tries is checked, and a failure must
leave no partial or temp file behind. Sources and the cache: tests/test_fetch.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ingest.download import FetchError, download_pdf
from ingest.fetch import fetch_papers
from tests import fetch_kit
from tests.fetch_kit import LORA, LORA_TITLE, FakeArxiv, _leftovers, _settings

server = fetch_kit.server  # the loopback arXiv (a fixture)


def test_pdf_500_then_ok_is_retried(tmp_path: Path, server: FakeArxiv) -> None:
    server.pdf_script[LORA] = ["500", "500", "ok"]
    report = fetch_papers([LORA], _settings(tmp_path, server))

    assert report.failures == [] and report.papers[0][1].read_bytes() == server.pdf
    assert server.count("pdf") == 3


def test_api_500_then_ok_is_retried_by_the_arxiv_client(tmp_path: Path, server: FakeArxiv) -> None:
    server.api_script = ["500", "ok"]
    report = fetch_papers([LORA], _settings(tmp_path, server))

    assert report.failures == [] and report.papers[0][0].title == LORA_TITLE
    assert server.count("api") == 2


def test_pdf_always_500_fails_cleanly(tmp_path: Path, server: FakeArxiv) -> None:
    server.pdf_script[LORA] = ["500"]
    settings = _settings(tmp_path, server, arxiv_retries=2)
    report = fetch_papers([LORA], settings)

    ((doc_id, reason),) = report.failures
    assert doc_id == LORA and "HTTP 500" in reason and "after 3 tries" in reason
    assert "mirror folder" in reason
    assert server.count("pdf") == 3
    assert report.papers == [] and _leftovers(settings) == []


def test_truncated_pdf_is_retried_then_fails_without_partial_file(
    tmp_path: Path, server: FakeArxiv
) -> None:
    server.pdf_script[LORA] = ["half"]
    settings = _settings(tmp_path, server)
    report = fetch_papers([LORA], settings)

    ((_, reason),) = report.failures
    assert "truncated body" in reason and "after 4 tries" in reason
    assert server.count("pdf") == 4
    assert _leftovers(settings) == []


def test_truncated_pdf_then_full_succeeds(tmp_path: Path, server: FakeArxiv) -> None:
    server.pdf_script[LORA] = ["half", "ok"]
    report = fetch_papers([LORA], _settings(tmp_path, server))

    assert report.failures == [] and report.papers[0][1].read_bytes() == server.pdf


def test_html_instead_of_pdf_fails_at_once(tmp_path: Path, server: FakeArxiv) -> None:
    server.pdf_script[LORA] = ["html"]
    settings = _settings(tmp_path, server)
    report = fetch_papers([LORA], settings)

    ((_, reason),) = report.failures
    assert "HTML, not a PDF" in reason
    assert server.count("pdf") == 1  # not worth retrying
    assert _leftovers(settings) == []


def test_id_unknown_to_arxiv(tmp_path: Path, server: FakeArxiv) -> None:
    report = fetch_papers(["2401.99999"], _settings(tmp_path, server))

    assert report.failures == [("2401.99999", "arXiv has no paper 2401.99999: check the id")]
    assert server.count("pdf") == 0


def test_unreachable_arxiv_is_a_failure_not_a_crash(tmp_path: Path, server: FakeArxiv) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = _settings(tmp_path, server, arxiv_api_url=f"http://127.0.0.1:{port}/q?{{}}")
    report = fetch_papers([LORA], settings)

    ((_, reason),) = report.failures
    assert reason.startswith("arXiv unreachable (connection refused)")
    assert "RAG_MIRROR_DIRS" in reason


def test_download_pdf_raises_fetch_error(tmp_path: Path, server: FakeArxiv) -> None:
    settings = _settings(tmp_path, server, arxiv_retries=0)
    dest = tmp_path / "x.pdf"
    with pytest.raises(FetchError, match="HTTP 404"):
        download_pdf(f"{server.base}/nowhere", dest, settings)
    assert not dest.exists() and list(tmp_path.glob(".*")) == []
