"""Answer speed and memory with the default model: first token, total time, peak RSS.

    python bench/bench_answer.py [--gold ../shared/gold/dev.jsonl] [--limit N]

Uses the index in RAG_HOME and the configured model (default: the bundled Qwen2.5-Coder-1.5B,
2 threads). Each question is asked once after `Assistant.warm_up()` (model load and the
prompt's fixed prefix excluded, as in a running `rag serve`; a one-shot `rag ask` pays
them on top).
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from eval.gold import load_gold
from eval.metrics import percentile
from rag.answer import Assistant


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=REPO_ROOT.parent / "shared/gold/dev.jsonl")
    ap.add_argument("--limit", type=int, default=0, help="first N questions only")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    gold = load_gold(args.gold)[: args.limit or None]
    t0 = time.perf_counter()
    assistant = Assistant(Settings())
    assistant.warm_up()  # loads the model, processes the prompt's fixed prefix once
    load_s = time.perf_counter() - t0
    rows, shown = [], []
    for q in gold:
        start = time.perf_counter()
        a = assistant.ask(q.question,
                          on_plan=lambda _p, s=start: shown.append(time.perf_counter() - s))
        rows.append((q, a))
    answered = [a for _, a in rows if not a.abstained]
    first = [a.timings["first_token_s"] for a in answered]
    total = [a.timings["total_s"] for _, a in rows]
    t = Table(title=f"Answers on {args.gold.name}: {len(rows)} questions, 2 cores")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("load (index + embedders + model + prompt prefix)", f"{load_s:.1f} s")
    t.add_row("answered / abstained", f"{len(answered)} / {len(rows) - len(answered)}")
    t.add_row("sources shown (plan done) p50 / p95",
              f"{percentile(shown, 50):.2f} / {percentile(shown, 95):.2f} s")
    t.add_row(
        "first token p50 / p95 (answered)",
        f"{percentile(first, 50):.1f} / {percentile(first, 95):.1f} s",
    )
    t.add_row(
        "total p50 / p95 (all)", f"{percentile(total, 50):.1f} / {percentile(total, 95):.1f} s"
    )
    t.add_row("peak RSS", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    Console().print(t)


if __name__ == "__main__":
    main()
