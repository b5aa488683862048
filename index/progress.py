"""Index stage: how long-running work reports progress without printing.

Library code calls a `Reporter`; the CLI passes one that draws rich progress bars, tests and
the UI pass their own or none (`NullReporter`).
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def start(self, stage: str, total: int, unit: str) -> None: ...

    def advance(self, stage: str, n: int = 1) -> None: ...

    def finish(self, stage: str) -> None: ...


class NullReporter:
    """Reports nothing."""

    def start(self, stage: str, total: int, unit: str) -> None:
        pass

    def advance(self, stage: str, n: int = 1) -> None:
        pass

    def finish(self, stage: str) -> None:
        pass
