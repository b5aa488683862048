"""Index stage: the index the settings name, whichever store holds it.

The embedded index under RAG_HOME (`index.store`) and the PostgreSQL store of RAG_STORE
(`index.pgstore`) offer the same reader interface; these two functions pick one, so the
rest of the program never asks which:

    index = open_index(settings)     # StoredIndex or PgIndex: chunks, dense legs, BM25, meta
    meta = index_meta(settings)      # the documents indexed, or None before the first ingest
"""

from __future__ import annotations

from common.settings import Settings
from index.store import IndexMissingError, Meta, StoredIndex, load_version, read_meta


def open_index(settings: Settings) -> StoredIndex:
    """The index the settings name: the embedded one under RAG_HOME, or the PostgreSQL store
    of RAG_STORE (`index.pgstore.PgIndex`)."""
    if settings.uses_postgres:
        from index.pgstore import open_pg_index

        return open_pg_index(settings.store, settings.pg_ef_search)  # type: ignore[return-value]
    return load_version(settings.index_dir)


def index_meta(settings: Settings) -> Meta | None:
    """The live index's meta (documents included), or None when nothing was built yet."""
    if not settings.uses_postgres:
        return read_meta(settings.index_dir)
    from index.pgstore import connect, load_state

    conn = connect(settings.store)
    try:
        return load_state(conn)[0]
    except IndexMissingError:
        return None
    finally:
        conn.close()
