"""Rag stage: answer "A와 B 차이?" by reading about each side on its own.

Given both papers' evidence at once, the 1.5B default reader tends to describe one paper, cite
only that one, and credit it with the other's ideas (on the full index it gave ALBERT
ELECTRA's "All-Tokens MLM"). Asked "what is the key idea of A?" over A's evidence alone, and
then the same of B over B's, it states each paper's own idea and cites it; the two answers,
joined, say how the two differ. The prompt's fixed prefix stays cached, so the second
reading costs only its own sources and tokens.

This applies when each side names a different paper that has passages (`side_papers`);
other comparisons ("encoder vs decoder") are read in one go.

    >>> names = {"ALBERT": "1909.11942", "ELECTRA": "2003.10555"}
    >>> def passage(n, doc_id): return Passage(n, doc_id, "", "", 1, 1, "", (), 0.0)
    >>> passages = [passage(1, "1909.11942"), passage(2, "2003.10555")]
    >>> side_papers(["ALBERT", "ELECTRA"], names, passages)
    [('ALBERT', '1909.11942'), ('ELECTRA', '2003.10555')]
    >>> side_papers(["ALBERT", "ELECTRA"], names, passages[:1])  # no ELECTRA passage
    []
    >>> side_papers(["encoder", "decoder"], names, passages)  # no paper named
    []
"""

from __future__ import annotations

import dataclasses
import re

from rag.context import Passage
from rag.named import named_papers

SIDE_QUESTION = {
    "ko": "{side}의 핵심 아이디어는 무엇인가?",
    "zh": "{side}的核心思想是什么？",
    "en": "What is the key idea of {side}?",
}
# What a side's evidence should say is what its paper proposes. Sentences stating it ("we
# propose a more sample-efficient pre-training task called replaced token detection") seldom
# repeat the paper's name, so "what is X" scores them low (USE cosine -0.03 for that one);
# these queries phrased like a contribution score them 0.26-0.30.
KEY_IDEA_QUERIES = ["We propose a new method:",
                    "In this paper, we propose a new technique that works as follows."]
_MARKER = re.compile(r"(\s*)\[(\d+)\]")
# A Chinese answer's ASCII period after a Han character or a marker: the Chinese sentence
# splitter (which keeps "3.2" and "e.g." whole) does not end a sentence there.
_ZH_PERIOD = re.compile(r"(?<=[\u4e00-\u9fff\]])\.(?=\s|\[|$)")


def side_papers(
    sides: list[str], names: dict[str, str], passages: list[Passage]
) -> list[tuple[str, str]]:
    """[(side, doc_id)] when each of the two sides names its own paper and that paper has
    passages; else [] (read the comparison in one go)."""
    if len(sides) != 2:
        return []
    present = {p.doc_id for p in passages}
    pairs = []
    for side in sides:
        docs = named_papers(side, names)
        if len(docs) != 1 or docs[0] not in present:
            return []
        pairs.append((side, docs[0]))
    return pairs if pairs[0][1] != pairs[1][1] else []


def shift(text: str, passages: list[Passage], offset: int) -> tuple[str, list[Passage]]:
    """One side's answer and passages renumbered after the `offset` passages before them:
    the second side's [1] becomes [offset + 1]. Markers that point to none of its passages
    are dropped (the citation check then attaches a passage if one supports the sentence)."""
    known = {p.n for p in passages}

    def renumber(m: re.Match) -> str:
        n = int(m.group(2))
        return f"{m.group(1)}[{n + offset}]" if n in known else ""

    text = _MARKER.sub(renumber, text)
    return text, [dataclasses.replace(p, n=p.n + offset) for p in passages]


def join_sides(texts: list[str], lang: str) -> str:
    """The sides' answers as one text in which each side's sentences stay separate: the
    citation check splits sentences by the answer's language, and a side whose last
    sentence ran into the next side's would be checked (and cited) as one."""
    if lang == "zh":
        texts = [_ZH_PERIOD.sub("。", t) for t in texts]
    return " ".join(t.strip() for t in texts)
