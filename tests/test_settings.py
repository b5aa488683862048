"""The product's settings: defaults that depend on nothing beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import REPO_ROOT, Settings


def _paths(value) -> list[Path]:
    if isinstance(value, Path):
        return [value]
    if isinstance(value, list | tuple):
        return [p for v in value for p in _paths(v)]
    return []


def test_no_default_points_beside_the_repository(monkeypatch: pytest.MonkeyPatch):
    """`../shared` (the corpus and gold questions of this workspace) is for tests and benches
    to name; a user's install has none, and its defaults must not reach for one."""
    for name in ("RAG_MIRROR_DIRS", "RAG_NOTES_DIRS", "RAG_HOME", "RAG_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    beside = [p for v in settings.model_dump().values() for p in _paths(v)
              if p.resolve().is_relative_to(REPO_ROOT.parent)
              and not p.resolve().is_relative_to(REPO_ROOT)]
    assert beside == []
    assert settings.mirror_dirs == [] and settings.notes_dirs == []
