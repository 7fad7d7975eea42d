"""Layers import one way: graph <- mining <- learn <- retrieval, with the harness
(dataset loading for experiments, reports, eval) and the CLI above them. Importing a
layer loads nothing above it."""

from __future__ import annotations

import subprocess
import sys


def _loaded_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if 'archmotif' in m))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_the_mining_layer_loads_no_layer_above_it():
    for module in ("archmotif", "archmotif.mining"):
        above = {m for m in _loaded_by(module)
                 if m.split(".")[1:2] and m.split(".")[1] in
                 ("datasets", "learn", "retrieval", "viz", "cli")}  # fmt: skip
        assert above == set(), f"import {module} loads {sorted(above)}"
