"""Rag stage: cut the passages down to the sentences that bear on the question.

On a CPU the reader's first token waits for the whole prompt to be processed (~60 tokens/s
for the 1.5B default on 2 cores), so the evidence must be small: a 300-token chunk and its
continuation are mostly sentences that do not matter to the question, and a small model is
distracted by them. `focus` keeps, from the retrieved passages, the sentences closest to the
question within a token budget:

1. every sentence is scored by embedding cosine with the question (a multilingual
   sentence encoder, so a Korean question meets English sentences) plus a bonus for each
   name or number of the question it contains (ALBERT, 8k, 28.4); a comparison also scores
   against one "what is X" query per side (its best score counts), since "the difference
   between A and B" is rarely written down, while what A is and what B is are; sentences
   stating a contribution ("we propose ...") get a bonus: they say what a method is;
2. the best sentence of each of the first `spread` passages is taken first, so both papers
   of a comparison keep their evidence; then the best remaining sentences, globally;
3. each passage keeps its chosen sentences in document order, gaps marked with " … ", and
   passages left empty are dropped and the rest renumbered.

    kept = focus(question, passages, use_embedder, budget_tokens=220)
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from common.lang import Lang, detect_lang
from common.sentences import split_sentences
from common.tokens import approx_tokens
from index.embed import Embedder
from index.lexical import tokenize
from rag.context import Passage
from rag.question import Question

KEY_BONUS = 0.08  # per question name/number found in the sentence
# Sentences where authors state their contribution ("we propose", "our approach") say what a
# method *is*, which "what is X" and comparison questions need and embeddings underrate.
CONTRIBUTION = re.compile(r"\b(?:we (?:propose|present|introduce|call)|our (?:approach|method|"
                          r"model)|(?:is|are) called)\b", re.I)
CONTRIBUTION_BONUS = 0.2
REDUNDANT = 0.85  # USE cosine above which a sentence repeats one already kept
MIN_CHARS = 25  # shorter pieces (captions, table cells) are never worth their tokens
GAP = " … "
FIGURE_TOKENS, FIGURE_DISTINCT = 20, 0.6  # see _is_figure_text


def focus(
    question: Question | str, passages: list[Passage], embedder: Embedder, budget_tokens: int,
    spread: int = 3, also: list[str] | None = None, prior: list[float] | None = None,
) -> list[Passage]:
    """The passages cut to their most relevant sentences, within `budget_tokens`; `also`:
    more queries a sentence may answer (the sides of a comparison); `prior`: a bonus per
    passage, added to each of its sentences (a paper's abstract, when asked what it is)."""
    text, lang = ((question.text, question.lang) if isinstance(question, Question)
                  else (question, detect_lang(question)))
    sents = [(i, s) for i, p in enumerate(passages) for s in _sentences(p.text)]
    if not sents:
        return passages
    vectors = embedder.encode_document([s for _, s in sents])
    scores = _scores([text, *(also or [])], lang, [s for _, s in sents], vectors, embedder)
    if prior:
        scores = scores + np.array([prior[i] for i, _ in sents])
    chosen = _choose(sents, scores, budget_tokens, spread, vectors)
    out = []
    for i, p in enumerate(passages):
        picked = [s for j, (pi, s) in enumerate(sents) if pi == i and j in chosen]
        if picked:
            out.append(dataclasses.replace(p, n=len(out) + 1, text=_join(p.text, picked)))
    return out


def _sentences(text: str) -> list[str]:
    lang = detect_lang(text)
    return [text[a:b] for a, b in split_sentences(text, lang)
            if b - a >= MIN_CHARS and not _is_heading(text[a:b]) and
            not _is_figure_text(text[a:b])]


def _is_figure_text(sentence: str) -> bool:
    """Figure axes and legends, tables of contents, overlapping PDF text layers ("GPT GPT
    (prompted) SFT PPO PPO-ptx 0 0.25 0.50 … GPT GPT (prompted) SFT PPO …", "Universality
    of overfitting . . . . ."): 20 or more tokens, fewer than 60% of them distinct. Prose and
    table rows repeat far less (216 of the corpus's 8,442 sentences of 20+ tokens are below,
    all of this kind); a question's name in them earned them a key bonus over real sentences."""
    tokens = sentence.split()
    return len(tokens) >= FIGURE_TOKENS and len(set(tokens)) < FIGURE_DISTINCT * len(tokens)


def _is_heading(sentence: str) -> bool:
    """Title blocks and running heads ("ALBERT: A LITE BERT FOR SELF-SUPERVISED ...")."""
    letters = [c for c in sentence if c.isalpha() and c.isascii()]
    return len(letters) > 20 and sum(c.isupper() for c in letters) > 0.3 * len(letters)


def _scores(queries: list[str], lang: Lang, sentences: list[str], vectors: np.ndarray,
            embedder: Embedder) -> np.ndarray:
    sim = (vectors @ embedder.encode_query(queries).T).max(axis=1)
    keys = {t for t in tokenize(queries[0], lang) if _is_key(t)}
    if keys:
        sim = sim + KEY_BONUS * np.array([_key_hits(s, keys) for s in sentences])
    return sim + CONTRIBUTION_BONUS * np.array([bool(CONTRIBUTION.search(s)) for s in sentences])


def _is_key(token: str) -> bool:
    """Names and numbers: Latin tokens with a digit or of 3+ letters ('albert', '8k')."""
    return token.isascii() and (any(c.isdigit() for c in token) or len(token) >= 3)


def _key_hits(sentence: str, keys: set[str]) -> int:
    return len(keys & set(tokenize(sentence, "en")))


def _choose(sents: list[tuple[int, str]], scores: np.ndarray, budget: int, spread: int,
            vectors: np.ndarray) -> set[int]:
    """Indices of the sentences to keep: each top passage's best first, then the best; a
    sentence saying what a kept one says (an abstract's claim restated in the introduction)
    is skipped, so the budget buys new facts."""
    order = [int(j) for j in np.argsort(-scores)]
    first = [next((j for j in order if sents[j][0] == i), None) for i in range(spread)]
    first = sorted((j for j in first if j is not None), key=lambda j: -scores[j])
    chosen: set[int] = set()
    used = 0
    for j in [*first, *order]:
        cost = approx_tokens(sents[j][1])
        if j in chosen or (chosen and used + cost > budget):  # the best one always goes
            continue
        if chosen and float((vectors[list(chosen)] @ vectors[j]).max()) > REDUNDANT:
            continue
        chosen.add(j)
        used += cost
    return chosen


def _join(text: str, picked: list[str]) -> str:
    """The picked sentences in document order, with a gap mark where text was left out."""
    out, end = "", 0
    for s in picked:
        at = text.find(s, end)
        if out:
            out += " " if at == end or not text[end:at].strip() else GAP
        elif at > 0:
            out += "… "
        out += s
        end = at + len(s)
    return out + (" …" if text[end:].strip() else "")
