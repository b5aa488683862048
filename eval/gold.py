"""Eval stage: the gold question format (one JSON object per line).

    {"id": "ko-000", "lang": "ko", "question": "...", "sources": ["1909.11942"],
     "facts": [["parameter sharing", "파라미터 공유"], ...], "answerable": true}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class GoldError(ValueError):
    """A gold file that cannot be read."""


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    lang: str
    question: str
    sources: tuple[str, ...]
    facts: tuple[tuple[str, ...], ...]
    answerable: bool


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read a gold .jsonl file; a bad line is an error naming the line."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise GoldError(f"cannot read gold file {path}: {e.strerror}") from e
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(GoldQuestion(
                id=d["id"], lang=d["lang"], question=d["question"],
                sources=tuple(d.get("sources", [])),
                facts=tuple(tuple(f) for f in d.get("facts", [])),
                answerable=bool(d.get("answerable", True)),
            ))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise GoldError(f"{path}:{n}: not a gold question ({e})") from e
    return out
