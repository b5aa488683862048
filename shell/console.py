"""Rag stage (CLI side): rich progress bars and summaries for the terminal.

Kept apart from `shell.cli` so the command definitions stay thin. Everything here writes to
stderr, so `--json` output on stdout stays machine-readable.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from index.build import BuildReport

err = Console(stderr=True)


class RichReporter:
    """A `Reporter` drawing one progress bar per stage with its rate (docs/s, chunks/s)."""

    def __init__(self, console: Console = err) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.units: dict[str, str] = {}

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress.tasks:
            self.progress.stop()
        else:  # nothing to show: stop without the blank line Progress prints off a terminal
            self.progress.live.transient = True
            self.progress.live.stop()

    def start(self, stage: str, total: int, unit: str) -> None:
        """A bar for `stage`; with no `total` (a wait of unknown length, such as fetching
        sources) a pulsing one, gone again once the stage finishes."""
        self.tasks[stage] = self.progress.add_task(stage, total=total or None, rate="")
        self.units[stage] = unit

    def advance(self, stage: str, n: int = 1) -> None:
        task = self.tasks.get(stage)
        if task is None:
            return
        self.progress.advance(task, n)
        speed = self._task(task).speed
        if speed:
            self.progress.update(task, rate=f"{speed:.1f} {self.units[stage]}/s")

    def finish(self, stage: str) -> None:
        task = self.tasks.pop(stage, None)
        if task is None:
            return
        total = self._task(task).total
        if total is None:
            self.progress.remove_task(task)
        else:
            self.progress.update(task, completed=total)

    def _task(self, task: TaskID) -> Task:
        return next(t for t in self.progress.tasks if t.id == task)


def print_build_summary(report: BuildReport, fetch_failures: list[tuple[str, str]]) -> None:
    """The closing summary of `rag ingest`."""
    t = Table(title="Ingest summary", show_header=False, title_justify="left")
    t.add_row("documents in index", str(report.documents))
    t.add_row("pages", str(report.pages))
    t.add_row("chunks", str(report.chunks))
    t.add_row("added / updated / unchanged",
              f"{len(report.added)} / {len(report.updated)} / {len(report.unchanged)}")
    t.add_row("chunks embedded now", str(report.embedded_chunks))
    for stage, seconds in report.timings.items():
        t.add_row(f"time {stage.removesuffix('_s')}", f"{seconds:.1f} s")
    t.add_row("index version", report.version or "-")
    err.print(t)
    skipped = list(fetch_failures) + report.skipped
    if skipped:
        err.print(f"[yellow]Skipped {len(skipped)}:[/yellow]")
        for what, why in skipped:  # one line each, whatever the width; names kept verbatim
            err.print(f"  [yellow]-[/yellow] {escape(what)}: {escape(why)}", soft_wrap=True)


class DraftStatus:
    """While the model drafts: the sources it reads (within a second of the question), then
    a count of the draft's tokens. The draft itself is not shown: only the sentences that
    pass the checks are the answer."""

    def __init__(self, console: Console = err) -> None:
        self.console = console
        self.status = console.status("retrieving…")
        self.tokens = 0

    def __enter__(self) -> DraftStatus:
        self.status.start()
        return self

    def __exit__(self, *exc) -> None:
        self.status.stop()

    def on_plan(self, plan) -> None:
        passages = [p for r in plan.readings for p in r.passages]
        if not passages:
            return
        self.console.print("[bold]Reading[/bold]")
        for p in passages:
            pages = f"p. {p.page_start}" if p.page_start == p.page_end else \
                f"pp. {p.page_start}-{p.page_end}"
            self.console.print(f"  {p.title} ({p.doc_id}), {pages}", markup=False,
                               style="dim", soft_wrap=True)
        self.status.update("drafting…")

    def on_token(self, piece: str) -> None:
        self.tokens += 1
        self.status.update(f"drafting… {self.tokens} tokens, then checking every claim")


def print_answer(answer, show_evidence: bool) -> None:
    """The checked answer and its sources, each with its quote (and its translation)."""
    out = Console()
    out.print(answer.text, markup=False)
    if answer.note:
        err.print(f"[yellow]{escape(answer.note)}[/yellow]")
    if answer.citations:
        out.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            pages = f"p. {c.page_start}" if c.page_start == c.page_end else \
                f"pp. {c.page_start}-{c.page_end}"
            ident = f"arXiv:{c.doc_id}" if c.url.startswith("https://arxiv.org") else c.doc_id
            out.print(f"[{c.n}] {c.title} ({ident}), {pages}  {c.url}", markup=False)
            out.print(f'    "{c.quote}"', markup=False, style="dim")
            if c.translation:
                out.print(f"    → {c.translation}", markup=False, style="dim")
    if answer.unsupported:
        err.print("[dim]Left out (numbers or names the sources do not back): " +
                  escape(" | ".join(answer.unsupported)) + "[/dim]")
    if show_evidence:
        out.print("\n[bold]Passages read[/bold]")
        for p in answer.passages:
            out.print(f"[{p.n}] {p.title} ({p.doc_id}, pp. {p.page_start}-{p.page_end})",
                      markup=False)
            out.print("    " + " ".join(p.text.split())[:600], markup=False, style="dim")
    t = answer.timings
    err.print(f"retrieve {t.get('retrieve_s', 0):.2f} s, first token "
              f"{t.get('first_token_s', 0):.1f} s, total {t.get('total_s', 0):.1f} s")
