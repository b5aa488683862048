"""Ingest fanned out over a real Dask LocalCluster (worker processes on 127.0.0.1): the same
index as in-process, vectors embedded by the workers into the shared cache."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from index.build import embed_text, ingest_sources
from index.cache import VectorCache
from index.cluster import ClusterError, client_for
from index.embed import load_embedders
from index.store import load_version
from ingest.chunk import CHUNKER_VERSION
from ingest.sources import resolve_sources
from tests.conftest import small_settings


def _ingest(settings, *paths):
    return ingest_sources(resolve_sources([str(p) for p in paths], settings).sources, settings)


def test_cluster_ingest_builds_the_in_process_index(tmp_path, small_corpus, small_index):
    note = tmp_path / "cluster-note.md"  # new bytes: a worker must embed them
    note.write_text(f"# Cluster note {uuid.uuid4().hex}\nALBERT shares parameters across "
                    "layers. ELECTRA trains a discriminator to detect replaced tokens.\n")
    settings = small_settings(tmp_path / "home", cluster="local")
    report = _ingest(settings, small_corpus, note)
    assert "cluster-note" in report.added and len(report.added) == 6
    assert report.embedded_chunks == 0  # everything was embedded (or cached) by the workers
    built, reference = load_version(settings.index_dir), load_version(small_index.index_dir)
    assert [c for c in built.chunks if c.doc_id != "cluster-note"] == reference.chunks
    note_chunks = [c for c in built.chunks if c.doc_id == "cluster-note"]
    sha = built.meta.docs["cluster-note"]["sha256"]
    for emb in load_embedders(settings.embedder, settings.e5_runtime):
        cached = VectorCache(settings.vector_cache, emb.id, CHUNKER_VERSION,
                             settings.chunk_tokens).get(sha)
        here = emb.encode_document([embed_text(c) for c in note_chunks])
        assert np.min(np.sum(cached * here, axis=1)) > 0.999, emb.id


def test_unreachable_scheduler_is_one_clear_error():
    with pytest.raises(ClusterError, match="RAG_CLUSTER"):
        client_for("tcp://127.0.0.1:9")  # the discard port: nothing listens
