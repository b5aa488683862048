"""Index stage: ingest into PostgreSQL + pgvector (`RAG_STORE=postgresql://...`).

The same steps as `index.build` (sha256 per source, parse and embed only what changed, the
per-document vector cache), then each changed document is written in one transaction: its
old chunks, their BM25 document frequencies and the corpus length go out, the new ones come
in (COPY), and the generation moves on. One writer at a time (an advisory lock); readers go
on reading throughout. The tables are described in `index.pgstore`.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict

import numpy as np

from common.settings import Settings
from index.document import BuildReport, embed_text
from index.embed import embedder_ids, load_embedders
from index.lexical import LEXICAL_VERSION, tokenize
from index.pgstore import LOCK_KEY, connect, row_id, safe_url, tf_weights
from index.progress import Reporter
from index.steps import IngestBusyError, embed_all, expected_meta, parse_changed, same_chunking
from index.store import IndexMismatchError, Meta
from ingest.chunk import CHUNKER_VERSION
from ingest.sources import Source
from ingest.types import Chunk

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS seed_meta (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS seed_docs (
  doc_id text PRIMARY KEY, doc_no serial UNIQUE, meta jsonb NOT NULL);
CREATE SEQUENCE IF NOT EXISTS seed_term_ids;
CREATE TABLE IF NOT EXISTS seed_terms (
  term text PRIMARY KEY, id int NOT NULL UNIQUE DEFAULT nextval('seed_term_ids'),
  df int NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seed_chunks (
  row_id bigint PRIMARY KEY, doc_id text NOT NULL, seq int NOT NULL, chunk jsonb NOT NULL,
  dl int NOT NULL);
CREATE INDEX IF NOT EXISTS seed_chunks_doc ON seed_chunks (doc_id);
CREATE TABLE IF NOT EXISTS seed_postings (term_id int NOT NULL, row_id bigint NOT NULL,
  w real NOT NULL);
CREATE INDEX IF NOT EXISTS seed_postings_term ON seed_postings (term_id, w DESC);
CREATE INDEX IF NOT EXISTS seed_postings_row ON seed_postings (row_id);
"""
DROP = "DROP TABLE IF EXISTS seed_chunks, seed_postings, seed_terms, seed_docs, seed_meta; " \
       "DROP SEQUENCE IF EXISTS seed_term_ids"


def ingest_pg(sources: list[Source], settings: Settings, reporter: Reporter,
              rebuild: bool = False) -> BuildReport:
    """`index.build.ingest_sources` for a PostgreSQL store (one writer: an advisory lock)."""
    conn = connect(settings.store, settings.pg_ef_search)
    try:
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
            raise IngestBusyError(
                f"another `rag ingest` is writing the index in {safe_url(settings.store)}: "
                "wait for it to finish")
        try:
            return _ingest_locked(conn, sources, settings, reporter, rebuild)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    finally:
        conn.close()


def _ingest_locked(conn, sources: list[Source], settings: Settings, reporter: Reporter,
                   rebuild: bool) -> BuildReport:
    if rebuild:
        conn.execute(DROP)
    conn.execute(SCHEMA)
    old = _stored_meta(conn)
    _check_compatible(old, settings)
    report = BuildReport()
    docs_meta = dict(conn.execute("SELECT doc_id, meta FROM seed_docs").fetchall())
    t0 = time.perf_counter()
    fresh = parse_changed(sources, docs_meta, {d: [] for d in docs_meta}, report, settings,
                           reporter)
    report.timings["parse_s"] = time.perf_counter() - t0
    if fresh:
        _store_fresh(conn, fresh, docs_meta, old, settings, reporter, report)
    got = conn.execute("SELECT value->>'generation' FROM seed_meta WHERE key = 'index'")
    report.version = f"pg-{(got.fetchone() or ['0'])[0]}"
    report.documents = len(docs_meta)
    report.chunks = sum(int(m.get("chunks", 0)) for m in docs_meta.values())
    return report


