#!/usr/bin/env bash
# Seed's test suite: real PDFs, real models, real FAISS, real HTTP on loopback.
#   ./test.sh            # everything (the slow tests load the default LLM)
#   ./test.sh -m "not slow"   # minutes less
set -euo pipefail
cd "$(dirname "$0")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
