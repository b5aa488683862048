"""Rag stage: papers a question names ("T5의 사전학습 데이터셋", "Kaplan等人的缩放定律论文").

Readers call papers by short names: the model (ALBERT, T5, GPT-1), the method (ALiBi) or the
first author (Kaplan). When a question names a paper, that paper is the first place to look,
whatever language the rest of the question is in, so the retriever adds a "named" leg that
ranks the named papers' own chunks.

Names come from the manifest's `aliases` column and from the title before its colon
("ELECTRA: Pre-training Text Encoders..." -> "ELECTRA"), which covers papers a user ingests
themselves. Matching is case-sensitive on whole Latin words: "T5" matches "T5의" and "T5 model"
but not "mT5"; "BERT" matches "BERT-large" but not "ALBERT".

    >>> names = paper_names({"1910.10683": {"title": "Exploring the Limits..."},
    ...                      "2010.11934": {"title": "mT5: A ..."}})
    >>> named_papers("T5와 mT5의 차이는?", names)
    ['1910.10683', '2010.11934']
"""

from __future__ import annotations

import re

from ingest.readinglist import manifest_paper

_SHORT_TITLE = re.compile(r"^([A-Za-z][\w\- ]{0,20}?)\s*[:,]")  # "ALBERT:", "DistilBERT,"


def paper_names(docs: dict[str, dict]) -> dict[str, str]:
    """{name: doc_id} for the indexed documents `docs` ({doc_id: the index's metadata}):
    each one's aliases and the short name its title opens with."""
    names: dict[str, str] = {}
    for doc_id, meta in docs.items():
        for name in (*doc_aliases(doc_id, meta), *title_name(meta.get("title", ""))):
            names.setdefault(name, doc_id)
    return names


def doc_aliases(doc_id: str, meta: dict) -> tuple[str, ...]:
    """The names readers use for a document, as the index recorded them at ingest; an index
    built before it recorded them falls back to the reading list's `aliases` column."""
    if "aliases" in meta:
        return tuple(meta["aliases"])
    known = manifest_paper(doc_id)
    return known.aliases if known else ()


def title_name(title: str) -> list[str]:
    """The short name a title opens with, if it has one ("BLOOM: A 176B..." -> ["BLOOM"])."""
    m = _SHORT_TITLE.match(title)
    if not m or len(m.group(1).split()) > 2 or not re.search(r"[A-Z0-9]", m.group(1)[1:]):
        return []  # "Flamingo: ..." has no inner capital: too likely an ordinary word
    return [m.group(1)]


# After a name: no letter or digit may follow ("mT5" is not "T5", "ALBERTa" not "ALBERT"),
# except that a name ending in a letter may carry a size or version ("TinyBERT4" is TinyBERT).
_END = {True: r"(?![A-Za-z0-9])", False: r"(?![A-Za-z])"}


def named_papers(query: str, names: dict[str, str]) -> list[str]:
    """Doc ids of the papers `query` names, in the order it names them."""
    found: list[tuple[int, str]] = []
    for name, doc_id in names.items():
        m = re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}{_END[name[-1].isdigit()]}", query)
        if m:
            found.append((m.start(), doc_id))
    out: list[str] = []
    for _, doc_id in sorted(found):
        if doc_id not in out:
            out.append(doc_id)
    return out


# A versioned model name: letters (one a capital) then a number, maybe a suffix ("GPT-5",
# "T5", "OPT-175B", "LLaMA-2", "TinyBERT4"), with or without a hyphen or space between.
_VERSIONED = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]+)[-\s]?(\d+(?:\.\d+)?[A-Za-z]*)(?![A-Za-z0-9])")


def unseen_names(query: str, text: str, names: dict[str, str]) -> list[str]:
    """Versioned model names in `query` that occur nowhere in `text` (the retrieved passages)
    and name no indexed paper: "GPT-5의 컨텍스트 길이" over a corpus that never mentions
    GPT-5. The papers cannot answer a question about a model they never name; its other
    words (context window, hallucination rate) still find passages that look relevant."""
    out = []
    for m in _VERSIONED.finditer(query):
        letters, number = m.group(1), m.group(2)
        if letters.islower():  # "in 2019", "top-5", "p50": not a model name
            continue
        name = m.group(0)
        written = rf"(?<![A-Za-z0-9]){re.escape(letters)}[-\s]?{re.escape(number)}(?![A-Za-z0-9])"
        known = any(re.fullmatch(written, n, re.I) for n in names)  # GPT-1: a paper's name
        if not known and not re.search(written, text, re.I):
            out.append(name)
    return out


