"""The web UI (shell/web.py) over a real small index: uploads and the server's limits.

Through the real upload handler and the real Gradio server (HTTP on 127.0.0.1, the kit of
tests/app_kit.py): bad uploads (not a PDF, an .exe, a broken PDF, a bad arXiv id) leave
the index unchanged, a good note is added and found by search, the server binds loopback
only and refuses an oversize upload. Answers: tests/test_app.py.
"""

from __future__ import annotations

import pytest

from tests import app_kit

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

home = app_kit.home  # a private copy of the small index (a fixture)
server = app_kit.server  # the UI over it, with a scripted model (a fixture)


def current(settings) -> str:
    return (settings.index_dir / "CURRENT").read_text()


def test_bad_uploads_change_nothing(home, tmp_path):
    from shell.web import Live, add_to_index

    live = Live(home, None)
    before = current(home)
    fake = tmp_path / "paper.pdf"
    fake.write_text("this is not a pdf")
    assert "not a PDF" in add_to_index(live, str(fake), "", "en")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00")
    assert "unsupported file type" in add_to_index(live, str(exe), "", "en")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n%garbage that no parser can read\n")
    message = add_to_index(live, str(broken), "", "ko")
    assert message.startswith("추가된 것이 없습니다") and "broken.pdf" in message
    assert "arXiv id" in add_to_index(live, None, "not-an-id", "en")
    assert current(home) == before
    assert not list((home.home / "uploads").glob("*/broken.pdf"))


def test_good_note_is_added_and_searchable(home, tmp_path):
    from shell.web import Live, add_to_index

    live = Live(home, None)
    before, docs = current(home), set(live.assistant.retriever.index.meta.docs)
    note = tmp_path / "rotary_note.md"
    note.write_text("# RoFormer 노트\n\nRoPE(rotary position embedding)는 쿼리와 키 벡터를 "
                    "위치에 따라 회전시켜 상대 위치 정보를 어텐션에 넣는다.\n", encoding="utf-8")
    message = add_to_index(live, str(note), "", "en")
    assert message.startswith("Added to the index") and "rotary_note" in message
    assert current(home) != before
    assert set(live.assistant.retriever.index.meta.docs) == docs | {"rotary_note"}
    hits = live.assistant.retriever.search("RoPE 회전 위치 임베딩", 3)
    assert hits[0].chunk.doc_id == "rotary_note"
    assert add_to_index(live, str(note), "", "en").startswith("Already in the index")


def test_upload_through_the_server_reports_progress_and_refuses_bad_files(server, tmp_path):
    fake = tmp_path / "notapdf.pdf"
    fake.write_text("hello")
    client = gradio_client.Client(server, verbose=False)
    status, info, _ = client.predict(gradio_client.handle_file(str(fake)), "", api_name="/add")
    assert "not a PDF" in status and "documents" in info


def test_server_binds_loopback_and_limits_upload_size(server):
    import requests

    from shell import web

    assert server.startswith("http://127.0.0.1:") and web.HOST == "127.0.0.1"
    big = b"%PDF-1.4\n" + b"0" * ((web.MAX_UPLOAD_MB << 20) + 1)
    r = requests.post(server.rstrip("/") + "/gradio_api/upload",
                      files={"files": ("big.pdf", big, "application/pdf")}, timeout=60)
    assert r.status_code in (400, 413), r.text[:200]
    assert set(web.UPLOAD_TYPES) == {".pdf", ".md", ".txt"}
