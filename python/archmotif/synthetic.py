"""Synthetic architecture graphs of any size, built with numpy in O(N).

For tests and the throughput benchmark: a ResNet-like chain of bottleneck
blocks and a Transformer-like chain of encoder layers, both with residual
edges, repeated until the requested node count is reached (the last block is
cut short when it does not fit); and :func:`interchangeable`, the graphs of many
interchangeable nodes that stress canonical search (the hardening catalogue and the
canonical-hash tests use them).
"""

from __future__ import annotations

import numpy as np

from archmotif.graph import OpGraph

__all__ = [
    "BLOCKS",
    "diamonds",
    "hidden_symmetry",
    "interchangeable",
    "layered",
    "repeated_blocks",
    "resnet_like",
    "transformer_like",
]

# Each block: ops, internal edges, (entry node, exit node). Node ids are local.
BLOCKS: dict[str, tuple[list[str], list[tuple[int, int]]]] = {
    "bottleneck": (
        ["convolution", "batch_norm", "relu", "convolution", "batch_norm", "relu",
         "convolution", "batch_norm", "add", "relu"],
        [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9)],
    ),
    "encoder": (
        ["layer_norm", "linear", "linear", "linear", "view", "view", "view",
         "scaled_dot_product_attention", "view", "linear", "add", "layer_norm",
         "linear", "gelu", "linear", "add"],
        [(0, 1), (0, 2), (0, 3), (1, 4), (2, 5), (3, 6), (4, 7), (5, 7), (6, 7),
         (7, 8), (8, 9), (9, 10), (10, 11), (11, 12), (12, 13), (13, 14), (14, 15), (10, 15)],
    ),
}  # fmt: skip
# Residual edge from the block input (previous block's exit) into the block.
_RESIDUAL = {"bottleneck": 8, "encoder": 10}


def repeated_blocks(block: str, num_nodes: int, *, name: str | None = None) -> OpGraph:
    """``input`` followed by copies of ``block`` chained through their last node,
    each with a residual edge from the previous block's output; ``num_nodes`` in all."""
    ops, edges = BLOCKS[block]
    k = len(ops)
    body = max(num_nodes - 1, 0)
    reps = -(-body // k)
    op_names = ["input", *dict.fromkeys(ops)]
    op_id = np.array([op_names.index(o) for o in ops], dtype=np.int32)
    all_ops = np.concatenate([[0], np.tile(op_id, reps)])[:num_nodes].astype(np.int32)
    e = np.array(edges, dtype=np.int64).T  # [2, e]
    starts = 1 + k * np.arange(reps, dtype=np.int64)
    internal = (e[:, :, None] + starts[None, None, :]).reshape(2, -1)
    prev_out = np.concatenate([[0], starts[:-1] + k - 1])  # output of the block before
    link = np.stack([prev_out, starts])
    resid = np.stack([prev_out, starts + _RESIDUAL[block]])
    all_edges = np.concatenate([internal, link, resid], axis=1)
    keep = (all_edges < num_nodes).all(axis=0)
    return OpGraph(all_ops, all_edges[:, keep], op_names=op_names,
                   name=name or f"{block}-{num_nodes}", labels={"family": block})  # fmt: skip


def resnet_like(num_nodes: int) -> OpGraph:
    """A ResNet-like DAG: bottleneck blocks (conv-bn-relu ×2, conv-bn, add, relu)."""
    return repeated_blocks("bottleneck", num_nodes)


def transformer_like(num_nodes: int) -> OpGraph:
    """A Transformer-like DAG: pre-norm encoder layers (q/k/v, attention, MLP)."""
    return repeated_blocks("encoder", num_nodes)


def layered(layers: int, width: int, fanout: int | None = None) -> OpGraph:
    """``layers`` layers of ``width`` same-op nodes; each node feeds the whole next
    layer (``fanout=None``) or ``fanout`` random nodes of it (seeded)."""
    rng = np.random.default_rng(0)
    pairs = []
    for layer in range(layers - 1):
        base, nxt = layer * width, (layer + 1) * width
        for i in range(width):
            succ = range(width) if fanout is None else rng.choice(width, fanout, replace=False)
            pairs += [(base + i, nxt + int(j)) for j in succ]
    return OpGraph.from_edges(["op"] * (layers * width), pairs)


def diamonds(k: int) -> OpGraph:
    """``k`` disjoint copies of the diamond a -> (b, b) -> d."""
    ops, pairs = [], []
    for i in range(k):
        a = 4 * i
        ops += ["a", "b", "b", "d"]
        pairs += [(a, a + 1), (a, a + 2), (a + 1, a + 3), (a + 2, a + 3)]
    return OpGraph.from_edges(ops, pairs)


def interchangeable() -> dict[str, OpGraph]:
    """Graphs of up to 4,096 nodes made of interchangeable nodes: the shapes on which
    canonical search once blew up (512 isolated nodes took 50 s; 1,024 copies of a
    diamond, a 64x64 layered graph or a 4,095-leaf star gave no answer)."""
    n = 4096
    graphs = {f"isolated {k}": OpGraph(["op"] * k) for k in (64, 256, 512, 1024, n)}
    graphs["diamonds x1024"] = diamonds(1024)
    graphs["layered 64x64 dense"] = layered(64, 64)
    graphs["layered 64x64 sparse"] = layered(64, 64, fanout=2)
    chain, star = [(i, i + 1) for i in range(n - 1)], [(0, i) for i in range(1, n)]
    graphs["chain 4096"] = OpGraph.from_edges(["op"] * n, chain)
    graphs["star 4095"] = OpGraph.from_edges(["op"] * n, star)
    return graphs


def hidden_symmetry(k: int) -> OpGraph:
    """Two automorphic sources that are not twins (each has a private successor), both
    feeding ``k`` identical branches ``a -> b -> sink``: symmetry canonical search does
    not know in advance, so past a few hundred branches it runs out of work."""
    ops = ["src", "src", "z", "z"] + ["a", "b"] * k + ["sink"]
    pairs = [(0, 2), (1, 3)]
    for i in range(k):
        a = 4 + 2 * i
        pairs += [(0, a), (1, a), (a, a + 1), (a + 1, 4 + 2 * k)]
    return OpGraph.from_edges(ops, pairs)
