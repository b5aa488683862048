"""fetch_papers against a real loopback HTTP server playing arXiv (API feed and PDFs).

The real `arxiv` client and our downloader talk HTTP to 127.0.0.1; the server counts every
request, so "no network call" claims are checked, not assumed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

import pytest

from common.settings import Settings
from ingest.download import FetchError, download_pdf
from ingest.fetch import fetch_papers
from tests.conftest import CORPUS_PDFS, PDFS, needs_corpus

LORA = "2106.09685"  # not in the manifest: its title can only come from the feed
LORA_TITLE = "LoRA: Low-Rank Adaptation of Large Language Models"

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>arXiv Query: id_list={ids}</title>
  <opensearch:totalResults>{n}</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <opensearch:itemsPerPage>{n}</opensearch:itemsPerPage>
{entries}
</feed>"""

ENTRY = """  <entry>
    <id>http://arxiv.org/abs/{id}v2</id>
    <updated>2021-10-16T18:40:34Z</updated>
    <published>2021-06-17T17:37:18Z</published>
    <title>{title}</title>
    <summary>An abstract.</summary>
    <author><name>Edward J. Hu</name></author>
    <author><name>Yelong Shen</name></author>
    <link href="http://arxiv.org/abs/{id}v2" rel="alternate" type="text/html"/>
    <link title="pdf" href="{base}/pdf/{id}v2" rel="related" type="application/pdf"/>
    <arxiv:primary_category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""


class FakeArxiv:
    """What the server knows and does. `pdf_script[id]`: one behaviour per request ("ok",
    "500", "half", "html"); the last one repeats. `api_script`: behaviours of API requests."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        self.titles: dict[str, str] = {}
        self.pdf_script: dict[str, list[str]] = {}
        self.api_script: list[str] = []
        self.requests: list[str] = []
        self.base = ""

    def count(self, kind: str) -> int:
        return sum(1 for r in self.requests if r.startswith(f"/{kind}"))

    def next_behaviour(self, script: list[str]) -> str:
        return (script.pop(0) if len(script) > 1 else script[0]) if script else "ok"


def _handler(fake: FakeArxiv) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            fake.requests.append(self.path)
            url = urlparse(self.path)
            if url.path == "/api/query":
                self._api(parse_qs(url.query).get("id_list", [""])[0].split(","))
            elif url.path.startswith("/pdf/"):
                self._pdf(url.path.removeprefix("/pdf/").rsplit("v", 1)[0])
            else:
                self._send(404, b"not found", "text/plain")

        def _api(self, ids: list[str]) -> None:
            if fake.next_behaviour(fake.api_script) == "500":
                return self._send(500, b"busy", "text/plain")
            known = [i for i in ids if i in fake.titles]
            entries = "\n".join(
                ENTRY.format(id=i, title=escape(fake.titles[i]), base=fake.base) for i in known
            )
            feed = FEED.format(ids=",".join(ids), n=len(known), entries=entries)
            self._send(200, feed.encode(), "application/atom+xml")

        def _pdf(self, doc_id: str) -> None:
            behaviour = fake.next_behaviour(fake.pdf_script.setdefault(doc_id, []))
            if behaviour == "500":
                self._send(500, b"<html>Internal Server Error</html>", "text/html")
            elif behaviour == "html":
                self._send(
                    200, b"<!DOCTYPE html><html>PDF is being generated</html>" * 50, "text/html"
                )
            elif behaviour == "half":  # announce the whole PDF, send half, hang up
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", str(len(fake.pdf)))
                self.end_headers()
                self.wfile.write(fake.pdf[: len(fake.pdf) // 2])
                self.close_connection = True
            else:
                self._send(200, fake.pdf, "application/pdf")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArxiv]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # never route loopback via a proxy
    fake = FakeArxiv((PDFS / "1910.01108.pdf").read_bytes())
    fake.titles[LORA] = LORA_TITLE
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    httpd.daemon_threads = True
    fake.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    httpd.shutdown()
    httpd.server_close()


def _settings(tmp_path: Path, fake: FakeArxiv, **kw: object) -> Settings:
    base = dict(
        home=tmp_path,
        mirror_dirs=[],
        offline=False,
        arxiv_delay_s=0,
        arxiv_retries=3,
        arxiv_api_url=f"{fake.base}/api/query?{{}}",
    )
    return Settings(**(base | kw))


def _leftovers(settings: Settings) -> list[str]:
    """Everything in the cache folder (temp files included): empty after a failure."""
    return sorted(p.name for p in settings.pdf_cache.iterdir())


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


def test_download_pdf_raises_fetch_error(tmp_path: Path, server: FakeArxiv) -> None:
    settings = _settings(tmp_path, server, arxiv_retries=0)
    dest = tmp_path / "x.pdf"
    with pytest.raises(FetchError, match="HTTP 404"):
        download_pdf(f"{server.base}/nowhere", dest, settings)
    assert not dest.exists() and list(tmp_path.glob(".*")) == []
