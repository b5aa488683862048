"""PDF and note extraction on the real corpus: reading order, cleaning, page numbers.

Three papers and five notes are committed under tests/data; the other papers come from the
corpus in ../shared beside the repo (27 arXiv PDFs), and a test that needs one skips
without it. Extracted documents are cached per module, so each PDF is read once. The
full-corpus sweep (747 pages, ~30 s of pure-Python pypdf) is marked slow. Files that
cannot be read: tests/test_pdf_errors.py.
"""

from __future__ import annotations

import csv
import re
from functools import cache

import pytest

import ingest.pdf
from ingest.clean import join_hyphenated, normalize_chars, strip_arxiv_stamp
from ingest.pdf import extract_pages, iter_pages, load_document, note_title
from ingest.types import PAGE_SEPARATOR, Page, Paper
from tests.conftest import CORPUS, PDFS, SEEDS, SOURCES, needs_corpus, pdf_path

LIGATURES = re.compile("[\ufb00-\ufb06]")


@cache
def sources() -> dict[str, dict[str, str]]:
    """Title, pages and sha256 of each PDF: the whole corpus's, else the committed three's."""
    tsv = CORPUS / "SOURCES.tsv" if (CORPUS / "SOURCES.tsv").is_file() else SOURCES
    with tsv.open(encoding="utf-8") as fh:
        return {row["id"]: row for row in csv.DictReader(fh, delimiter="\t")}


@cache
def pages(doc_id: str) -> tuple[Page, ...]:
    """The extracted pages of one PDF (each PDF is extracted once per test run)."""
    return tuple(extract_pages(pdf_path(doc_id)))


def flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- two-column reading order

# Each sentence runs from the bottom of the left column to the top of the right one (or
# across a line break near it); it must come out whole, with nothing from elsewhere inside.
COLUMN_SENTENCES = [
    (
        "1910.13461",  # BART
        1,
        "Recent work has shown gains by improving the distribution of masked tokens "
        "(Joshi et al., 2019), the order in which masked tokens are predicted "
        "(Yang et al., 2019), and the available context for replacing masked tokens "
        "(Dong et al., 2019).",
    ),
    (
        "1910.13461",
        3,
        "In both of these tasks, information is copied from the input but manipulated, "
        "which is closely related to the denoising pre-training objective.",
    ),
    (
        "2010.11934",  # mT5
        2,
        "Towards this end, we develop an extended version of the C4 pre-training dataset "
        "that covers 101 languages and introduce changes to T5 to better suit this "
        "multilinguality.",
    ),
    (
        "1909.10351",  # TinyBERT
        2,
        "We propose a novel two-stage learning framework with performing the proposed "
        "Transformer distillation at both the pre-training and fine-tuning stages, which "
        "ensures that TinyBERT can absorb both the general-domain and task-specific "
        "knowledge of the teacher BERT.",
    ),
    (
        "1810.04805",  # BERT
        1,
        "There are two existing strategies for applying pre-trained language "
        "representations to down-stream tasks: feature-based and fine-tuning.",
    ),
]


@pytest.mark.parametrize(("doc_id", "page", "sentence"), COLUMN_SENTENCES)
def test_sentence_across_columns_comes_out_whole(doc_id: str, page: int, sentence: str) -> None:
    assert sentence in flat(pages(doc_id)[page - 1].text)


@pytest.mark.parametrize(
    ("doc_id", "title"),
    [
        ("1910.13461", "BART: Denoising Sequence-to-Sequence Pre-training"),
        ("1810.04805", "BERT: Pre-training of Deep Bidirectional Transformers"),
        ("2010.11934", "mT5: A Massively Multilingual Pre-trained Text-to-Text Transformer"),
        ("1910.10683", "Exploring the Limits of Transfer Learning"),  # one column, overlaid
    ],
)
def test_page_one_reads_title_then_abstract_then_introduction(doc_id: str, title: str) -> None:
    # BART's arXiv PDF draws its title and abstract after the body: the order is rebuilt.
    text = flat(pages(doc_id)[0].text)
    assert 0 <= text.find(title) < text.find("Abstract") < text.find("Introduction")


def test_abstract_text_sits_between_its_heading_and_the_introduction() -> None:
    text = flat(pages("1910.13461")[0].text)
    abstract = text.find("a denoising autoencoder for pretraining")  # BART's abstract
    assert text.find("Abstract") < abstract < text.find("1 Introduction")
    assert "\ufffd" not in text  # its overlay font had NUL-terminated names, repaired


# ---------------------------------------------------------------- cleaning


def test_no_ligatures_and_words_with_fi_survive() -> None:
    bert = [page.text for page in pages("1810.04805")]
    assert not any(LIGATURES.search(text) for text in bert)
    assert "fine-tuning" in " ".join(bert) and "specific" in " ".join(bert)


def test_arxiv_stamp_is_removed() -> None:
    first = pages("1810.04805")[0].text
    assert "1810.04805v2" not in first and "[cs.CL]" not in first
    assert "arXiv" in pages("1810.04805")[11].text  # arXiv references are kept


def test_running_headers_and_page_numbers_are_removed() -> None:
    electra = pages("2003.10555")  # "Published as a conference paper at ICLR 2020" + number
    assert "Published as a conference paper at ICLR 2020" in electra[0].text  # title page
    for page in electra[1:]:
        assert "Published as a conference paper" not in page.text
        assert not re.search(rf"(^|\n)\s*{page.number}\s*$", page.text), page.number


