"""Eval stage: the gold question format (one JSON object per line).

    {"id": "ko-000", "lang": "ko", "question": "...", "sources": ["1909.11942"],
     "facts": [["parameter sharing", "파라미터 공유"], ...], "answerable": true,
     "split": "tune", "shape": "describe"}        # split and shape are optional
"""

from __future__ import annotations

import json
import zlib
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
    split: str = ""  # "tune" or "report": tune on one half, report the other
    shape: str = ""  # describe / number / which / outside (dev-topic), else ""


def default_split(qid: str) -> str:
    """A question without a `split` goes to "tune" or "report" by a hash of its id: the
    same half on every machine, about half each."""
    return "tune" if zlib.crc32(qid.encode()) % 2 == 0 else "report"


def load_gold(path: Path, split: str | None = None) -> list[GoldQuestion]:
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
                split=d.get("split") or default_split(d["id"]), shape=d.get("shape", ""),
            ))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise GoldError(f"{path}:{n}: not a gold question ({e})") from e
    return [q for q in out if split in (None, "all", q.split)]
