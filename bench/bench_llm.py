"""How fast is the local LLM on this machine? Load time, prompt processing, decoding.

    .venv/bin/python bench/bench_llm.py                       # default model, 2 threads
    .venv/bin/python bench/bench_llm.py --threads 1,2 --prompt-tokens 600 --gen 96
    .venv/bin/python bench/bench_llm.py --gguf /path/other.gguf

A RAG answer costs `prompt_tokens / pp + answer_tokens / tg` seconds, where pp (prompt
processing) and tg (token generation) are the two speeds printed here. The prompt is real
multilingual (en/ko/zh) text cut to exactly `--prompt-tokens` tokens; the KV cache is reset
before each run so every prompt token is processed. Wall-clock times through the streaming
API: time to first token ~ prompt processing, the rest of the stream ~ decoding. Numbers
are the median of `--runs` runs; on a shared machine expect noise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from llama_cpp import Llama

from common.settings import Settings
from rag.model_files import ensure_default_model

TEXT = (
    "Retrieval-augmented generation grounds a language model's answer in passages retrieved "
    "from a corpus of research papers, and cites them so that a reader can check each claim. "
    "검색 증강 생성은 논문 말뭉치에서 찾은 단락에 근거하여 답을 만들고, 각 주장에 출처를 단다. "
    "检索增强生成从论文语料库中检索相关段落，并据此生成带有引用的回答，以便读者核实。 "
)


def prompt_tokens(llm: Llama, n: int) -> list[int]:
    """Exactly `n` tokens of multilingual text."""
    tokens: list[int] = []
    while len(tokens) < n:
        tokens += llm.tokenize(TEXT.encode(), add_bos=False)
    return tokens[:n]


def one_run(llm: Llama, prompt: list[int], gen: int) -> tuple[float, float, int]:
    """Return (time to first token, decode time after it, tokens generated)."""
    llm.reset()  # forget the previous prompt: no prefix reuse
    start = time.perf_counter()
    first = last = start
    n = 0
    for _ in llm.create_completion(prompt, max_tokens=gen, temperature=0, stream=True):
        last = time.perf_counter()
        if n == 0:
            first = last
        n += 1
    return first - start, last - first, n


def bench(gguf: Path, threads: int, n_prompt: int, gen: int, runs: int) -> dict[str, float]:
    start = time.perf_counter()
    llm = Llama(
        model_path=str(gguf),
        n_ctx=max(2048, n_prompt + gen + 16),
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    load_s = time.perf_counter() - start
    prompt = prompt_tokens(llm, n_prompt)
    one_run(llm, prompt[:32], 4)  # warm-up: first-touch of the mmap'd weights
    results = [one_run(llm, prompt, gen) for _ in range(runs)]
    ttft = statistics.median(r[0] for r in results)
    decode = statistics.median(r[1] / max(r[2] - 1, 1) for r in results)
    n_gen = statistics.median(r[2] for r in results)
    del llm
    return {
        "threads": threads,
        "load_s": load_s,
        "prompt": n_prompt,
        "ttft_s": ttft,
        "pp_tok_s": n_prompt / ttft,
        "gen": n_gen,
        "tg_tok_s": 1 / decode,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gguf", type=Path, help="default: the bundled model (assembled if needed)")
    ap.add_argument("--threads", default="2", help="comma-separated, e.g. 1,2")
    ap.add_argument("--prompt-tokens", type=int, default=600)
    ap.add_argument("--gen", type=int, default=96, help="tokens to generate per run")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    gguf = args.gguf or ensure_default_model(Settings())
    print(f"model: {gguf.name} ({gguf.stat().st_size / 1e6:.0f} MB)")
    header = f"{'threads':>7} {'load s':>7} {'prompt':>6} {'TTFT s':>7} {'pp tok/s':>9}"
    print(header + f" {'gen':>4} {'tg tok/s':>9}")
    for threads in (int(t) for t in args.threads.split(",")):
        r = bench(gguf, threads, args.prompt_tokens, args.gen, args.runs)
        print(
            f"{r['threads']:>7} {r['load_s']:>7.2f} {r['prompt']:>6} {r['ttft_s']:>7.2f} "
            f"{r['pp_tok_s']:>9.1f} {r['gen']:>4.0f} {r['tg_tok_s']:>9.1f}"
        )


if __name__ == "__main__":
    main()