def test_running_title_is_removed() -> None:
    retro = pages("2112.04426")  # running title on top of every page
    header = "Improving language models by retrieving from trillions of tokens"
    assert all(header not in page.text for page in retro[1:])


def test_line_end_hyphens_are_joined_or_kept() -> None:
    bert = flat(" ".join(page.text for page in pages("1810.04805")))
    assert "language representation model called BERT" in bert  # "representa-\ntion"
    assert "pre-trained" in bert and "Radford" in bert  # compound kept, name joined
    assert "Rad-ford" not in bert and "representa-tion" not in bert


def test_small_cap_glyph_names_become_letters() -> None:
    retro = " ".join(page.text for page in pages("2112.04426"))
    assert "Retro" in retro and ".sc" not in retro


def test_text_cleaning_rules() -> None:
    assert normalize_chars("e\u00adf\ufb01cient\x00 \u00d7 3.5%") == "efficient × 3.5%"
    stamp = "arXiv:1909.11942v6  [cs.CL]  9 Feb 2020"
    assert strip_arxiv_stamp(stamp).strip() == ""
    assert strip_arxiv_stamp(stamp[::-1]).strip() == ""
    assert strip_arxiv_stamp(" ".join(stamp)).strip() == ""
    assert strip_arxiv_stamp("arXiv:1607.06450, 2016.") == "arXiv:1607.06450, 2016."
    assert join_hyphenated("repre-\nsentation and GPT-\n2") == "representation and GPT-2"


# ---------------------------------------------------------------- pages and documents


@pytest.mark.parametrize("doc_id", ["1909.11942", "1810.04805", "1910.13461", "2010.11934",
                                    "gpt2"])
def test_page_numbers_match_the_pdf(doc_id: str) -> None:
    numbers = [page.number for page in pages(doc_id)]
    assert numbers == list(range(1, int(sources()[doc_id]["pages"]) + 1))


def test_iter_pages_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """ALBERT has 16 pages: its first is cleaned and handed over once the warm-up pages
    (running headers are learned from them) are read, not after the whole file."""
    read: list[int] = []
    page_text = ingest.pdf._page_text

    def counting(page):  # the real extraction, counted
        read.append(1)
        return page_text(page)

    monkeypatch.setattr(ingest.pdf, "_page_text", counting)
    stream = iter_pages(PDFS / "1909.11942.pdf")
    first = next(stream)
    assert first.number == 1 and "ALBERT: A LITE BERT" in first.text.upper()
    assert len(read) <= ingest.pdf._WARMUP_PAGES < int(sources()["1909.11942"]["pages"])
    stream.close()


def test_load_document_pdf_offsets_hash_and_lang() -> None:
    path = pdf_path("1910.13461")
    paper = Paper(doc_id="1910.13461", title=sources()["1910.13461"]["title"])
    doc = load_document(path, paper)
    extracted = pages("1910.13461")
    assert len(doc.page_offsets) == len(extracted) and doc.page_offsets[0] == 0
    for page, start in zip(extracted, doc.page_offsets, strict=True):
        assert doc.text[start:].startswith(page.text)
        assert doc.page_at(start) == page.number
    assert doc.text == PAGE_SEPARATOR.join(page.text for page in extracted)
    assert doc.sha256 == sources()["1910.13461"]["sha256"]
    assert doc.lang == "en" and doc.doc_id == "1910.13461"


@pytest.mark.parametrize(
    ("name", "lang", "title"),
    [
        ("000_c9931a50f68b3bca.txt", "ko", "나중에 볼만한 GPT 계열 글이나 논문"),
        ("003_27bf1946096c0e01.txt", "zh", "全面了解大语言模型,这有一份阅读清单"),
        ("001_2823b95318a23eab.txt", "ko", "GPT-2: Language Models are Unsupervised"),  # ko+en
    ],
)
def test_load_document_reading_note(name: str, lang: str, title: str) -> None:
    path = SEEDS / name
    doc = load_document(path, Paper(doc_id=name, title=name))
    assert doc.lang == lang and doc.page_offsets == (0,)
    assert doc.text.count("\n") > 5  # line structure kept
    assert note_title(path.read_text(encoding="utf-8"), "fallback").startswith(title)


def test_reading_note_loses_image_tags_only() -> None:
    path = SEEDS / "002_7af2c7d49d51400b.txt"  # markdown with <img src=...> tags
    assert "<img" in path.read_text(encoding="utf-8")
    doc = load_document(path, Paper(doc_id="002", title="大语言模型"))
    assert "<img" not in doc.text and "](" in doc.text  # links stay
    assert doc.lang == "zh" and note_title(doc.text, "x") == "大语言模型"


# ---------------------------------------------------------------- the whole corpus


@pytest.mark.slow
@needs_corpus
def test_whole_corpus_pages_ligatures_stamps() -> None:
    for doc_id, row in sources().items():
        extracted = pages(doc_id)
        assert len(extracted) == int(row["pages"]), doc_id
        for page in extracted:
            assert not LIGATURES.search(page.text), (doc_id, page.number)
            assert not re.search(r"\[cs\.[A-Z]{2}\]\s+\d{1,2} [A-Z][a-z]{2} \d{4}", page.text)
            assert "\x00" not in page.text and "\ufffd" not in page.text
        assert sum(len(page.text) for page in extracted) > 10_000, doc_id
