"""Eval stage: run systems over a gold set, score them, resume after an interruption.

    scores = evaluate(Path("dev.jsonl"), settings, ["seed", "bm25"])
    scores["seed"]["by_lang"]["ko"]["recall@5"]

Each finished question is appended at once to a JSONL log (one line per system and
question), so an interruption loses at most the question in progress; with `resume=True` the
lines already there are kept and only the missing questions run. A question that raises is
logged and recorded with its error, then scored as wrong: nothing retrieved, no answer, no
abstention.

Scoring follows the gold README. Retrieval, citation and fact metrics count answerable
questions only (an unanswerable one has no source and no facts); `lang_match` counts every
question; latencies leave failed questions out. A metric with nothing to count is None.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from common.lang import detect_lang
from common.settings import Settings
from eval.gold import GoldQuestion, load_gold
from eval.metrics import (
    fact_present,
    fact_recall,
    first_hit_rank,
    percentile,
    recall_at,
    reciprocal_rank,
)
from eval.systems import System, make_systems
from rag.answer import Answer
from rag.cite import header
from rag.ground import audit

log = logging.getLogger(__name__)

LANGS = ("ko", "zh", "en")
METRICS = ("recall@1", "recall@5", "recall@10", "mrr", "citation_precision",
           "citation_recall", "fact_recall", "all_facts", "lang_match", "abstention_accuracy",
           "false_abstention", "ungrounded_answers", "retrieve_p50_s", "retrieve_p95_s",
           "answer_p50_s", "answer_p95_s")
ANSWER_METRICS = METRICS[4:12] + ("answer_p50_s", "answer_p95_s")


def results_path(settings: Settings, gold_path: Path, out_dir: Path | None,
                 split: str = "all") -> Path:
    """Where the per-question log lives: the report folder, else RAG_HOME/eval/."""
    folder = out_dir or settings.home / "eval"
    part = "" if split == "all" else f".{split}"
    return folder / f"{Path(gold_path).stem}{part}.results.jsonl"


def evaluate(
    gold_path: Path, settings: Settings, names: list[str], *, retrieval_only: bool = False,
    resume: bool = False, out_dir: Path | None = None, llm: BaseChatModel | None = None,
    show_progress: bool = True, split: str = "all",
) -> dict[str, dict]:
    """Load the gold set (one `split` of it, or all) and the systems, run (or resume) them,
    score: {system: scores}."""
    gold = load_gold(gold_path, split)
    systems = make_systems(names, settings, llm=llm, retrieval_only=retrieval_only)
    log_path = results_path(settings, gold_path, out_dir, split)
    records = run_systems(gold, systems, log_path, retrieval_only=retrieval_only,
                          resume=resume, show_progress=show_progress)
    return {name: score(gold, recs, retrieval_only) for name, recs in records.items()}


def run_systems(
    gold: list[GoldQuestion], systems: dict[str, System], log_path: Path, *,
    retrieval_only: bool = False, resume: bool = False, show_progress: bool = True,
) -> dict[str, list[dict]]:
    """Every system on every question (question-major), logging each record as it is done."""
    mode = "retrieval" if retrieval_only else "full"
    done = load_records(log_path, mode) if resume else {}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if not resume:
        log_path.unlink(missing_ok=True)
    todo = [(q, name) for q in gold for name in systems if (name, q.id) not in done]
    total = len(gold) * len(systems)
    with _progress(show_progress) as bar, open(log_path, "a", encoding="utf-8") as f:
        task = bar.add_task("eval", total=total, completed=total - len(todo))
        for q, name in todo:
            bar.update(task, description=f"{name} {q.id}")
            rec = run_one(systems[name], q, mode)
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            done[(name, q.id)] = rec
            bar.advance(task)
    return {name: [done[(name, q.id)] for q in gold] for name in systems}


def load_records(path: Path, mode: str) -> dict[tuple[str, str], dict]:
    """Records of an earlier run in the same mode, keyed by (system, question id)."""
    out = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by the interruption: run it again
            continue
        if rec.get("mode") == mode:
            out[(rec["system"], rec["id"])] = rec
    log.info("resuming: %d finished records in %s", len(out), path)
    return out


def run_one(system: System, q: GoldQuestion, mode: str) -> dict:
    """One question through one system, as a JSON-able record; exceptions become `error`."""
    rec = {"system": system.name, "id": q.id, "mode": mode, "retrieved": [],
           "retrieve_s": None, "answer": None, "abstained": False, "cited": [],
           "answer_s": None, "error": None}
    try:
        res = system.run(q.question, retrieval_only=mode == "retrieval")
    except Exception as e:  # noqa: BLE001 - one bad question must not end a long run
        log.warning("%s failed on %s: %s: %s", system.name, q.id, type(e).__name__, e)
        log.debug("traceback of %s on %s", system.name, q.id, exc_info=True)
        rec["error"] = f"{type(e).__name__}: {e}"
        return rec
    rec.update(retrieved=res.retrieved, retrieve_s=res.retrieve_s)
    if res.answer is not None:
        rec.update(answer=res.answer.text, abstained=res.answer.abstained,
                   cited=[c.doc_id for c in res.answer.citations], answer_s=res.answer_s,
                   ungrounded=[] if res.answer.abstained else ungrounded(res.answer),
                   draft=res.answer.draft, unsupported=res.answer.unsupported,
                   evidence=[p.text for p in res.answer.passages])
    return rec


def ungrounded(answer: Answer) -> list[str]:
    """The shown answer's sentences with a number or name its cited passages lack."""
    by_n = {p.n: (p.text, header(p)) for p in answer.passages}
    sources = {c.n: by_n.get(c.passage, ("", "")) for c in answer.citations}
    return audit(answer.text, answer.lang, sources)


