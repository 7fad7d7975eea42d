"""Training and embedding throughput of ``archmotif.Encoder`` (and the baselines), on the
CPU or with ``--device cuda`` on a GPU (figures for both: benches/README.md, "Training on
a GPU").

Fits each method on a dataset with its default settings, then embeds the whole dataset,
and prints graphs/s for both (training graphs/s = graphs x graph-level epochs / fit
time, everything included: mining, both stages), wall times, the thread count and the
device. Results depend on whether the cores are shared: run it on an idle machine.

    python benches/learn_throughput.py                          # ours on builtin
    python benches/learn_throughput.py --methods ours,gcn,gat,nar --dataset builtin
    python benches/learn_throughput.py --threads 2 --json out.json
    python benches/learn_throughput.py --methods ours,gcn,gat,nar --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time


def _make(name: str, threads: int | None, device: str | None):
    from archmotif.learn.baselines import GNNBaseline, NARBaseline
    from archmotif.learn.encoder import Encoder

    if name == "ours":
        return Encoder(progress=False, threads=threads, device=device)
    if name in ("gcn", "gat"):
        return GNNBaseline(name, progress=False, threads=threads, device=device)
    if name == "nar":
        return NARBaseline(progress=False, threads=threads, device=device)
    raise SystemExit(f"unknown method {name!r} (ours, gcn, gat, nar)")


def _epochs(m) -> int:
    for attr in ("stage2_epochs", "epochs"):
        if hasattr(m, attr):
            return int(getattr(m, attr))
    return int(m.config["stage2_epochs"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="builtin", help="dataset name or corpus path")
    ap.add_argument("--methods", default="ours", help="comma-separated: ours,gcn,gat,nar")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    args = ap.parse_args()

    import torch

    from archmotif.datasets import load

    graphs = load(args.dataset)
    nodes = sum(g.num_nodes for g in graphs)
    cpu = platform.processor() or platform.machine()
    print(
        f"dataset {args.dataset}: {len(graphs)} graphs, {nodes} nodes; torch {torch.__version__}, "
        f"threads {args.threads}, cpus {os.cpu_count()}, {cpu}"
    )
    rows = []
    for name in args.methods.split(","):
        m = _make(name.strip(), args.threads, args.device)
        t = time.perf_counter()
        m.fit(graphs, seed=args.seed)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        z = m.embed(graphs)
        embed_s = time.perf_counter() - t
        epochs = _epochs(m)
        row = {
            "method": m.name,
            "device": str(m.device),
            "graphs": len(graphs),
            "nodes": nodes,
            "epochs": epochs,
            "fit_s": round(fit_s, 2),
            "embed_s": round(embed_s, 2),
            "train_graphs_per_s": round(len(graphs) * epochs / fit_s, 1),
            "embed_graphs_per_s": round(len(graphs) / embed_s, 1),
            "dim": int(z.shape[1]),
        }
        rows.append(row)
        print(
            f"{row['method']:5s} fit {fit_s:7.1f} s  ({row['train_graphs_per_s']:8.1f} training "
            f"graphs/s over {epochs} epochs)   embed {embed_s:6.2f} s "
            f"({row['embed_graphs_per_s']:8.1f} graphs/s)  device {row['device']}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
