"""Helpers of the hardening suite (tests/test_hardening_*.py): real files, real processes.

- `text_pdf`: a real PDF with a real text layer in any script (Latin, Hangul, Han), written
  by hand (Type0 font, Identity-H, ToUnicode CMap), so no PDF library is needed to make one.
- `index_state`: the live index version and a sha256 over all its files, to prove "unchanged".
- `FakeLLM`: an OpenAI-compatible chat endpoint on loopback ("ok", "500" or "hang").
- `rag_env` / `run_rag`: environment and subprocess runs of the real `.venv/bin/rag`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import PDFS

RAG = Path(sys.executable).with_name("rag")
LINE_SPACING = 14


# ---------------------------------------------------------------- PDFs with a text layer


def _cmap(chars: set[str]) -> bytes:
    codes = sorted(ord(c) for c in chars)
    blocks = []
    for i in range(0, len(codes), 100):
        part = codes[i : i + 100]
        pairs = "\n".join(f"<{c:04X}> <{c:04X}>" for c in part)
        blocks.append(f"{len(part)} beginbfchar\n{pairs}\nendbfchar")
    return ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Seed-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n" + "\n".join(blocks) +
            "\nendcmap CMapName currentdict /CMap defineresource pop end end").encode()


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def text_pdf(path: Path, pages: list[list[str]]) -> Path:
    """Write `pages` (lines of text each, BMP characters) as a PDF whose text pypdf reads."""
    chars = {c for page in pages for line in page for c in line}
    n = len(pages)
    font, desc, fdesc, cmap = 3, 4, 5, 6  # 1 catalog, 2 page tree, pages from 7 (page, content)
    objs: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Count %d /Kids [%s] >>"
           % (n, b" ".join(b"%d 0 R" % (7 + 2 * i) for i in range(n))),
        font: b"<< /Type /Font /Subtype /Type0 /BaseFont /SeedText /Encoding /Identity-H "
              b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (desc, cmap),
        desc: b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SeedText /CIDSystemInfo "
              b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor "
              b"%d 0 R /DW 1000 /W [32 126 520] /CIDToGIDMap /Identity >>" % fdesc,
        fdesc: b"<< /Type /FontDescriptor /FontName /SeedText /Flags 4 /FontBBox [0 -200 1000 "
               b"900] /ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>",
        cmap: _stream(_cmap(chars)),
    }
    for i, lines in enumerate(pages):
        ops = [b"BT /F1 10 Tf"]
        for j, line in enumerate(lines):
            hexed = "".join(f"{ord(c):04X}" for c in line).encode()
            ops.append(b"1 0 0 1 72 %d Tm <%s> Tj" % (740 - LINE_SPACING * j, hexed))
        ops.append(b"ET")
        objs[7 + 2 * i] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                           b"<< /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font, 8 + 2 * i))
        objs[8 + 2 * i] = _stream(b"\n".join(ops))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, objs[num])
    xref = len(out)
    size = max(objs) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[k] for k in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    path.write_bytes(bytes(out))
    return path


def wrap(text: str, width: int) -> list[str]:
    """Cut `text` into lines of at most `width` characters (at spaces when there are any)."""
    lines, line = [], ""
    for word in text.split(" ") if " " in text else list(text):
        sep = " " if line and " " in text else ""
        if len(line) + len(sep) + len(word) > width and line:
            lines.append(line)
            line, sep = "", ""
        line += sep + word
    return lines + [line] if line else lines


_NOUNS = ("encoder", "decoder", "tokenizer", "attention head", "feed-forward block", "optimizer",
          "learning rate", "batch size", "vocabulary", "benchmark", "corpus", "student model")
_VERBS = ("improves", "reduces", "stabilises", "doubles", "halves", "replaces")


def fake_paper(path: Path, seed: int, pages: int, lines: int = 20) -> Path:
    """A made-up paper of `pages` pages of plain English sentences, the same for a seed."""
    import random

    rng = random.Random(seed)
    words = " ".join(
        f"The {rng.choice(_NOUNS)} {rng.choice(_VERBS)} the {rng.choice(_NOUNS)} of the "
        f"{rng.choice(_NOUNS)} by {rng.randint(2, 97)} percent in run {seed}-{i}."
        for i in range(pages * lines)
    )
    rows = wrap(words, 85)
    return text_pdf(path, [rows[i : i + lines] for i in range(0, len(rows), lines)][:pages])


def lock_holder(lock: Path) -> int | None:
    """The pid holding a flock/POSIX lock on `lock` (from /proc/locks), or None."""
    if not lock.exists():
        return None
    inode = str(lock.stat().st_ino)
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "->" not in parts and len(parts) > 5 and parts[5].split(":")[-1] == inode:
            return int(parts[4])
    return None


# ---------------------------------------------------------------- index state


def index_state(index_dir: Path) -> tuple[str, str]:
    """(name in CURRENT, sha256 over every file of that version) -- or ("", "") for none."""
    current = index_dir / "CURRENT"
    if not current.is_file():
        return "", ""
    name = current.read_text().strip()
    h = hashlib.sha256()
    for f in sorted(p for p in (index_dir / "versions" / name).rglob("*") if p.is_file()):
        h.update(str(f.relative_to(index_dir)).encode() + b"\0" + f.read_bytes())
    return name, h.hexdigest()


# ---------------------------------------------------------------- running `rag`


def rag_env(home: Path, cache: Path, **extra: str) -> dict[str, str]:
    """RAG_* variables for a throw-away home: offline, no mirrors, no default notes."""
    env = {"RAG_HOME": str(home), "RAG_CACHE_DIR": str(cache), "RAG_OFFLINE": "1",
           "RAG_MIRROR_DIRS": "[]", "RAG_NOTES_DIRS": "[]", "RAG_ARXIV_DELAY_S": "0",
           "RAG_LLM_BASE_URL": "", "RAG_LLM_GGUF": ""}
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def subprocess_env(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return base | env | {"HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}


def popen_rag(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(RAG), *args], env=subprocess_env(env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_rag(args: list[str], env: dict[str, str], timeout_s: float = 600):
    return subprocess.run([str(RAG), *args], env=subprocess_env(env), capture_output=True,
                          text=True, timeout=timeout_s)


def copy_paper(doc_id: str, folder: Path, name: str | None = None) -> Path:
    dest = folder / (name or f"{doc_id}.pdf")
    dest.write_bytes((PDFS / f"{doc_id}.pdf").read_bytes())
    return dest


def wait_for(check, timeout_s: float, what: str, proc: subprocess.Popen | None = None):
    """Poll `check()` every 20 ms until it is truthy; fail (naming `what`) on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended before {what}: {proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# ---------------------------------------------------------------- an OpenAI-compatible LLM


class FakeLLM:
    """`behaviour`: "ok" (answers `reply`, streamed or not), "500", or "hang" (never answers
    within the client's timeout). `requests` keeps every request body."""

    def __init__(self, reply: str = "") -> None:
        self.reply, self.behaviour = reply, "ok"
        self.requests: list[dict] = []
        self.url = ""


def _llm_handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(body)
            if fake.behaviour == "hang":
                time.sleep(5)
                return
            if fake.behaviour == "500":
                return self._send(500, b'{"error": {"message": "model crashed"}}')
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m"}
            if not body.get("stream"):
                msg = {"role": "assistant", "content": fake.reply}
                out = chunk | {"object": "chat.completion",
                               "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}]}
                return self._send(200, json.dumps(out).encode())
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece, stop in ((fake.reply, None), ("", "stop")):
                delta = {"role": "assistant", "content": piece} if piece else {}
                data = chunk | {"choices": [{"index": 0, "delta": delta, "finish_reason": stop}]}
                self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def fake_llm(reply: str = "") -> Iterator[FakeLLM]:
    fake = FakeLLM(reply)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _llm_handler(fake))
    httpd.daemon_threads = True
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
