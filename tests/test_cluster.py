"""Ingest fanned out over a real Dask LocalCluster (worker processes on 127.0.0.1): the same
index as in-process, vectors embedded by the workers into the shared cache, and a worker
killed in the middle of a document (its task runs again elsewhere; nothing is lost)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
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


def _busy_worker(client, timeout_s: float = 120) -> tuple[str, str]:
    """(worker address, task key) of the first worker seen running a document task."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded
        for worker, keys in client.processing().items():
            docs = [k for k in keys if str(k).startswith("seed-doc-")]
            if docs:
                return worker, docs[0]
        time.sleep(0.05)
    raise AssertionError("no worker ever ran a document task")


def test_a_worker_killed_mid_document_loses_nothing(tmp_path):
    from distributed import Client, LocalCluster

    note = tmp_path / "long-note.md"  # new bytes: a worker must load the models and embed
    note.write_text(f"# Long note {uuid.uuid4().hex}\n" + " ".join(
        f"Sentence {i} says that ALBERT shares parameters across its {i} layers." for i in
        range(120)) + "\n")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        settings = small_settings(tmp_path / "home", cluster=cluster.scheduler_address)
        done: dict = {}
        ingest = threading.Thread(target=lambda: done.update(report=_ingest(settings, note)))
        ingest.start()
        victim, key = _busy_worker(client)
        with contextlib.suppress(Exception):  # the worker dies before it can answer
            client.run(os._exit, 1, workers=[victim])
        ingest.join(timeout=600)
        assert victim not in client.scheduler_info()["workers"]  # it did die mid-task
    report = done["report"]
    assert key.startswith("seed-doc-") and report.added == ["long-note"]
    assert report.embedded_chunks == 0  # the workers embedded it, the rerun included
    built = load_version(settings.index_dir)
    chunks = [c for c in built.chunks if c.doc_id == "long-note"]
    assert len(chunks) >= 2 and len(built.chunks) == len(chunks)
    assert all(d.ntotal == len(chunks) for d in built.dense)  # every embedder's vectors
