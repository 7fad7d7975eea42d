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
# PyPI downloads of several GB (torch, the CUDA wheels) do get cut off mid-way on CI
# machines: pip resumes a cut download, and the whole install is tried three times
# (what was fully downloaded stays in pip's cache) before set-up gives up.
pip_install() {
  local attempt
  for attempt in 1 2 3; do
    if .venv/bin/python -m pip install --quiet --retries 10 --timeout 60 "$@"; then
      return 0
    fi
    echo "setup: pip install failed (attempt $attempt of 3)" >&2
    sleep $((attempt * 10))
  done
  return 1
}
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  pip_install --upgrade pip
  pip_install --resume-retries 20 -r requirements.lock
  echo "$want" > "$stamp"
fi
# Builds the Rust extension (abi3) and installs archmotif in editable mode.
.venv/bin/maturin develop --release --quiet 2>&1 | grep -v "^📦\|^✏️\|^🛠" || true
.venv/bin/python -c "import archmotif; print('archmotif', archmotif.__version__, 'ready in .venv')"
