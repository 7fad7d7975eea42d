"""Canonical ids of the hardest shapes: time per probe, each in a fresh process.

The probes of the canonical-search hardening (many interchangeable nodes, the
worst case of individualisation-refinement), through the public API:

- ``canonical_hash`` of isolated same-op nodes (64 .. 4,096), 1,024 copies of a
  4-node diamond, a 64x64 layered graph (each layer fully connected to the next,
  and with 2 random edges per node), a 4,096-node uniform chain, a 4,095-leaf star;
- ``contract`` of the diamonds and the dense layered graph, each as one group;
- ``mine([star] * 2, max_motif_nodes=4096, max_levels=10**4)`` on a star with 256
  identical leaves.

Each probe runs in a child process killed after ``--timeout`` seconds (a search
that ignores Ctrl-C cannot be stopped any other way). The ``result`` column is
``ok``, ``LimitError`` (the documented refusal) or ``> T s``. With ``--before
PYTHON`` (an interpreter with another archmotif build, e.g. of main) every probe
also runs there, and ``same id`` says whether both builds gave the same ids.

    python benches/canon_hard.py                 # all probes, 60 s each
    python benches/canon_hard.py --only diamond --timeout 10
    python benches/canon_hard.py --before /tmp/venv-main/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def isolated(n: int):
    from archmotif import OpGraph

    return OpGraph(["op"] * n)


def diamonds(k: int):
    from archmotif import OpGraph

    ops, pairs = [], []
    for i in range(k):
        a = 4 * i
        ops += ["a", "b", "b", "d"]
        pairs += [(a, a + 1), (a, a + 2), (a + 1, a + 3), (a + 2, a + 3)]
    return OpGraph.from_edges(ops, pairs)


def layered(layers: int, width: int, fanout: int | None = None, seed: int = 0):
    """``fanout=None``: each layer fully connected to the next; else ``fanout``
    random successors in the next layer per node."""
    from archmotif import OpGraph

    rng = np.random.default_rng(seed)
    pairs = []
    for layer in range(layers - 1):
        base, nxt = layer * width, (layer + 1) * width
        for i in range(width):
            succ = range(width) if fanout is None else rng.choice(width, fanout, replace=False)
            pairs += [(base + i, nxt + int(j)) for j in succ]
    return OpGraph.from_edges(["op"] * (layers * width), pairs)


def chain(n: int):
    from archmotif import OpGraph

    return OpGraph.from_edges(["op"] * n, [(i, i + 1) for i in range(n - 1)])


def star(leaves: int, hub_op: str = "op"):
    from archmotif import OpGraph

    return OpGraph.from_edges([hub_op] + ["op"] * leaves, [(0, i) for i in range(1, leaves + 1)])


PROBES = {
    "hash isolated 64": lambda: isolated(64),
    "hash isolated 256": lambda: isolated(256),
    "hash isolated 512": lambda: isolated(512),
    "hash isolated 1024": lambda: isolated(1024),
    "hash isolated 4096": lambda: isolated(4096),
    "hash diamond x1024": lambda: diamonds(1024),
    "hash layered 64x64 dense": lambda: layered(64, 64),
    "hash layered 64x64 sparse": lambda: layered(64, 64, fanout=2),
    "hash chain 4096": lambda: chain(4096),
    "hash star 4095": lambda: star(4095),
    "contract diamond x1024": lambda: diamonds(1024),
    "contract layered 64x64 dense": lambda: layered(64, 64),
    "mine star 256 x2": lambda: star(256, hub_op="hub"),
}


def child(name: str) -> dict:
    import archmotif

    g = PROBES[name]()
    t = time.perf_counter()
    ids: list[int] = []
    try:
        if name.startswith("hash"):
            ids = [archmotif.canonical_hash(g)]
        elif name.startswith("contract"):
            mg = archmotif.contract(g, np.zeros(g.num_nodes, dtype=np.int64))
            ids = [int(i) for i in mg.motif_ids]
        else:
            m = archmotif.mine([g, g], max_motif_nodes=4096, max_levels=10**4, progress=False)
            ids = sorted(mo.id for mo in m.vocabulary)
        result = "ok"
    except archmotif.LimitError:
        result = "LimitError"
    return {"seconds": time.perf_counter() - t, "result": result, "nodes": g.num_nodes,
            "ids": [str(i) for i in ids]}  # fmt: skip


def run(python: str, name: str, timeout: float) -> dict:
    cmd = [python, __file__, "--child", name]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"result": f"> {timeout:g} s"}
    except subprocess.CalledProcessError as e:
        return {"result": (e.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cell(r: dict) -> str:
    return f"{r['seconds']:.3f} s" if r.get("result") == "ok" else r["result"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--only", default="", help="run the probes whose name contains this")
    ap.add_argument("--before", help="a Python with another archmotif build to compare")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    if args.before:
        print("| probe | nodes | before | after | speed-up | same id |")
        print("|---|---:|---:|---:|---:|---|")
    else:
        print("| probe | nodes | seconds | result |\n|---|---:|---:|---|")
    for name in PROBES:
        if args.only not in name:
            continue
        after = run(sys.executable, name, args.timeout)
        nodes = after.get("nodes", "")
        if not args.before:
            secs = f"{after['seconds']:.3f}" if "seconds" in after else ""
            print(f"| {name} | {nodes} | {secs} | {after['result']} |", flush=True)
            continue
        before = run(args.before, name, args.timeout)
        both = before.get("result") == after.get("result") == "ok"
        speedup = f"{before['seconds'] / after['seconds']:.0f}x" if both else ""
        same = ("yes" if before["ids"] == after["ids"] else "NO") if both else ""
        print(f"| {name} | {nodes} | {_cell(before)} | {_cell(after)} | {speedup} | {same} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