def _store_fresh(conn, fresh: dict[str, list[Chunk]], docs_meta: dict[str, dict],
                 old: Meta | None, settings: Settings, reporter: Reporter,
                 report: BuildReport) -> None:
    embedders = load_embedders(settings.embedder, settings.e5_runtime)
    if old is None:
        _create_index(conn, expected_meta(settings, embedders))
    chunks = [c for doc_id in fresh for c in fresh[doc_id]]
    t0 = time.perf_counter()
    vectors = embed_all(chunks, docs_meta, embedders, settings, reporter, report)
    report.timings["embed_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = {d: [Counter(tokenize(embed_text(c), c.lang)) for c in cs] for d, cs in fresh.items()}
    avgdl = _batch_avgdl(conn, counts)
    reporter.start("store", len(fresh), "docs")
    at = 0
    for doc_id, doc_chunks in fresh.items():
        span = slice(at, at + len(doc_chunks))
        write_document(conn, doc_id, doc_chunks, [v[span] for v in vectors], docs_meta[doc_id],
                       counts[doc_id], avgdl)
        at = span.stop
        reporter.advance("store")
    reporter.finish("store")
    report.timings["index_s"] = time.perf_counter() - t0


def _stored_meta(conn) -> Meta | None:
    got = conn.execute("SELECT value FROM seed_meta WHERE key = 'index'").fetchone()
    if not got:
        return None
    value = dict(got[0])
    value.pop("generation", None)
    return Meta(**value)


def _check_compatible(old: Meta | None, settings: Settings) -> None:
    if old is None:
        return
    if not same_chunking(old, settings):
        raise IndexMismatchError(
            f"the PostgreSQL index was cut by chunker {old.chunker}/{old.lexical} "
            f"({old.chunk_tokens} tokens), this version uses {CHUNKER_VERSION}/"
            f"{LEXICAL_VERSION} ({settings.chunk_tokens} tokens): run `rag ingest --rebuild`")
    old.check_embedders(embedder_ids(settings.embedder))


def _create_index(conn, meta: Meta) -> None:
    """The index record, one halfvec column + HNSW index per embedder, empty stats."""
    value = asdict(meta) | {"generation": 0}
    value.pop("docs")
    with conn.transaction():
        for i, emb in enumerate(meta.embedders):
            conn.execute(f"ALTER TABLE seed_chunks ADD COLUMN IF NOT EXISTS dense_{i} "
                         f"halfvec({int(emb['dim'])}) NOT NULL")
            conn.execute(f"CREATE INDEX IF NOT EXISTS seed_dense_{i} ON seed_chunks "
                         f"USING hnsw (dense_{i} halfvec_ip_ops)")
        conn.execute("INSERT INTO seed_meta VALUES ('index', %s), ('stats', %s)",
                     (json.dumps(value), json.dumps({"chunks": 0, "tokens": 0})))


def _batch_avgdl(conn, counts: dict[str, list[Counter]]) -> float:
    """The mean BM25 length once this batch is in: every document of it is weighted alike
    (documents written earlier keep the mean of their time; `--rebuild` evens them out)."""
    stats = conn.execute("SELECT value FROM seed_meta WHERE key = 'stats'").fetchone()[0]
    old_n, old_tokens = conn.execute(
        "SELECT count(*), coalesce(sum(dl), 0) FROM seed_chunks WHERE doc_id = ANY(%s)",
        (list(counts),)).fetchone()
    n = stats["chunks"] - old_n + sum(len(c) for c in counts.values())
    tokens = stats["tokens"] - old_tokens + sum(sum(x.values()) for c in counts.values()
                                                for x in c)
    return tokens / max(n, 1)


def write_document(conn, doc_id: str, chunks: list[Chunk], vectors: list[np.ndarray],
                   meta: dict, counts: list[Counter], avgdl: float) -> None:
    """Replace `doc_id`'s chunks in one transaction (see the module docstring); `counts` are
    each chunk's BM25 token counts, `avgdl` the mean length their weights assume."""
    with conn.transaction():
        stats = conn.execute("SELECT value FROM seed_meta WHERE key = 'stats' FOR UPDATE"
                             ).fetchone()[0]
        old_dl = _remove_document(conn, doc_id)
        dls = [sum(c.values()) for c in counts]
        stats["chunks"] += len(chunks) - len(old_dl)
        stats["tokens"] += sum(dls) - sum(old_dl)
        doc_no = conn.execute(
            "INSERT INTO seed_docs (doc_id, meta) VALUES (%s, %s) ON CONFLICT (doc_id) "
            "DO UPDATE SET meta = EXCLUDED.meta RETURNING doc_no",
            (doc_id, json.dumps(meta))).fetchone()[0]
        ids = _term_ids(conn, counts)
        _copy_chunks(conn, doc_no, chunks, vectors, counts, dls, avgdl, ids)
        conn.execute("UPDATE seed_meta SET value = %s WHERE key = 'stats'", (json.dumps(stats),))
        conn.execute("UPDATE seed_meta SET value = jsonb_set(value, '{generation}', "
                     "to_jsonb((value->>'generation')::bigint + 1)) WHERE key = 'index'")


def _remove_document(conn, doc_id: str) -> list[int]:
    """Delete a document's chunks, postings and document frequencies; their BM25 lengths."""
    got = conn.execute("SELECT doc_no FROM seed_docs WHERE doc_id = %s", (doc_id,)).fetchone()
    if got is None:
        return []
    rows = (row_id(got[0], 0), row_id(got[0] + 1, 0) - 1)  # the document's block of rows
    df = conn.execute("SELECT term_id, count(*) FROM seed_postings WHERE row_id BETWEEN %s "
                      "AND %s GROUP BY term_id", rows).fetchall()
    if df:
        _add_df(conn, {i: -c for i, c in df})
    conn.execute("DELETE FROM seed_postings WHERE row_id BETWEEN %s AND %s", rows)
    dls = conn.execute("DELETE FROM seed_chunks WHERE doc_id = %s RETURNING dl", (doc_id,))
    return [dl for (dl,) in dls.fetchall()]


def _add_df(conn, delta: dict[int, int]) -> None:
    conn.execute("UPDATE seed_terms t SET df = t.df + x.c FROM unnest(%s::int[], %s::int[]) "
                 "AS x(id, c) WHERE t.id = x.id", (list(delta), list(delta.values())))


def _term_ids(conn, counts: list[Counter]) -> dict[str, int]:
    """Ids of every term (new ones added), document frequencies raised by this document."""
    df = Counter(t for c in counts for t in c)
    terms = list(df)
    conn.execute("INSERT INTO seed_terms (term) SELECT t FROM unnest(%s::text[]) AS t "
                 "ON CONFLICT DO NOTHING", (terms,))
    ids = dict(conn.execute("SELECT term, id FROM seed_terms WHERE term = ANY(%s)",
                            (terms,)).fetchall())
    _add_df(conn, {ids[t]: c for t, c in df.items()})
    return ids


def _copy_chunks(conn, doc_no: int, chunks: list[Chunk], vectors: list[np.ndarray],
                 counts: list[Counter], dls: list[int], avgdl: float, ids: dict[str, int]
                 ) -> None:
    """The chunks (text, BM25 length, one halfvec per embedder) and their BM25 postings."""
    from pgvector import HalfVector
    from psycopg.types.json import Jsonb

    dense = ", ".join(f"dense_{i}" for i in range(len(vectors)))
    sql = f"COPY seed_chunks (row_id, doc_id, seq, chunk, dl, {dense}) FROM STDIN " \
          "WITH (FORMAT BINARY)"
    with conn.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(["int8", "text", "int4", "jsonb", "int4"] + ["halfvec"] * len(vectors))
        for j, c in enumerate(chunks):
            copy.write_row([row_id(doc_no, c.seq), c.doc_id, c.seq, Jsonb(asdict(c)), dls[j],
                            *(HalfVector(v[j]) for v in vectors)])
    sql = "COPY seed_postings (term_id, row_id, w) FROM STDIN WITH (FORMAT BINARY)"
    with conn.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(["int4", "int8", "float4"])
        for j, c in enumerate(chunks):
            for term, w in tf_weights(counts[j], dls[j], avgdl).items():
                copy.write_row([ids[term], row_id(doc_no, c.seq), w])
