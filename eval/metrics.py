"""Eval stage: the scoring rules of the gold set, as small pure functions.

Retrieval: a hit is a passage from one of the question's `sources`. Facts: an alternative
matches after NFKC + lower case + white-space folding; non-ASCII alternatives match with all
spaces removed, ASCII ones must not follow an ASCII letter or digit (word prefixes).
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Sequence


def first_hit_rank(retrieved_docs: Sequence[str], sources: Sequence[str]) -> int | None:
    """1-based rank of the first passage from a source document, or None."""
    wanted = set(sources)
    for rank, doc in enumerate(retrieved_docs, start=1):
        if doc in wanted:
            return rank
    return None


def recall_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def fact_present(alternatives: Sequence[str], answer: str) -> bool:
    """True when any alternative occurs in `answer` under the gold matching rule.

    >>> fact_present(["sop"], "uses (SOP)"), fact_present(["sop"], "philosophy")
    (True, False)
    >>> fact_present(["파라미터 공유"], "파라미터공유를 한다")
    True
    """
    norm_answer = _norm(answer)
    squeezed = norm_answer.replace(" ", "")
    for alt in alternatives:
        a = _norm(alt)
        if not a:
            continue
        if not a.isascii():
            if a.replace(" ", "") in squeezed:
                return True
        elif re.search(r"(?<![a-z0-9])" + re.escape(a), norm_answer):
            return True
    return False


def fact_recall(facts: Sequence[Sequence[str]], answer: str) -> float:
    if not facts:
        return 1.0
    return sum(fact_present(f, answer) for f in facts) / len(facts)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]) \
        if 0 < q < 100 else float(min(values) if q <= 0 else max(values))
