"""A toy corpus of three architecture families for the learning tests.

Families differ in their repeated block (ResNet bottleneck, Transformer encoder layer,
an MLP of linear/gelu blocks) and graphs within a family differ in depth, so retrieving
a graph's family means recognising the block, not the size. ``coarse`` labels are
given; ``family`` is what the retrieval tests check.
"""

from __future__ import annotations

import numpy as np
import pytest

from archmotif import OpGraph
from archmotif.synthetic import repeated_blocks

pytest.importorskip("torch_geometric")


def _mlp(blocks: int) -> OpGraph:
    ops = ["input"]
    edges = []
    for _ in range(blocks):
        base = len(ops)
        ops += ["linear", "gelu", "dropout", "linear", "add"]
        prev = base - 1
        edges += [
            (prev, base),
            (base, base + 1),
            (base + 1, base + 2),
            (base + 2, base + 3),
            (base + 3, base + 4),
            (prev, base + 4),
        ]
    return OpGraph.from_edges(ops, edges, name=f"mlp-{blocks}")


def permuted(g: OpGraph, seed: int) -> OpGraph:
    """``g`` with its nodes renumbered at random (an isomorphic graph)."""
    p = np.random.default_rng(seed).permutation(g.num_nodes)
    ops = np.empty_like(g.ops)
    ops[p] = g.ops
    return OpGraph(ops, p[g.edges], op_names=g.op_names, name=g.name + "-perm", labels=g.labels)


def toy_corpus() -> list[OpGraph]:
    graphs = []
    for block, sizes, family, coarse in (
        ("bottleneck", (41, 61, 81, 101), "resnet", "cnn"),
        ("encoder", (49, 65, 81, 97), "transformer", "transformer"),
    ):
        for n in sizes:
            g = repeated_blocks(block, n, name=f"{family}-{n}")
            graphs.append(
                g.__class__(
                    g.ops,
                    g.edges,
                    op_names=g.op_names,
                    name=g.name,
                    labels={"family": family, "coarse": coarse},
                )
            )
    for b in (6, 9, 12, 15):
        g = _mlp(b)
        graphs.append(
            OpGraph(
                g.ops,
                g.edges,
                op_names=g.op_names,
                name=g.name,
                labels={"family": "mlp", "coarse": "mlp"},
            )
        )
    return graphs


@pytest.fixture(scope="session")
def toy() -> list[OpGraph]:
    return toy_corpus()


@pytest.fixture(scope="session")
def permute():
    """``permute(graph, seed)``: an isomorphic copy with nodes renumbered at random."""
    return permuted


@pytest.fixture(scope="session")
def small() -> dict[str, object]:
    """Encoder settings small enough for a test to fit in a few seconds."""
    return dict(
        hidden=32, out=32, stage1_epochs=10, stage2_epochs=30, batch_size=16, progress=False
    )
