"""Ingest stage: turn a paper's PDF (or a reading note) into pages and a `Document`.

pypdf (pure Python) extracts each page's text in content-stream order. For LaTeX papers that
order is already the reading order, two-column ones included: the stream draws the left
column, then the right one, so no sentence is spliced across columns. (pypdf's
`extraction_mode="layout"` is not what we want: it lays lines out by position and so
interleaves the two columns line by line.) Some PDFs are drawn out of order, e.g. a title
and abstract overlaid after the body; `ingest.layout` detects such pages and rebuilds their
reading order from the text positions.

Pages are processed one at a time (`iter_pages`), so a 1,000-page PDF never has to be held
whole; the cleaning rules live in `ingest.clean`. Every failure to read a file becomes a
`ParseError` whose message names the file and says what to do.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError, PyPdfError
from pypdf.generic import DecodedStreamObject, NameObject

from common.files import PDF_HEAD_BYTES, file_sha256, looks_like_pdf
from common.lang import detect_lang
from ingest.clean import HeaderFooterFilter, Vocabulary, clean_page_lines, normalize_chars
from ingest.layout import reading_order_text
from ingest.types import PAGE_SEPARATOR, Document, Page, Paper

log = logging.getLogger(__name__)

NO_TEXT = "no extractable text; run OCR (e.g. ocrmypdf) first"
_WARMUP_PAGES = 8  # pages buffered to learn running headers before the first one is yielded
_LANG_SAMPLE = 20_000  # characters of a paper enough to tell its language


class ParseError(Exception):
    """A file that cannot be turned into text; str() names the file and what to do."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = " ".join(reason.split())  # one line, whatever pypdf said
        super().__init__(f"cannot read {self.path}: {self.reason}")


# ---------------------------------------------------------------- opening


