"""Index stage: the index in PostgreSQL + pgvector (`RAG_STORE=postgresql://...`).

The same reader interface as `index.store.StoredIndex` (meta, chunks[row], dense legs, BM25,
row_of), so retrieval, reading and eval run unchanged. Tables:

    seed_meta(key, value)       'index': embedders, chunker, lexical, chunk_tokens, generation;
                                'stats': chunks and summed BM25 lengths (for avgdl)
    seed_docs(doc_id, doc_no, meta)          one row per document (title, sha256, pages...)
    seed_chunks(row_id, doc_id, seq, chunk, dl, dense_0, dense_1, ...)
    seed_postings(term_id, row_id, w)        BM25's inverted index: a term's chunks
    seed_terms(term, id, df)                 BM25 vocabulary with document frequencies

`row_id = doc_no << 20 | seq`, so a chunk's neighbour is the next row as in the embedded
index, and `row_of` needs no query. Dense legs are `halfvec` columns with an HNSW index
(inner product); the BM25 leg reads postings holding each chunk's term-frequency part
(bm25s' "lucene" formula) and weights them by the live IDF, so the score is BM25's.
A writer commits one document per transaction (index/pgwrite.py); readers see a document's
old chunks or its new ones, never a mix, and notice a new generation on their next search.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections import Counter
from collections.abc import Iterator

import numpy as np

from index.store import IndexMissingError, Meta, StoreError
from ingest.types import Chunk

log = logging.getLogger(__name__)

ROW_BITS = 20  # up to ~1M chunks per document
# BM25 reads at most this many postings per question term, best weights first: exact while a
# term occurs in fewer chunks, and a bounded cost per term at any corpus size
POSTINGS_PER_TERM = 5_000
LEXICAL_SQL = """
WITH q(id, idf) AS (SELECT * FROM unnest(%s::int[], %s::float8[])),
hits AS (SELECT p.row_id, sum(p.w * q.idf) AS s FROM q CROSS JOIN LATERAL (
           SELECT row_id, w FROM seed_postings WHERE term_id = q.id ORDER BY w DESC LIMIT %s
         ) p GROUP BY p.row_id ORDER BY s DESC LIMIT %s)
SELECT h.row_id, h.s, c.chunk FROM hits h JOIN seed_chunks c USING (row_id) ORDER BY h.s DESC
"""
K1, B = 1.5, 0.75  # bm25s defaults ("lucene")
CACHE_ROWS = 50_000
LOCK_KEY = 0x5EED_14  # pg_advisory_lock: the one writer


class PgStoreError(StoreError):
    """PostgreSQL could not be reached or answered with an error."""


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def connect(url: str, ef_search: int = 128):
    """An autocommit connection with pgvector's types; PgStoreError (one line) when down."""
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute(f"SET hnsw.ef_search = {int(ef_search)}")
    except psycopg.Error as e:
        why = " ".join(str(e).split())[:200]
        raise PgStoreError(
            f"cannot use PostgreSQL at {safe_url(url)} (RAG_STORE): {why}; start the server "
            "or unset RAG_STORE to use the embedded index"
        ) from e
    return conn


def row_id(doc_no: int, seq: int) -> int:
    return (doc_no << ROW_BITS) | seq


def bm25_idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def tf_weights(counts: Counter, dl: int, avgdl: float) -> dict[str, float]:
    """The document side of BM25 ("lucene"): tf / (tf + k1 (1 - b + b dl/avgdl))."""
    norm = K1 * (1 - B + B * dl / max(avgdl, 1e-9))
    return {t: c / (c + norm) for t, c in counts.items()}


class PgChunks:
    """`index.chunks[row]` backed by seed_chunks, with a bounded cache that searches fill."""

    def __init__(self, owner: PgIndex) -> None:
        self.owner = owner
        self.cache: dict[int, Chunk] = {}

    def put(self, row: int, value: dict) -> None:
        if len(self.cache) >= CACHE_ROWS:
            self.cache.clear()
        self.cache[row] = Chunk.from_dict(value)

    def __getitem__(self, row: int) -> Chunk:
        row = int(row)
        if row not in self.cache:
            got = self.owner.query("SELECT chunk FROM seed_chunks WHERE row_id = %s", (row,))
            if not got:
                raise PgStoreError(f"chunk row {row} is gone: the index changed, ask again")
            self.put(row, got[0][0])
        return self.cache[row]

    def __len__(self) -> int:
        return sum(int(m.get("chunks", 0)) for m in self.owner.meta.docs.values())

    def __iter__(self) -> Iterator[Chunk]:
        name = f"seed_all_{uuid.uuid4().hex[:8]}"
        with self.owner.conn.cursor(name=name, withhold=True) as cur:
            cur.execute("SELECT chunk FROM seed_chunks ORDER BY row_id")
            for (value,) in cur:
                yield Chunk.from_dict(value)


