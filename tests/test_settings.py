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
    settings = Settings(_env_file=None)  # the code's defaults, not setup.sh's .env
    beside = [p for v in settings.model_dump().values() for p in _paths(v)
              if p.resolve().is_relative_to(REPO_ROOT.parent)
              and not p.resolve().is_relative_to(REPO_ROOT)]
    assert beside == []
    assert settings.mirror_dirs == [] and settings.notes_dirs == []


def test_a_dotenv_file_names_local_folders_and_the_environment_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """setup.sh writes the offline mirror and notes it finds into `.env`; Settings reads
    them from there, and a real RAG_* variable still overrides the file."""
    for name in ("RAG_MIRROR_DIRS", "RAG_NOTES_DIRS"):
        monkeypatch.delenv(name, raising=False)
    env = tmp_path / ".env"
    env.write_text(f"RAG_MIRROR_DIRS='[\"{tmp_path / 'pdfs'}\"]'\n"
                   f"RAG_NOTES_DIRS='[\"{tmp_path / 'notes'}\"]'\n", encoding="utf-8")
    assert Settings.model_config["env_file"] == REPO_ROOT / ".env"  # what setup.sh writes
    settings = Settings(_env_file=env)
    assert settings.mirror_dirs == [tmp_path / "pdfs"]
    assert settings.notes_dirs == [tmp_path / "notes"]
    monkeypatch.setenv("RAG_NOTES_DIRS", f'["{tmp_path / "mine"}"]')
    assert Settings(_env_file=env).notes_dirs == [tmp_path / "mine"]
