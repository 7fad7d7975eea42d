"""Writes graphs for the Rust-only profiling driver (``rust/core/examples/profile_mine.rs``):
raw little-endian arrays (the graph count, then per graph ``n, m`` as int64, int32 op ids,
int64 sources and targets), and the op names beside them (``OUT.names``, one per line),
from which the driver labels ops exactly as ``archmotif.mine`` does.

    python benches/dump_graphs.py resnet 1e6 /tmp/r6.bin        # one synthetic graph
    python benches/dump_graphs.py corpus zoo.npz /tmp/zoo.bin   # a whole corpus

then ``cargo run --release -p archmotif-core --example profile_mine -- FILE``.
"""

from __future__ import annotations

import sys

import numpy as np


def _arrays(g, col: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ops = np.array([col[n] for n in g.op_names], dtype=np.int32)[np.asarray(g.ops)]
    e = np.asarray(g.edges, dtype=np.int64)
    return ops, np.ascontiguousarray(e[0]), np.ascontiguousarray(e[1])


def main(kind: str, what: str, out: str) -> None:
    if kind == "corpus":
        import archmotif

        graphs = archmotif.load_corpus(what, detail="attrs")
    else:
        from archmotif.synthetic import resnet_like, transformer_like

        graphs = [(resnet_like if kind == "resnet" else transformer_like)(int(float(what)))]
    names = sorted({n for g in graphs for n in g.op_names})
    col = {n: i for i, n in enumerate(names)}
    with open(out, "wb") as f:
        np.array([len(graphs)], dtype=np.int64).tofile(f)
        for g in graphs:
            ops, src, dst = _arrays(g, col)
            np.array([len(ops), len(src)], dtype=np.int64).tofile(f)
            for a in (ops, src, dst):
                a.tofile(f)
    with open(out + ".names", "w") as f:
        f.write("".join(n + "\n" for n in names))


if __name__ == "__main__":
    main(*sys.argv[1:4])
