"""PDF extraction of files that cannot be read: each fails with a one-line ParseError.

The message names the file and says what to do: a missing file, a truncated PDF, random
bytes or an HTML page saved as .pdf, an empty file, a password-protected PDF (one with an
empty user password opens) and a PDF with no text layer (a scan). The broken files are made
in tmp_path, from a committed paper where a real one is needed.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from ingest.pdf import NO_TEXT, ParseError, extract_pages
from tests.conftest import PDFS


def _expect_parse_error(path: Path, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        extract_pages(path)
    message = str(info.value)
    assert path.name in message and "\n" not in message
    assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    _expect_parse_error(tmp_path / "missing.pdf", "check the path")


def test_truncated_pdf(tmp_path: Path) -> None:
    data = (PDFS / "1910.01108.pdf").read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    _expect_parse_error(path, "download it again")


def test_random_bytes_named_pdf(tmp_path: Path) -> None:
    path = tmp_path / "random.pdf"
    path.write_bytes(bytes(range(256)) * 40)
    _expect_parse_error(path, "not a PDF")


def test_html_saved_as_pdf(tmp_path: Path) -> None:
    path = tmp_path / "1810.04805.pdf"
    path.write_text("<!DOCTYPE html>\n<html><head><title>arXiv</title></head></html>")
    _expect_parse_error(path, "HTML")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    _expect_parse_error(path, "empty file")


def _one_real_page() -> PdfWriter:
    writer = PdfWriter()
    writer.add_page(PdfReader(PDFS / "1910.01108.pdf").pages[0])
    return writer


def test_encrypted_pdf(tmp_path: Path) -> None:
    locked = _one_real_page()
    locked.encrypt("secret", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    locked.write(path)
    _expect_parse_error(path, "password")


def test_encrypted_pdf_with_empty_password_opens(tmp_path: Path) -> None:
    writer = _one_real_page()
    writer.encrypt("", owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "restricted.pdf"
    writer.write(path)
    assert "DistilBERT" in extract_pages(path)[0].text


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    path = tmp_path / "scan.pdf"
    path.write_bytes(buffer.getvalue())
    _expect_parse_error(path, NO_TEXT)
