"""Eval stage: show scores, in the terminal (rich tables) or as a Markdown report with plots.

    print_tables(scores, Console())            # one table per system: metric x language
    write_report(scores, Path("out"), gold)    # out/report.md, out/<family>.png, scores.json

`scores` is `{system: {"overall", "by_lang", "questions"}}` as `eval.run.evaluate` returns.
The report has one table per metric family (retrieval, citations, answers, latency) with a
row per system and language, a bar chart per family (languages on the x axis, one bar per
system), and per system a table of every question: what was retrieved, what was answered,
which facts were hit or missed, so a reader sees why a question failed.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

log = logging.getLogger(__name__)

FAMILIES: dict[str, tuple[str, ...]] = {
    "retrieval": ("recall@1", "recall@5", "recall@10", "mrr"),
    "citations": ("citation_precision", "citation_recall"),
    "answers": ("fact_recall", "all_facts", "lang_match", "abstention_accuracy",
                "false_abstention", "ungrounded_answers"),
    "latency": ("retrieve_p50_s", "retrieve_p95_s", "answer_p50_s", "answer_p95_s"),
}
GROUPS = ("ko", "zh", "en", "overall")
ANSWER_CHARS = 300  # answers are cut to this in the per-question table


def fmt(value: float | None, metric: str) -> str:
    """0.6667 -> "0.67", a latency -> "1.23 s", nothing to count -> "-"."""
    if value is None:
        return "-"
    return f"{value:.2f} s" if metric.endswith("_s") else f"{value:.2f}"


def _groups(result: dict) -> dict[str, dict]:
    """{"ko": metrics, "zh": ..., "en": ..., "overall": ...} for one system."""
    return {**result["by_lang"], "overall": result["overall"]}


def print_tables(scores: dict[str, dict], console: Console) -> None:
    """One table per system, a metric per row, languages and overall as columns."""
    for name, result in scores.items():
        groups = _groups(result)
        n = {g: sum(1 for q in result["questions"] if g in ("overall", q["lang"]))
             for g in GROUPS}
        table = Table(title=f"{name}", title_justify="left")
        table.add_column("metric")
        for g in GROUPS:
            table.add_column(f"{g} (n={n[g]})", justify="right")
        for metric in (m for family in FAMILIES.values() for m in family):
            values = [groups.get(g, {}).get(metric) for g in GROUPS]
            if any(v is not None for v in values):
                table.add_row(metric, *(fmt(v, metric) for v in values))
        console.print(table)
        failed = [q["id"] for q in result["questions"] if q["error"]]
        if failed:
            console.print(f"[red]{len(failed)} question(s) failed[/red] (scored as wrong): "
                          + ", ".join(failed))


def write_report(scores: dict[str, dict], out_dir: Path, gold_path: Path) -> Path:
    """Write report.md, one PNG per metric family and scores.json into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scores.json").write_text(
        json.dumps(scores, ensure_ascii=False, indent=1), encoding="utf-8")
    lines = [f"# Seed eval: {Path(gold_path).name}", "",
             f"{time.strftime('%Y-%m-%d %H:%M')}; systems: {', '.join(scores)}; "
             f"{len(next(iter(scores.values()))['questions'])} questions. "
             "`-` means nothing to count (e.g. answer metrics in a retrieval-only run).", ""]
    for family, metrics in FAMILIES.items():
        lines += [f"## {family.capitalize()}", "", *family_table(scores, metrics), ""]
        if plot_family(scores, family, metrics, out_dir / f"{family}.png"):
            lines += [f"![{family}]({family}.png)", ""]
    for name, result in scores.items():
        lines += [f"## Questions: {name}", "", *question_table(result["questions"]), ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    log.info("wrote %s", path)
    return path


def family_table(scores: dict[str, dict], metrics: tuple[str, ...]) -> list[str]:
    """A Markdown table: a row per system and language, a column per metric."""
    lines = ["| system | lang | " + " | ".join(metrics) + " |",
             "|---|---|" + "---:|" * len(metrics)]
    for name, result in scores.items():
        for g, values in _groups(result).items():
            cells = " | ".join(fmt(values.get(m), m) for m in metrics)
            lines.append(f"| {name} | {g} | {cells} |")
    return lines


def plot_family(scores: dict[str, dict], family: str, metrics: tuple[str, ...],
                path: Path) -> bool:
    """Grouped bars (x: languages, one bar per system), one panel per metric; False if empty."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    shown = [m for m in metrics
             if any(_groups(r).get(g, {}).get(m) is not None for r in scores.values()
                    for g in GROUPS)]
    if not shown:
        return False
    fig = Figure(figsize=(3.2 * len(shown), 3.0), layout="constrained")
    width = 0.8 / len(scores)
    for i, metric in enumerate(shown):
        ax = fig.add_subplot(1, len(shown), i + 1)
        for j, (name, result) in enumerate(scores.items()):
            groups = _groups(result)
            heights = [groups.get(g, {}).get(metric) or 0.0 for g in GROUPS]
            ax.bar([x + j * width for x in range(len(GROUPS))], heights, width, label=name)
        ax.set_xticks([x + width * (len(scores) - 1) / 2 for x in range(len(GROUPS))], GROUPS)
        ax.set_title(metric, fontsize=9)
        if not metric.endswith("_s"):
            ax.set_ylim(0, 1)
    fig.axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=100)
    return True


def question_table(rows: list[dict]) -> list[str]:
    """A Markdown table of every question: why it passed or failed at a glance."""
    lines = ["| id | question | sources | rank | retrieved documents | answer | facts hit | "
             "facts missed |", "|---|---|---|---:|---|---|---|---|"]
    for q in rows:
        retrieved = ", ".join(dict.fromkeys(q["retrieved"])) or "-"
        if q["error"]:
            answer = f"**failed**: {q['error']}"
        elif q["answer"] is None:
            answer = "-"
        else:
            answer = ("(abstained) " if q["abstained"] else "") + _cut(q["answer"])
        read = q["answer"] is not None or q["error"]
        hit, missed = (", ".join(q["facts_hit"]) or "-", ", ".join(q["facts_missed"]) or "-") \
            if read else ("-", "-")
        cells = [q["id"], q["question"], ", ".join(q["sources"]) or "(unanswerable)",
                 str(q["rank"] or "-"), retrieved, answer, hit, missed]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _cut(text: str) -> str:
    return text if len(text) <= ANSWER_CHARS else text[: ANSWER_CHARS - 3] + "..."


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
