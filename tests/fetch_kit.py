"""The loopback arXiv of tests/test_fetch*.py: a real HTTP server playing arXiv (API feed, PDFs).

The real `arxiv` client and our downloader talk HTTP to 127.0.0.1; the server counts every
request, so "no network call" claims are checked, not assumed. `FakeArxiv` scripts what it
answers, `server` (a fixture) runs it, `_settings` points Seed at it, `_leftovers` lists the
cache folder. tests/test_hardening_faults.py reuses it (and swaps `_handler`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

import pytest

from common.settings import Settings
from tests.conftest import PDFS

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
