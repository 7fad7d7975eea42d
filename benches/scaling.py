"""Mining wall time against corpus size and number of Dask workers.

The corpus is N synthetic architectures (ResNet-like and Transformer-like, 11 to
80 nodes each, seeded), mined once in this process (``archmotif.mine``, all
cores) and once on a Dask ``LocalCluster`` per worker count (one thread per
worker, one shard per worker). Every Dask result is compared with the
single-process one (``identical`` column: same vocabulary ids, counts and macro
graphs). Cluster start-up is excluded from the times and printed apart.

    python benches/scaling.py                                # 1e3..1e5 graphs, 1 and 2 workers
    python benches/scaling.py --graphs 1e3,1e4,1e5,1e6 --workers 1,2 --max-dask 1e5
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time

import numpy as np


def corpus(n: int, seed: int = 0) -> list:
    from archmotif.synthetic import repeated_blocks

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 2, size=n)
    sizes = rng.integers(11, 81, size=n)
    return [
        repeated_blocks("bottleneck" if b == 0 else "encoder", int(s), name=f"g{i}")
        for i, (b, s) in enumerate(zip(blocks, sizes, strict=True))
    ]


def identical(a, b) -> bool:
    if [m.id for m in a.vocabulary] != [m.id for m in b.vocabulary]:
        return False
    if [m.count for m in a.vocabulary] != [m.count for m in b.vocabulary]:
        return False
    return all(
        np.array_equal(x.node_to_macro, y.node_to_macro) and np.array_equal(x.motifs, y.motifs)
        for x, y in zip(a.macro_graphs, b.macro_graphs, strict=True)
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", default="1e3,1e4,1e5", help="corpus sizes (comma-separated)")
    p.add_argument("--workers", default="1,2", help="Dask worker counts (comma-separated)")
    p.add_argument("--max-dask", type=float, default=1e5, help="largest corpus run on Dask")
    args = p.parse_args()

    from dask.distributed import Client, LocalCluster

    import archmotif

    sizes = [int(float(x)) for x in args.graphs.split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    print(f"{platform.machine()}, {os.cpu_count()} cores, archmotif {archmotif.__version__}")
    print()
    print("| graphs | nodes | how | seconds | graphs/s | nodes/s | identical |")
    print("|---:|---:|---|---:|---:|---:|---|")
    clusters = {}
    try:
        for w in workers:
            t = time.perf_counter()
            cluster = LocalCluster(
                n_workers=w,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.WARNING,
            )
            clusters[w] = (cluster, Client(cluster), time.perf_counter() - t)
        for n in sizes:
            gs = corpus(n)
            nodes = sum(g.num_nodes for g in gs)
            t = time.perf_counter()
            ref = archmotif.mine(gs, progress=False, max_memory=None)
            dt = time.perf_counter() - t
            print(f"| {n:,} | {nodes:,} | one process, {os.cpu_count()} threads | {dt:.2f} | "
                  f"{n / dt:,.0f} | {nodes / dt:,.0f} | (reference) |", flush=True)  # fmt: skip
            if n > args.max_dask:
                continue
            for w in workers:
                client = clusters[w][1]
                t = time.perf_counter()
                got = archmotif.mine(gs, client=client, progress=False, max_memory=None)
                dt = time.perf_counter() - t
                same = "yes" if identical(ref, got) else "NO"
                print(f"| {n:,} | {nodes:,} | Dask, {w} worker(s) | {dt:.2f} | {n / dt:,.0f} | "
                      f"{nodes / dt:,.0f} | {same} |", flush=True)  # fmt: skip
    finally:
        for cluster, client, _ in clusters.values():
            client.close()
            cluster.close()
    print()
    for w, (_, _, start) in clusters.items():
        print(f"LocalCluster with {w} worker(s) started in {start:.1f} s (not included above)")


if __name__ == "__main__":
    main()