class PgDense:
    """One dense leg: FAISS's `ntotal`/`reconstruct`/`reconstruct_batch` over a column."""

    def __init__(self, owner: PgIndex, leg: int) -> None:
        self.owner, self.column = owner, f"dense_{leg}"

    @property
    def ntotal(self) -> int:
        return len(self.owner.chunks)

    def reconstruct_batch(self, rows: np.ndarray) -> np.ndarray:
        ids = [int(r) for r in rows]
        got = self.owner.query(
            f"SELECT row_id, {self.column}, chunk FROM seed_chunks WHERE row_id = ANY(%s)",
            (ids,), binary=True)
        by_row = {}
        for row, vec, value in got:
            self.owner.chunks.put(row, value)
            by_row[row] = vec.to_numpy().astype(np.float32)
        missing = [r for r in ids if r not in by_row]
        if missing:
            raise PgStoreError(f"chunk rows {missing[:3]} are gone: the index changed, ask again")
        return np.vstack([by_row[r] for r in ids])

    def reconstruct(self, row: int) -> np.ndarray:
        return self.reconstruct_batch(np.asarray([row]))[0]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        from pgvector import HalfVector

        q = HalfVector(np.asarray(query, dtype=np.float32))
        got = self.owner.query(
            f"SELECT row_id, -({self.column} <#> %s), chunk FROM seed_chunks "
            f"ORDER BY {self.column} <#> %s LIMIT %s", (q, q, k))
        for row, _, value in got:
            self.owner.chunks.put(row, value)
        return [(int(row), float(score)) for row, score, _ in got]


class PgLexical:
    """The BM25 leg over the postings table: per question term, its highest-weighted postings
    (all of them while a term is in fewer than POSTINGS_PER_TERM chunks: then exact BM25),
    each weighted by the term's live IDF, summed per chunk."""

    def __init__(self, owner: PgIndex) -> None:
        self.owner = owner

    @property
    def size(self) -> int:
        return len(self.owner.chunks)

    def search(self, tokens: list[str], k: int) -> list[tuple[int, float]]:
        if not tokens:
            return []
        counts = Counter(tokens)
        terms = self.owner.query(
            "SELECT t.id, t.df, t.term, (SELECT (value->>'chunks')::bigint FROM seed_meta "
            "WHERE key = 'stats') FROM seed_terms t WHERE t.term = ANY(%s) AND t.df > 0",
            (list(counts),))
        if not terms:
            return []
        weights = {tid: counts[term] * bm25_idf(n, df) for tid, df, term, n in terms}
        got = self.owner.query(LEXICAL_SQL, (list(weights), list(weights.values()),
                                             POSTINGS_PER_TERM, k))
        for row, _, value in got:
            self.owner.chunks.put(row, value)
        return [(int(row), float(score)) for row, score, _ in got]


class PgIndex:
    """A live view of the PostgreSQL index with `StoredIndex`'s reader interface."""

    def __init__(self, conn, meta: Meta, doc_nos: dict[str, int], generation: int) -> None:
        self.conn, self.meta, self.doc_nos = conn, meta, doc_nos
        self.generation = generation
        self.version = f"pg-{generation}"
        self.chunks = PgChunks(self)
        self.dense = [PgDense(self, i) for i in range(len(meta.embedders))]
        self.lexical = PgLexical(self)

    def query(self, sql: str, params: tuple = (), binary: bool = False) -> list[tuple]:
        import psycopg

        try:
            with self.conn.cursor(binary=binary) as cur:
                return cur.execute(sql, params).fetchall()
        except psycopg.Error as e:
            raise PgStoreError(f"PostgreSQL failed: {' '.join(str(e).split())[:200]}") from e

    def row_of(self, doc_id: str, seq: int) -> int | None:
        doc_no = self.doc_nos.get(doc_id)
        if doc_no is None or not 0 <= seq < int(self.meta.docs[doc_id].get("chunks", 0)):
            return None
        return row_id(doc_no, seq)

    def doc_rows(self, doc_id: str) -> list[int]:
        n = int(self.meta.docs.get(doc_id, {}).get("chunks", 0))
        return [row_id(self.doc_nos[doc_id], s) for s in range(n)] if n else []

    def dense_search(self, leg: int, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if leg == 0:
            self.refresh()  # once per search: the first leg asked
        return self.dense[leg].search(query, k)

    def refresh(self) -> None:
        """Reload documents when a writer committed since (new generation)."""
        got = self.query("SELECT (value->>'generation')::bigint FROM seed_meta "
                         "WHERE key = 'index'")
        if got and got[0][0] != self.generation:
            self.meta, self.doc_nos, self.generation = load_state(self.conn)
            self.version = f"pg-{self.generation}"
            self.chunks.cache.clear()


def load_state(conn) -> tuple[Meta, dict[str, int], int]:
    """(meta with docs, doc_id -> doc_no, generation); IndexMissingError when empty."""
    with conn.transaction(), conn.cursor() as cur:  # one snapshot for meta and documents
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("SELECT to_regclass('seed_meta') IS NOT NULL")
        found = cur.fetchone()[0] and cur.execute(
            "SELECT value FROM seed_meta WHERE key = 'index'").fetchone()
        if not found:
            raise IndexMissingError(
                "no index in the PostgreSQL store (RAG_STORE): run `rag ingest` first")
        value = dict(found[0])
        docs = cur.execute("SELECT doc_id, doc_no, meta FROM seed_docs").fetchall()
    generation = int(value.pop("generation", 0))
    meta = Meta(**value)
    meta.docs = {d: m for d, _, m in docs}
    return meta, {d: n for d, n, _ in docs}, generation


def open_pg_index(url: str, ef_search: int = 128) -> PgIndex:
    """Connect and load the live state (checks the chunker/lexical versions as today)."""
    from index.lexical import LEXICAL_VERSION
    from ingest.chunk import CHUNKER_VERSION

    conn = connect(url, ef_search)
    meta, doc_nos, generation = load_state(conn)
    meta.check_versions(CHUNKER_VERSION, LEXICAL_VERSION)
    return PgIndex(conn, meta, doc_nos, generation)
