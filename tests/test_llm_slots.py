"""An OpenAI-compatible server whose slots are full (429/503) and the slots Seed keeps to: a
real HTTP server on loopback that answers like llama.cpp's or vLLM's when busy."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.llm import chat_model
from rag.llm_errors import LLMError
from tests.conftest import small_settings

COMPLETION = {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "ok"}}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


class Busy:
    """What the server does: refuse the first `refuse` requests with `status`, hold each
    answer `hold_s`, and count requests and the most ever in flight."""

    def __init__(self, refuse: int = 0, status: int = 503, hold_s: float = 0.0) -> None:
        self.refuse, self.status, self.hold_s = refuse, status, hold_s
        self.requests = self.in_flight = self.most = 0
        self.lock = threading.Lock()


def serve(busy: Busy) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with busy.lock:
                busy.requests += 1
                refused = busy.requests <= busy.refuse
                busy.in_flight += 1
                busy.most = max(busy.most, busy.in_flight)
            time.sleep(busy.hold_s)
            body = json.dumps({"error": {"message": "all slots are busy"}} if refused
                              else COMPLETION).encode()
            self.send_response(busy.status if refused else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with busy.lock:
                busy.in_flight -= 1

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def busy_server(request):
    busy = Busy(**getattr(request, "param", {}))
    server = serve(busy)
    yield busy, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _model(tmp_path, url: str, **kw):
    return chat_model(small_settings(tmp_path, llm_base_url=url, **kw))


@pytest.mark.parametrize("busy_server", [{"refuse": 2, "status": 503}], indirect=True)
def test_busy_server_is_retried_until_it_answers(busy_server, tmp_path):
    busy, url = busy_server
    assert _model(tmp_path, url, llm_retries=3).invoke("hi").content == "ok"
    assert busy.requests == 3


@pytest.mark.parametrize("busy_server", [{"refuse": 99, "status": 429}], indirect=True)
def test_retries_end_in_one_line_error(busy_server, tmp_path):
    busy, url = busy_server
    with pytest.raises(LLMError, match="HTTP 429") as e:
        _model(tmp_path, url, llm_retries=1).invoke("hi")
    assert "\n" not in str(e.value) and busy.requests == 2


@pytest.mark.parametrize("busy_server", [{"hold_s": 0.4}], indirect=True)
@pytest.mark.parametrize("slots", [2, 4])
def test_no_more_requests_in_flight_than_slots(busy_server, tmp_path, slots):
    busy, url = busy_server
    models = [_model(tmp_path, url, llm_slots=slots) for _ in range(4)]  # e.g. 4 UI workers
    threads = [threading.Thread(target=m.invoke, args=("hi",)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert busy.requests == 4 and busy.most == slots
