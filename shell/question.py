"""What a typed question must be before any index or model is loaded: one rule for every shell.

White space is folded; an empty question or one over `MAX_QUESTION_CHARS` is refused with a
`QuestionError` saying which (the CLI prints it, the web UI shows it in the user's language).

>>> normalize_question("  ALBERT와   ELECTRA\\n차이? ")
'ALBERT와 ELECTRA 차이?'
"""

from __future__ import annotations

MAX_QUESTION_CHARS = 2000


class QuestionError(ValueError):
    """A question refused before answering; `kind` is "empty" or "too_long", `length` its
    length after folding white space."""

    def __init__(self, kind: str, length: int) -> None:
        self.kind, self.length = kind, length
        super().__init__(
            "the question is empty: type what you want to know" if kind == "empty" else
            f"the question is {length} characters; keep it under {MAX_QUESTION_CHARS}")


def normalize_question(question: str) -> str:
    """`question` with white space folded; raises `QuestionError` if empty or too long."""
    question = " ".join(question.split())
    if not question:
        raise QuestionError("empty", 0)
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError("too_long", len(question))
    return question
