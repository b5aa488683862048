"""Where the facts go while reading: evidence -> the model's draft -> the shown answer.

    python bench/bench_reading.py --split tune [--set evidence_tokens=400 ...] [--gold F ...]

For every gold question of the split, `Assistant.ask` answers it with the default model and
the bench records, per question, which gold facts are in the evidence the reader was given,
in its draft and in the answer the user is shown (the eval's matching rule). Per language it
prints the three shares, false abstentions and declined unanswerable questions, and the first
token p50. `--set name=value` overrides a setting (as a `RAG_*` variable would), so a lever
is measured against the defaults on the tune half before it is adopted. `--out F` keeps the
per-question rows (JSON lines: facts per stage, the draft and the answer).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from eval.gold import GoldQuestion, load_gold
from eval.metrics import fact_present
from rag.answer import Assistant

GOLD = [REPO_ROOT.parent / "shared/gold/dev.jsonl", REPO_ROOT / "eval/gold/dev-topic.jsonl",
        REPO_ROOT / "eval/gold/dev-outside.jsonl"]


def one(assistant: Assistant, q: GoldQuestion) -> dict:
    """Ask `q`; which facts are in the evidence, the draft and the shown answer."""
    answer = assistant.ask(q.question)
    plan = assistant.plan(q.question)
    evidence = " ".join(p.text for r in plan.readings for p in r.passages)
    shown = "" if answer.abstained else answer.text
    return {"id": q.id, "lang": q.lang, "answerable": q.answerable,
            "abstained": answer.abstained, "first_s": answer.timings.get("first_token_s"),
            **{stage: [fact_present(f, text) for f in q.facts] for stage, text in
               (("evidence", evidence), ("draft", answer.draft or ""), ("shown", shown))},
            "draft_text": answer.draft, "text": shown}


def summary(rows: list[dict], lang: str) -> list[str]:
    """One table row: fact shares per stage, abstentions, first token p50."""
    mine = [r for r in rows if r["lang"] == lang]
    facts = [r for r in mine if r["answerable"]]
    n = sum(len(r["shown"]) for r in facts) or 1
    share = [f"{sum(sum(r[s]) for r in facts) / n:.2f}" for s in ("evidence", "draft", "shown")]
    unans = [r for r in mine if not r["answerable"]]
    firsts = [r["first_s"] for r in mine if r["first_s"] and not r["abstained"]]
    return [lang, str(n), *share,
            f"{sum(r['abstained'] for r in facts)}/{len(facts)}",
            f"{sum(r['abstained'] for r in unans)}/{len(unans)}",
            f"{statistics.median(firsts):.1f} s" if firsts else "-"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, nargs="+", default=GOLD)
    ap.add_argument("--split", choices=["all", "tune", "report"], default="tune")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    overrides = dict(s.split("=", 1) for s in args.set)
    assistant = Assistant(Settings(**overrides))
    assistant.warm_up()
    rows = [one(assistant, q) for g in args.gold for q in load_gold(g, args.split)]
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    t = Table(title=f"Facts while reading ({args.split} half; {overrides or 'defaults'})")
    for col in ("lang", "facts", "evidence", "draft", "shown", "answerable declined",
                "unanswerable declined", "first token p50"):
        t.add_column(col)
    for lang in ("en", "ko", "zh"):
        t.add_row(*summary(rows, lang))
    Console().print(t)


if __name__ == "__main__":
    main()
