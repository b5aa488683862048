"""Eval stage: the systems `rag eval` compares, behind one small interface.

    systems = make_systems(["seed", "bm25", "naive"], settings)
    result = systems["bm25"].run("ALBERT와 ELECTRA 차이?")
    result.retrieved    # doc id of each retrieved passage, best first (RETRIEVE_K of them)
    result.answer       # an `Answer` (None with retrieval_only=True: no LLM at all)

- `seed`: the product as configured: hybrid retrieval, then the `Assistant` (relevance gate,
  reader, language check, citation check).
- `bm25`: BM25 alone over the same chunks with bm25s's *default* tokens (regex `\\w\\w+`,
  lower case, English stop words; no Kiwi, no jieba, no stemming), so "ALBERT와" stays one
  token; the same `Assistant` reads its hits. This is what most tools ship by default.
- `naive`: the LangChain RAG tutorial: the documents' text split by
  RecursiveCharacterTextSplitter(1000, 200), embedded by the same default embedder into a
  LangChain FAISS store (`langchain-community`), top-4 to the same reader prompt, the model's
  [n] markers taken as written (no relevance gate, no citation checking).

Retrieval is always scored on the top RETRIEVE_K passages; readers get what they always get.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np
from langchain_core.documents import Document as LCDocument
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_text_splitters import RecursiveCharacterTextSplitter

from common.lang import detect_lang
from common.settings import Settings
from index.build import embed_text
from index.embed import Embedder, LangChainEmbeddings
from index.store import StoredIndex
from ingest.pdf import ParseError, load_document
from ingest.types import Paper
from rag.answer import ABSTAIN_CUES, Answer, Assistant
from rag.cite import Citation, parse_markers
from rag.context import Passage
from rag.prompts import ABSTAIN, prompt_inputs, reader_prompt
from rag.question import Question
from rag.retrieve import Hit, Retriever, Searcher

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG on import

SYSTEMS = ("seed", "bm25", "naive")
RETRIEVE_K = 10  # passages scored for recall@1/5/10 and MRR
NAIVE_TOP_K = 4  # the tutorial's `as_retriever()` default
EMBED_BATCH = 32


@dataclass
class Result:
    """What one system did with one question."""

    retrieved: list[str]  # doc id of each retrieved passage, best first
    retrieve_s: float
    answer: Answer | None = None  # None in retrieval-only runs
    answer_s: float | None = None  # question in, answer out (retrieval included)


class System(Protocol):
    name: str

    def run(self, question: str, retrieval_only: bool = False) -> Result: ...


def parse_systems(text: str | None) -> list[str]:
    """"seed,bm25" -> ["seed", "bm25"]; None -> ["seed"]; unknown names are a ValueError."""
    names = [n.strip() for n in (text or "seed").split(",") if n.strip()]
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown or not names:
        raise ValueError(f"unknown system {', '.join(unknown) or '(none)'}: "
                         f"choose from {', '.join(SYSTEMS)}")
    return list(dict.fromkeys(names))


class AssistantSystem:
    """A `Searcher` whose hits Seed's `Assistant` reads, checking the answer with
    `retriever`'s index, embedders and paper names (a baseline searches that index's chunks)."""

    def __init__(self, name: str, retriever: Retriever, llm: BaseChatModel | None,
                 searcher: Searcher | None = None) -> None:
        self.name = name
        self.searcher: Searcher = searcher or retriever
        self.assistant = Assistant(retriever.settings, retriever, llm, self.searcher)

    def run(self, question: str, retrieval_only: bool = False) -> Result:
        t0 = time.perf_counter()
        hits = self.searcher.search(question, RETRIEVE_K)
        result = Result([h.chunk.doc_id for h in hits], time.perf_counter() - t0)
        if not retrieval_only:
            t0 = time.perf_counter()
            result.answer = self.assistant.ask(question)
            result.answer_s = time.perf_counter() - t0
        return result


class PlainBM25:
    """A `Searcher`: BM25 with bm25s's default tokenizer over the index's chunks (their
    rows are the index's, so the `Assistant` builds passages from its hits as from Seed's)."""

    def __init__(self, index: StoredIndex) -> None:
        self.index = index
        texts = [embed_text(c) for c in index.chunks]
        self._bm25 = bm25s.BM25()
        self._bm25.index(_tokens(texts), show_progress=False)

    def search(self, question: Question | str, k: int = 10) -> list[Hit]:
        k = min(k, len(self.index.chunks))
        if k <= 0:
            return []
        text = question.text if isinstance(question, Question) else question
        docs, scores = self._bm25.retrieve(_tokens([text]), k=k, show_progress=False,
                                           n_threads=1)
        ranked = [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        return [Hit(self.index.chunks[row], score, rank, {"bm25": rank})
                for rank, (row, score) in enumerate(ranked, start=1)]


def _tokens(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, return_ids=False, show_progress=False)


class NaiveSystem:
    """The LangChain tutorial pipeline (see the module docstring)."""

    name = "naive"

    def __init__(self, store, llm: BaseChatModel | None) -> None:
        self.store = store  # a langchain_community FAISS vector store
        self.llm = llm

    def run(self, question: str, retrieval_only: bool = False) -> Result:
        t0 = time.perf_counter()
        docs = self.store.similarity_search(question, k=RETRIEVE_K)
        result = Result([d.metadata["doc_id"] for d in docs], time.perf_counter() - t0)
        if not retrieval_only:
            t1 = time.perf_counter()
            result.answer = self.read(question, docs[:NAIVE_TOP_K])
            result.answer_s = result.retrieve_s + time.perf_counter() - t1
        return result

    def read(self, question: str, docs: list[LCDocument]) -> Answer:
        """One reader call; markers are resolved as written, unknown ones cite nothing."""
        lang = detect_lang(question)
        passages = [_passage(n, d) for n, d in enumerate(docs, start=1)]
        chain = reader_prompt() | self.llm | StrOutputParser()
        text = chain.invoke(prompt_inputs(question, lang, passages)).strip()
        by_n = {p.n: p for p in passages}
        citations = []
        for n in dict.fromkeys(parse_markers(text)):
            p = by_n.get(n)
            citations.append(Citation(n, p.doc_id, p.title, p.page_start, p.page_end, p.url, "",
                                      passage=n)
                             if p else Citation(n, "", "(no such passage)", 0, 0, "", ""))
        abstained = ABSTAIN[lang] in text or bool(ABSTAIN_CUES.search(text))
        return Answer(question, lang, text, citations, passages, abstained)


def _passage(n: int, doc: LCDocument) -> Passage:
    m = doc.metadata
    return Passage(n=n, doc_id=m["doc_id"], title=m["title"], url=m.get("url", ""),
                   page_start=m["page"], page_end=m["page"], text=doc.page_content, rows=(),
                   score=0.0)


def naive_documents(index: StoredIndex) -> list[LCDocument]:
    """The indexed documents re-extracted from their files and split as the tutorial does."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
                                              add_start_index=True)
    out: list[LCDocument] = []
    for doc_id, meta in sorted(index.meta.docs.items()):
        paper = Paper(doc_id, meta.get("title", doc_id), url=meta.get("url", ""))
        try:
            doc = load_document(Path(meta["path"]), paper)
        except (KeyError, ParseError) as e:
            log.warning("naive: skipping %s (%s)", doc_id, e)
            continue
        info = {"doc_id": doc_id, "title": paper.title, "url": paper.url}
        for piece in splitter.create_documents([doc.text], [info]):
            piece.metadata["page"] = doc.page_at(piece.metadata["start_index"])
            out.append(piece)
    return out


