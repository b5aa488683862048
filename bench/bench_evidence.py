"""What reaches the reader, without running it: gold facts in the evidence, and its size.

    python bench/bench_evidence.py [--gold ../shared/gold/dev.jsonl] [--show-missed]

For every gold question, `Assistant.plan` (retrieve, relevance gate, focus; no LLM call)
decides what the model will read. The bench prints, per language:
- gated: questions abstained on before reading (right for unanswerable ones, a loss else);
- facts in passages: share of gold facts present in the retrieved passages (hit +
  continuation, `RAG_CONTEXT_TOKENS`), by the gold matching rule;
- facts in evidence: the same for the sentences focusing kept (`RAG_EVIDENCE_TOKENS`). The
  reader cannot state a fact that is not in front of it, so this bounds its fact recall;
- evidence from sources: share of the evidence passages that come from a gold source
  document (what the reader can cite correctly);
- prompt tokens: the question-dependent part of the prompt (sources, question, the last
  turn's template), counted with the default model's own tokenizer. On a CPU the first
  token waits for exactly these tokens to be processed (the fixed prefix is cached).

Uses the index in RAG_HOME. English alternatives of a fact count in Korean/Chinese
evidence too, as they do in answers.
"""

from __future__ import annotations

import argparse
import logging
import statistics
from pathlib import Path

from llama_cpp import Llama
from rich.console import Console
from rich.table import Table

from common.settings import REPO_ROOT, Settings
from eval.gold import GoldQuestion, load_gold
from eval.metrics import fact_present, percentile
from rag.answer import Assistant, Plan
from rag.model_files import ensure_default_model
from rag.prompts import reader_prompt


def prompt_tokens(plan: Plan, vocab: Llama) -> int:
    """Tokens of the last human turn, summed over the plan's readings."""
    total = 0
    for reading in plan.readings:
        last = reader_prompt().format_messages(**reading.inputs)[-1].content
        total += len(vocab.tokenize(last.encode(), add_bos=False)) + 10  # + chat-template tags
    return total


def coverage(facts: tuple[tuple[str, ...], ...], text: str) -> float:
    return sum(fact_present(f, text) for f in facts) / len(facts) if facts else 1.0


def from_sources(plan: Plan, q: GoldQuestion) -> float:
    """Share of the evidence passages that come from a gold source document: what the
    reader can cite correctly (a bound on citation precision)."""
    shown = [p.doc_id for r in plan.readings for p in r.passages]
    return sum(d in q.sources for d in shown) / len(shown) if shown else 0.0


def measure(q: GoldQuestion, assistant: Assistant, vocab: Llama) -> dict:
    plan = assistant.plan(q.question)
    passages = " ".join(f"{p.title} {p.text}" for p in plan.passages)
    evidence = " ".join(f"{p.title} {p.text}" for r in plan.readings for p in r.passages)
    return {"q": q, "gated": not plan.readings, "in_passages": coverage(q.facts, passages),
            "in_evidence": coverage(q.facts, evidence), "tokens": prompt_tokens(plan, vocab),
            "from_sources": from_sources(plan, q),
            "plan_s": plan.timings.get("plan_s", plan.timings["retrieve_s"])}


def row(name: str, rows: list[dict]) -> list[str]:
    ans = [r for r in rows if r["q"].answerable]
    una = [r for r in rows if not r["q"].answerable]
    read = [r for r in rows if not r["gated"]]
    toks = [r["tokens"] for r in read]
    return [
        name, f"{sum(r['gated'] for r in ans)} / {len(ans)}",
        f"{sum(r['gated'] for r in una)} / {len(una)}",
        f"{statistics.mean(r['in_passages'] for r in ans):.2f}" if ans else "-",
        f"{statistics.mean(r['in_evidence'] for r in ans):.2f}" if ans else "-",
        f"{statistics.mean(r['from_sources'] for r in ans if not r['gated']):.2f}"
        if ans else "-",
        f"{percentile(toks, 50):.0f} / {percentile(toks, 95):.0f}" if toks else "-",
        f"{percentile([r['plan_s'] for r in rows], 50) * 1000:.0f}",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=REPO_ROOT.parent / "shared/gold/dev.jsonl")
    ap.add_argument("--split", choices=["all", "tune", "report"], default="all",
                    help="only one half of the gold set (eval/gold.py)")
    ap.add_argument("--show-missed", action="store_true",
                    help="list the facts focusing dropped, per question")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    path = settings.llm_gguf or ensure_default_model(settings)  # at once when verified
    vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    assistant = Assistant(settings)
    rows = [measure(q, assistant, vocab) for q in load_gold(args.gold, args.split)]
    t = Table(title=f"Evidence on {args.gold.name}: evidence_tokens="
                    f"{settings.evidence_tokens}, context_tokens={settings.context_tokens}")
    for col in ("lang", "gated: answerable", "gated: unanswerable", "facts in passages",
                "facts in evidence", "evidence from sources", "prompt tokens p50 / p95",
                "plan p50 ms"):
        t.add_column(col, justify="right")
    for lang in ("ko", "zh", "en"):
        t.add_row(*row(lang, [r for r in rows if r["q"].lang == lang]))
    t.add_row(*row("all", rows))
    Console().print(t)
    if args.show_missed:
        for r in rows:
            if r["q"].answerable and r["in_evidence"] < r["in_passages"]:
                print(f"{r['q'].id}: evidence {r['in_evidence']:.2f} < passages "
                      f"{r['in_passages']:.2f}  {r['q'].question}")


if __name__ == "__main__":
    main()
