"""Shared fixtures: small hand-made graphs and a temporary directory helper."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif


@pytest.fixture
def diamond() -> archmotif.OpGraph:
    """input -> conv, input -> relu, conv -> add, relu -> add."""
    return archmotif.OpGraph(
        ["input", "conv", "relu", "add"],
        [[0, 0, 1, 2], [1, 2, 3, 3]],
        name="diamond",
        labels={"family": "toy"},
    )


def _layered(layers: int, width: int, fanout: int | None = None) -> archmotif.OpGraph:
    """``layers`` layers of ``width`` same-op nodes; each node feeds the whole next
    layer (``fanout=None``) or ``fanout`` random nodes of it."""
    rng = np.random.default_rng(0)
    pairs = []
    for layer in range(layers - 1):
        base, nxt = layer * width, (layer + 1) * width
        for i in range(width):
            succ = range(width) if fanout is None else rng.choice(width, fanout, replace=False)
            pairs += [(base + i, nxt + int(j)) for j in succ]
    return archmotif.OpGraph.from_edges(["op"] * (layers * width), pairs)


def _diamonds(k: int) -> archmotif.OpGraph:
    ops, pairs = [], []
    for i in range(k):
        a = 4 * i
        ops += ["a", "b", "b", "d"]
        pairs += [(a, a + 1), (a, a + 2), (a + 1, a + 3), (a + 2, a + 3)]
    return archmotif.OpGraph.from_edges(ops, pairs)


@pytest.fixture(scope="session")
def interchangeable() -> dict[str, archmotif.OpGraph]:
    """Graphs of up to 4,096 nodes made of interchangeable nodes: the shapes on
    which canonical search blew up (512 isolated nodes took 50 s; 1,024 copies of
    a diamond, a 64x64 layered graph or a 4,095-leaf star gave no answer)."""
    n = 4096
    graphs = {f"isolated {k}": archmotif.OpGraph(["op"] * k) for k in (64, 256, 512, 1024, n)}
    graphs["diamonds x1024"] = _diamonds(1024)
    graphs["layered 64x64 dense"] = _layered(64, 64)
    graphs["layered 64x64 sparse"] = _layered(64, 64, fanout=2)
    chain, star = [(i, i + 1) for i in range(n - 1)], [(0, i) for i in range(1, n)]
    graphs["chain 4096"] = archmotif.OpGraph.from_edges(["op"] * n, chain)
    graphs["star 4095"] = archmotif.OpGraph.from_edges(["op"] * n, star)
    return graphs
