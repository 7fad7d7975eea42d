"""Time the normalisation pass on one large graph: copies of raw traces of four models
of the built-in data (GPT-2, Llama, ViT, ResNet: spelled-out GELU, RMS norms, Conv1D
products, masks, dropout, layout chains), traced here with ``normalize=False`` (the
built-in file stores them normalised), joined into one ~10^6-node graph, each copy
reading the previous copy's last node (so the graph is one deep DAG, not many small
ones). Usage: ``python -m benches.normalize_scale [--nodes 1000000]``."""

from __future__ import annotations

import argparse
import time

import numpy as np

import archmotif
from archmotif.normalize import normalize

_SOURCES = (
    "transformers:gpt2@n_layer=12",
    "transformers:llama@num_hidden_layers=8",
    "torchvision:vit_b_16",
    "torchvision:resnet50",
)


def big_graph(nodes: int) -> archmotif.OpGraph:
    """Copies of the raw traces in :data:`_SOURCES`, chained, about ``nodes`` nodes."""
    parts = [archmotif.trace(spec, normalize=False) for spec in _SOURCES]
    vocab = list(dict.fromkeys(o for g in parts for o in g.op_names))
    ops, edges, flops, total, last = [], [], [], 0, -1
    while total < nodes:
        for g in parts:
            remap = np.array([vocab.index(o) for o in g.op_names], dtype=np.int32)
            ops.append(remap[g.ops])
            e = g.edges + total
            if last >= 0:  # the copy's first node reads the previous copy's last one
                e = np.concatenate([e, [[last], [total]]], axis=1)
            edges.append(e)
            flops.append(g.node_flops)
            last = total + g.num_nodes - 1
            total += g.num_nodes
    return archmotif.OpGraph(np.concatenate(ops), np.concatenate(edges, axis=1), op_names=vocab,
                             node_flops=np.concatenate(flops), name="tiled")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=1_000_000)
    args = ap.parse_args()
    g = big_graph(args.nodes)
    t = time.perf_counter()
    n = normalize(g)
    dt = time.perf_counter() - t
    rate = g.num_nodes / dt / 1e6
    print(f"{g.num_nodes:,} nodes, {g.num_edges:,} edges -> {n.num_nodes:,} nodes, "
          f"{n.num_edges:,} edges in {dt:.2f} s ({rate:.2f} M nodes/s)")  # fmt: skip


if __name__ == "__main__":
    main()