def unindexed_named(query: str, indexed: set[str]) -> list[tuple[str, str]]:
    """[(name, doc_id)] of reading-list papers the question names that are not indexed
    ("How many TPU chips were used to train Chinchilla?" when 2203.15556 was never
    ingested): the corpus cannot answer a question about a paper it does not hold, however
    often other papers mention it."""
    from ingest.readinglist import load_manifest

    names: dict[str, str] = {}
    for paper in load_manifest():
        if paper.doc_id not in indexed:
            for name in (*paper.aliases, *title_name(paper.title)):
                names.setdefault(name, paper.doc_id)
    found = named_papers(query, names)
    return [(next(n for n, d in names.items() if d == doc), doc) for doc in found]


# A name used for the kind of thing asked about: a derived kind ("a BERT-based model", "BERT
# 계열", "BERT变体") or after a word for a smaller one ("경량 BERT 모델", "a lighter BERT").
# Not a bare "X model": "the largest T5 model" is still T5's.
_KIND_AFTER = r"(?:[-\s]?(?:based|style|like)\b|\s*(?:계열|기반|류|类|variants?|변형|变体))"
_KIND_BEFORE = r"(?:경량|가벼운|작은|lighter|smaller|compact|tiny|distilled|轻量|小型|更小的?)\s*"


def named_as_kind(query: str, doc_ids: list[str], names: dict[str, str]) -> bool:
    """Whether every named paper is named as a *kind* ("the lightweight BERT model that ...")
    rather than as the paper asked about: in a "which model ..." question such a name says
    what the answer is like, and the answer is another paper (TinyBERT, not BERT).

    >>> names = {"BERT": "1810.04805"}
    >>> named_as_kind("2단계 증류를 수행한 경량 BERT 모델의 이름은?", ["1810.04805"], names)
    True
    >>> named_as_kind("BERT의 사전학습 목표 이름은?", ["1810.04805"], names)
    False
    """
    def kind(name: str) -> bool:
        at = rf"(?<![A-Za-z0-9]){re.escape(name)}{_END[name[-1].isdigit()]}"
        return bool(re.search(at + _KIND_AFTER, query, re.I) or
                    re.search(_KIND_BEFORE + at, query, re.I))
    return bool(doc_ids) and all(any(kind(n) for n, d in names.items() if d == doc)
                                 for doc in doc_ids)


def about(doc_ids: list[str], found: list[str], names: dict[str, str]) -> list[str]:
    """The named papers (`doc_ids`) that the question is *about*, judged by the first paper
    retrieved without the named-paper leg (`found`: papers only, best first):
    - it is a named paper: that one;
    - it is a *variant* of a named paper, its name containing the named one's (ALBERT,
      DistilBERT, TinyBERT for BERT; mT5 for T5): none. "가벼운 BERT …: 임베딩 분해와 층 간
      파라미터 공유" names BERT, but describes ALBERT, which is found first;
    - otherwise all the named papers: "What vocabulary size does GPT-2 use?" finds
      InstructGPT first (it discusses GPT-2's outputs) and is still GPT-2's question.
    `found` holds papers only: a Korean question finds the Korean reading notes first, and a
    note that lists "[RETRO](…)" among its links says nothing of what RETRO's chunks are.

    >>> names = {"BERT": "1810.04805", "ALBERT": "1909.11942", "GPT-2": "gpt2"}
    >>> about(["1810.04805"], ["1909.11942", "2003.10555"], names)
    []
    >>> about(["gpt2"], ["2203.02155", "gpt2"], names)
    ['gpt2']
    """
    first = found[0] if found else None
    if first is None or first in doc_ids:
        return [first] if first else list(doc_ids)
    named = [n.lower() for n, d in names.items() if d in doc_ids]
    theirs = [n.lower() for n, d in names.items() if d == first]
    if any(n in m and n != m for n in named for m in theirs):
        return []
    return list(doc_ids)