def _open_file(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ParseError(path, f"cannot open the file ({exc.strerror}); check the path") from exc


def _check_header(path: Path, fh: BinaryIO) -> None:
    """Reject empty files, HTML pages saved as .pdf and other non-PDF bytes up front."""
    head = fh.read(PDF_HEAD_BYTES)
    fh.seek(0)
    if not head:
        raise ParseError(path, "empty file (0 bytes); download or export it again")
    if looks_like_pdf(head):
        return
    if re.search(rb"<(!doctype html|html|head|body)\b", head.lower()):
        raise ParseError(
            path, "an HTML page saved as .pdf, not a PDF; download the PDF file itself"
        )
    raise ParseError(path, "not a PDF (no %PDF- header); check the file or download it again")


def _open_reader(path: Path, fh: BinaryIO) -> PdfReader:
    """A PdfReader on `fh`, decrypted if an empty password opens it."""
    _check_header(path, fh)
    try:
        reader = PdfReader(fh)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError(
                path, "encrypted PDF that needs a password; save an unencrypted copy first"
            )
        if len(reader.pages) == 0:
            raise ParseError(path, "PDF has no pages; download or export it again")
    except DependencyError as exc:
        raise ParseError(path, f"encrypted PDF pypdf cannot open ({exc})") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ParseError(path, f"corrupt or truncated PDF ({exc}); download it again") from exc
    return reader


# ---------------------------------------------------------------- one page


def _repair_font_names(page: PageObject) -> bool:
    """Drop NUL bytes glued to names in the page's content stream ("/Font4\\x00 1 Tf").

    Some tools that overlay a title/abstract write such names; pypdf then finds no font
    and emits U+FFFD for every glyph. Returns True when the stream was changed.
    """
    contents = page.get_contents()
    if contents is None:
        return False
    data = contents.get_data()
    fixed = re.sub(rb"(/[^\s/\[\]()<>{}%\x00]+)\x00+", rb"\1", data)
    if fixed == data:
        return False
    stream = DecodedStreamObject()
    stream.set_data(fixed)
    page[NameObject("/Contents")] = stream
    return True


def _page_text(page: PageObject) -> str:
    """The page's raw text in reading order."""
    text = reading_order_text(page)
    if text.count("\ufffd") >= 10 and _repair_font_names(page):
        log.info("repaired NUL-terminated font names on a page; re-extracting")
        text = reading_order_text(page)
    return text


def _raw_pages(path: Path, reader: PdfReader) -> Iterator[tuple[int, list[str]]]:
    """(1-based number, normalised lines) of each page; a failing page is a ParseError."""
    for index in range(len(reader.pages)):
        try:
            text = _page_text(reader.pages[index])
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ParseError(
                path, f"page {index + 1} is damaged ({exc}); download the PDF again"
            ) from exc
        yield index + 1, normalize_chars(text).split("\n")


# ---------------------------------------------------------------- pages


def _cleaned(path: Path, reader: PdfReader) -> Iterator[Page]:
    """Cleaned pages; the first `_WARMUP_PAGES` are held back to learn running headers
    (and the document's vocabulary) before the first page is cleaned."""
    headers = HeaderFooterFilter()
    vocab = Vocabulary()  # words and hyphenated pairs seen so far, to mend line-end hyphens
    buffer: list[tuple[int, list[str]]] = []
    for number, lines in _raw_pages(path, reader):
        headers.observe(lines)
        vocab.update("\n".join(lines))
        buffer.append((number, lines))
        if len(buffer) >= _WARMUP_PAGES or number == len(reader.pages):
            for num, page_lines in buffer:
                text = clean_page_lines(headers.clean(page_lines, num), vocab)
                yield Page(num, text)
            buffer.clear()


def iter_pages(path: Path) -> Iterator[Page]:
    """Yield the cleaned pages of the PDF at `path`, one at a time, numbered from 1.

    The first few pages are buffered so running headers can be learned before any page is
    yielded; after that each page is cleaned and yielded as soon as it is read. An empty
    page stays an empty `Page` (so numbers match the PDF viewer's), but blank pages are held
    until a page with text shows up: a PDF with no text layer at all yields nothing and
    raises `ParseError` (as does any unreadable file).
    """
    path = Path(path)
    blanks: list[Page] = []  # leading blank pages, held until some page has text
    seen_text = False
    with _open_file(path) as fh:
        for page in _cleaned(path, _open_reader(path, fh)):
            if not page.text and not seen_text:
                blanks.append(page)
                continue
            seen_text = True
            yield from blanks
            blanks.clear()
            yield page
    if not seen_text:
        raise ParseError(path, NO_TEXT)


def extract_pages(path: Path) -> list[Page]:
    """All cleaned pages of the PDF at `path` (see `iter_pages`)."""
    return list(iter_pages(path))


# ---------------------------------------------------------------- documents


def _join_pages(pages: list[Page]) -> tuple[str, tuple[int, ...]]:
    """Page texts joined by PAGE_SEPARATOR and the offset where each page starts."""
    offsets, parts, position = [], [], 0
    for i, page in enumerate(pages):
        if i:
            parts.append(PAGE_SEPARATOR)
            position += len(PAGE_SEPARATOR)
        offsets.append(position)
        parts.append(page.text)
        position += len(page.text)
    return "".join(parts), tuple(offsets)


_MD_IMAGE = re.compile(r"<img\b[^>]*>|!\[[^\]]*\]\([^)]*\)", re.IGNORECASE)


def read_note(path: Path) -> str:
    """A reading note's text: NFKC, line structure kept, HTML/markdown images removed.

    Image tags (`<img src=...>`, `![alt](url)`) carry nothing to retrieve, so they go;
    markdown links and headings stay as written.
    """
    try:
        raw = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise ParseError(path, f"cannot open the note ({exc})") from exc
    text = unicodedata.normalize("NFKC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = _MD_IMAGE.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def note_title(text: str, fallback: str) -> str:
    """A reading note's title: its first non-empty line without '#', at most ~80 chars.

    >>> note_title("\\n# GPT-1\\n- GPT-1", "note")
    'GPT-1'
    """
    for line in text.splitlines():
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line).strip().lstrip("#").strip()
        if title:
            return title if len(title) <= 80 else title[:79].rstrip() + "…"
    return fallback


def load_document(path: Path, paper: Paper) -> Document:
    """Read `path` (.pdf, or a .txt/.md reading note) into a `Document` for `paper`.

    A PDF's pages are joined with PAGE_SEPARATOR and `page_offsets` records where each page
    starts; a note is a single page. `lang` comes from the text (a sample of it for papers),
    `sha256` from the file's bytes, so an unchanged file needs no re-embedding.
    """
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        text, offsets = _join_pages(extract_pages(path))
    elif path.suffix.lower() in {".txt", ".md", ".markdown"}:
        text, offsets = read_note(path), (0,)
    else:
        raise ParseError(path, "unsupported file type; give a .pdf, .txt or .md file")
    lang = detect_lang(text[:_LANG_SAMPLE])
    log.info("loaded %s: %d chars, %d pages, lang=%s", path.name, len(text), len(offsets), lang)
    return Document(paper=paper, text=text, page_offsets=offsets, lang=lang,
                    sha256=file_sha256(path))
