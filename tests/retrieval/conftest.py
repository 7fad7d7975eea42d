"""A toy corpus for retrieval tests: three structurally distinct families of small
operator graphs (plain conv chains, residual blocks, attention blocks) at several depths,
so that a sensible embedder retrieves a graph's own family first."""

from __future__ import annotations

import pytest

import archmotif


def _chain(depth: int) -> archmotif.OpGraph:
    ops, edges = ["input"], []
    for _ in range(depth):
        for op in ("conv", "batch_norm", "relu"):
            ops.append(op)
            edges.append((len(ops) - 2, len(ops) - 1))
    ops.append("linear")
    edges.append((len(ops) - 2, len(ops) - 1))
    return archmotif.OpGraph.from_edges(ops, edges)


def _residual(depth: int) -> archmotif.OpGraph:
    ops, edges = ["input"], []
    last = 0
    for _ in range(depth):
        start = len(ops)
        ops += ["conv", "batch_norm", "relu", "conv", "add", "relu"]
        edges += [(last, start), (start, start + 1), (start + 1, start + 2)]
        edges += [(start + 2, start + 3), (start + 3, start + 4), (last, start + 4)]
        edges.append((start + 4, start + 5))
        last = start + 5
    ops.append("linear")
    edges.append((last, len(ops) - 1))
    return archmotif.OpGraph.from_edges(ops, edges)


def _attention(depth: int) -> archmotif.OpGraph:
    ops, edges = ["input"], []
    last = 0
    for _ in range(depth):
        s = len(ops)
        ops += ["layer_norm", "linear", "linear", "linear", "matmul", "softmax", "matmul", "add"]
        edges += [(last, s), (s, s + 1), (s, s + 2), (s, s + 3), (s + 1, s + 4), (s + 2, s + 4)]
        edges += [(s + 4, s + 5), (s + 5, s + 6), (s + 3, s + 6), (s + 6, s + 7), (last, s + 7)]
        last = s + 7
    ops.append("linear")
    edges.append((last, len(ops) - 1))
    return archmotif.OpGraph.from_edges(ops, edges)


def toy_graphs(per_family: int = 5) -> list[archmotif.OpGraph]:
    out = []
    for family, build, coarse in (
        ("chain", _chain, "cnn"),
        ("residual", _residual, "cnn"),
        ("attention", _attention, "transformer"),
    ):
        for depth in range(2, 2 + per_family):
            g = build(depth)
            g.name = f"{family}{depth}"
            g.labels = {"family": family, "coarse": coarse}
            out.append(g)
    return out


@pytest.fixture
def toy() -> list[archmotif.OpGraph]:
    return toy_graphs()