@contextmanager
def _progress(show: bool) -> Iterator[Progress]:
    bar = Progress(TextColumn("[bold]{task.description:<24}"), BarColumn(),
                   MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), disable=not show)
    with bar:
        yield bar


# ---------------------------------------------------------------- scoring


def score(gold: list[GoldQuestion], records: list[dict], retrieval_only: bool = False) -> dict:
    """{"overall": metrics, "by_lang": {lang: metrics}, "questions": [scored rows]}."""
    rows = [score_question(q, r) for q, r in zip(gold, records, strict=True)]
    langs = list(LANGS) + sorted({r["lang"] for r in rows} - set(LANGS))
    shapes = sorted({q.shape for q in gold if q.shape})
    return {
        "overall": aggregate(rows, retrieval_only),
        "by_lang": {lang: aggregate([r for r in rows if r["lang"] == lang], retrieval_only)
                    for lang in langs},
        "by_shape": {shape: aggregate([r for r in rows if r["shape"] == shape], retrieval_only)
                     for shape in shapes},
        "questions": rows,
    }


def score_question(q: GoldQuestion, rec: dict) -> dict:
    """One record judged against its gold question (the per-question part of the report)."""
    text = rec.get("answer")
    hit = [fact_present(f, text) if text and not rec["error"] else False for f in q.facts]
    return {
        "id": q.id, "lang": q.lang, "question": q.question, "answerable": q.answerable,
        "shape": q.shape, "split": q.split,
        "sources": list(q.sources), "error": rec["error"],
        "retrieved": rec["retrieved"], "rank": first_hit_rank(rec["retrieved"], q.sources),
        "answer": text, "abstained": rec["abstained"], "cited": rec["cited"],
        "facts_hit": [f[0] for f, h in zip(q.facts, hit, strict=True) if h],
        "facts_missed": [f[0] for f, h in zip(q.facts, hit, strict=True) if not h],
        "fact_recall": 0.0 if rec["error"] else fact_recall(q.facts, text or ""),
        "lang_match": bool(text) and not rec["error"] and detect_lang(text) == q.lang,
        "retrieve_s": rec["retrieve_s"], "answer_s": rec["answer_s"],
        "ungrounded": rec.get("ungrounded") or [],
    }


def aggregate(rows: list[dict], retrieval_only: bool = False) -> dict[str, float | None]:
    """The metrics over `rows` (see the module docstring for what each one counts)."""
    ans = [r for r in rows if r["answerable"]]
    ranks = [r["rank"] for r in ans]
    ok = [r for r in rows if not r["error"]]
    out: dict[str, float | None] = {
        "recall@1": _mean([recall_at(k, 1) for k in ranks]),
        "recall@5": _mean([recall_at(k, 5) for k in ranks]),
        "recall@10": _mean([recall_at(k, 10) for k in ranks]),
        "mrr": _mean([reciprocal_rank(k) for k in ranks]),
        "citation_precision": _mean([d in r["sources"] for r in ans for d in r["cited"]]),
        "citation_recall": _mean([any(d in r["sources"] for d in r["cited"]) for r in ans]),
        "fact_recall": _mean([r["fact_recall"] for r in ans]),
        "all_facts": _mean([not r["facts_missed"] and not r["error"] for r in ans]),
        "lang_match": _mean([r["lang_match"] for r in rows]),
        "abstention_accuracy": _mean([r["abstained"] for r in rows if not r["answerable"]]),
        "false_abstention": _mean([r["abstained"] for r in ans]),
        "ungrounded_answers": _mean([bool(r["ungrounded"]) for r in ok
                                     if r["answer"] and not r["abstained"]]),
        "retrieve_p50_s": _pct([r["retrieve_s"] for r in ok], 50),
        "retrieve_p95_s": _pct([r["retrieve_s"] for r in ok], 95),
        "answer_p50_s": _pct([r["answer_s"] for r in ok], 50),
        "answer_p95_s": _pct([r["answer_s"] for r in ok], 95),
    }
    if retrieval_only:
        out.update(dict.fromkeys(ANSWER_METRICS))
    return out


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def _pct(values: list[float | None], q: float) -> float | None:
    present = [v for v in values if v is not None]
    return percentile(present, q) if present else None
