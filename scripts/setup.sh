#!/usr/bin/env bash
# Creates the project's virtual environment in .venv (repository root), installs the
# pinned dependencies (requirements.lock: torch/torchvision as a matching pair, PyG,
# timm, transformers, onnx, test and lint tools) and builds archmotif into it with
# maturin (release profile). Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.archmotif-lock.sha256
want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.lock
  echo "$want" > "$stamp"
fi
# Builds the Rust extension (abi3) and installs archmotif in editable mode.
.venv/bin/maturin develop --release --quiet 2>&1 | grep -v "^📦\|^✏️\|^🛠" || true
.venv/bin/python -c "import archmotif; print('archmotif', archmotif.__version__, 'ready in .venv')"
