"""Peak memory and wall time of mining a corpus file loaded whole against
streamed in chunks (``archmotif.mine(path, chunk_nodes=...)``), as the corpus grows.

Each corpus is N synthetic architectures (those of ``benches/scaling.py``),
written a chunk at a time with ``CorpusWriter`` (so writing it never holds it
either). Every measurement runs in a fresh interpreter and reports its peak
resident memory (``ru_maxrss``) and the interpreter's own footprint after
``import archmotif`` (``base``). Both runs print a digest of the vocabulary
(ids, counts, support, levels) and of every macro graph (read back lazily, a
chunk at a time, for the streamed result); ``identical`` compares them.

    python benches/streaming.py                                 # 1e4, 1e5, 3e5 graphs
    python benches/streaming.py --graphs 1e4,1e5,1e6 --chunk-nodes 200000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

_CHILD = r"""
import hashlib, json, resource, sys, time
import numpy as np
import archmotif
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
path, chunk = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
kw = {"chunk_nodes": chunk} if chunk else {}
m = archmotif.mine(path, progress=False, max_memory=None, **kw)
mine_s = time.perf_counter() - t
h = hashlib.sha256()
for v in m.vocabulary:
    h.update(np.array([v.id >> 64, v.id & (2**64 - 1), v.count, v.support, v.level],
                      dtype=np.uint64).tobytes())
t = time.perf_counter()
macro_nodes = 0
for mg in m.macro_graphs:
    for a in (mg.motifs, mg.node_to_macro, mg.edges):
        h.update(a.tobytes())
    macro_nodes += mg.num_nodes
read_s = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"mine_s": mine_s, "read_s": read_s, "peak": peak, "base": base,
                  "motifs": len(m.vocabulary), "macro_nodes": macro_nodes,
                  "digest": h.hexdigest()}))
"""


def write_corpus(path: str, n: int, seed: int = 0) -> tuple[int, int]:
    """N graphs written 10,000 at a time; returns (graphs, nodes)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from scaling import corpus

    from archmotif.corpus import CorpusWriter

    nodes = 0
    with CorpusWriter(path, meta={"dataset": f"synthetic-{n}"}) as w:
        for start in range(0, n, 10_000):
            chunk = corpus(min(10_000, n - start), seed=seed + start)
            nodes += sum(g.num_nodes for g in chunk)
            w.extend(chunk)
    return n, nodes


def measure(path: str, chunk_nodes: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, path, str(chunk_nodes)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", default="1e4,1e5,3e5", help="corpus sizes (comma-separated)")
    p.add_argument("--chunk-nodes", type=int, default=100_000, help="operators per chunk")
    args = p.parse_args()
    import archmotif

    sizes = [int(float(x)) for x in args.graphs.split(",")]
    mib = 2**20
    print(f"{platform.machine()}, {os.cpu_count()} cores, archmotif {archmotif.__version__}, "
          f"chunks of {args.chunk_nodes:,} operators")  # fmt: skip
    print()
    print("| graphs | nodes | file MiB | how | mine s | read macros s | peak MiB | "
          "peak − base MiB | identical |")  # fmt: skip
    print("|---:|---:|---:|---|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as d:
        for n in sizes:
            path = os.path.join(d, f"synthetic-{n}.npz")
            t = time.perf_counter()
            _, nodes = write_corpus(path, n)
            written = time.perf_counter() - t
            size = os.path.getsize(path) / mib
            whole = measure(path, 0)
            streamed = measure(path, args.chunk_nodes)
            same = "yes" if whole["digest"] == streamed["digest"] else "NO"
            for how, r in (("loaded whole", whole), ("streamed", streamed)):
                verdict = "(reference)" if how == "loaded whole" else same
                print(f"| {n:,} | {nodes:,} | {size:.0f} | {how} | {r['mine_s']:.1f} | "
                      f"{r['read_s']:.1f} | {r['peak'] / mib:.0f} | "
                      f"{(r['peak'] - r['base']) / mib:.0f} | {verdict} |", flush=True)  # fmt: skip
            print(f"<!-- {n:,} graphs written in {written:.1f} s -->", flush=True)
            os.unlink(path)


if __name__ == "__main__":
    main()