def naive_store(index: StoredIndex, embedder: Embedder, cache_dir: Path):
    """The tutorial's FAISS store, built once per index version and cached on disk."""
    with warnings.catch_warnings():  # langchain-community warns that it is being sunset
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.vectorstores import FAISS

    embeddings = LangChainEmbeddings(embedder)
    safe_id = re.sub(r"[^\w.-]", "_", embedder.id)
    folder = cache_dir / f"naive-{index.version}-{safe_id}"
    if (folder / "index.faiss").exists():
        return FAISS.load_local(str(folder), embeddings, allow_dangerous_deserialization=True)
    docs = naive_documents(index)
    texts = [d.page_content for d in docs]
    log.info("naive: embedding %d tutorial chunks", len(texts))
    parts = [embedder.encode_document(texts[i : i + EMBED_BATCH])
             for i in range(0, len(texts), EMBED_BATCH)]
    vectors = np.vstack(parts).tolist() if parts else []
    store = FAISS.from_embeddings(list(zip(texts, vectors, strict=True)), embeddings,
                                  metadatas=[d.metadata for d in docs])
    store.save_local(str(folder))  # our own pickle, read back only by us
    return store


def make_systems(
    names: list[str], settings: Settings, *, llm: BaseChatModel | None = None,
    retrieval_only: bool = False, retriever: Retriever | None = None,
) -> dict[str, System]:
    """The named systems, sharing one index, one set of embedders and one reader model."""
    retriever = retriever or Retriever(settings)
    own_llm = llm is None and not retrieval_only
    if own_llm:
        from rag.llm import chat_model

        llm = chat_model(settings)  # loaded once for every system
    out: dict[str, System] = {}
    for name in parse_systems(",".join(names)):
        if name == "seed":
            out[name] = AssistantSystem("seed", retriever, llm)
        elif name == "bm25":
            out[name] = AssistantSystem("bm25", retriever, llm, PlainBM25(retriever.index))
        else:
            store = naive_store(retriever.index, retriever.embedders[0],
                                settings.home / "eval")
            out[name] = NaiveSystem(store, llm)
    if own_llm:  # the reader's fixed prompt prefix is processed once, not in the first answer
        Assistant(settings, retriever, llm).warm_up()
    return out
