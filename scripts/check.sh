#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, Rust lints and tests, Python lints and
# tests, and the wheel check (an abi3 wheel that installs and imports without torch or
# a Rust toolchain in a clean venv).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# A hung test must fail the run with its step named, not use up CI's 90 minutes:
# the test steps get a bound several times their usual time (cargo test ~1 min, pytest ~5).
bounded() {
  local limit=$1; shift
  local rc=0
  timeout --kill-after=30s "$limit" "$@" || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "check.sh: '$*' ran past $limit and was stopped (a hung test?)" >&2
  fi
  return "$rc"
}

echo "== cargo fmt / clippy / test"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
bounded 15m cargo test --workspace --quiet

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== wheel: build, install into a clean venv without torch, import"
rm -rf target/wheels
.venv/bin/maturin build --release --quiet --out target/wheels 2>&1 | grep -v "^📦" || true
wheel=$(ls target/wheels/archmotif-*-abi3-*.whl)
clean=$(mktemp -d)
python3 -m venv "$clean/venv"
"$clean/venv/bin/python" -m pip install --quiet "$wheel"
(cd "$clean" && env PATH="$clean/venv/bin:/usr/bin:/bin" "$clean/venv/bin/python" -c "
import sys, archmotif
g = archmotif.OpGraph(['input', 'conv'], [[0], [1]])
builtin = archmotif.datasets.load('builtin')
assert 'torch' not in sys.modules, 'importing archmotif must not import torch'
import archmotif.viz; archmotif.viz.write_html(g, 'viewer.html')  # viewer assets ship
print('wheel ok:', archmotif.__version__, g, len(builtin), 'built-in graphs')
")
rm -rf "$clean"

echo "== browser for the viewer tests (Debian chromium + chromium-driver, when missing)"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get -o Acquire::Retries=5 update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=5 install -y -qq chromium chromium-driver >/dev/null
fi

echo "== pytest"
bounded 40m .venv/bin/python -m pytest
