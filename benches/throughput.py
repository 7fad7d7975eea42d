"""Graph-reduction throughput: archmotif against what a user would otherwise use.

One run, same graphs for every tool, each measurement in a fresh process:

- **archmotif**: ``archmotif.mine`` (motif mining + contraction into macro graphs),
  with ``--threads`` threads and, at 10^6 nodes, also with one thread;
- **networkx WL**: ``weisfeiler_lehman_subgraph_hashes`` (3 iterations, op labels),
  the usual way to label repeated structure (hashing only, no contraction);
- **networkx WL+quotient** (``--networkx-quotient``, slow: ~100 s at 10^4 nodes): the
  hashing plus ``quotient_graph`` with archmotif's partition;
- **rustworkx**: ``contract_nodes`` once per group of archmotif's partition
  (rustworkx has no WL hashing, so this row is contraction only).

It prints nodes/s, peak memory per node (resident set growth during the call), for
archmotif also the job's peak per node (the highest resident set from building the graph
to the end of the call, less the resident set before the graph was built: what freed
memory the allocator kept from building the graph and mining reused does not hide in
it), the ratios against archmotif and a ``match`` column: whether the tool's contracted graph
equals archmotif's macro graph (same groups, same edges). It ends with the issue's
targets (mining core v2), each with its figure: M nodes/s at 10^6 (2 threads),
archmotif per node against rustworkx and networkx WL, 2 threads against 1, peak
bytes per node at 10^7, and the time of 10^7 nodes against 10^6. The default run
takes a few minutes on two cores.

    python benches/throughput.py                       # 1e4..1e7
    python benches/throughput.py --sizes 1e4,1e5,1e6 --real
    python benches/throughput.py --sizes 1e6 --corpus zoo.npz   # also a whole corpus

``--corpus`` mines a corpus file (the zoo, say) with ``--threads`` and with one thread,
each in a fresh process: the first call and the best of three, against the issue's
baseline for the zoo (7.5 s for the 1,895,351 nodes the zoo had before normalisation).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

FAMILIES = ("resnet", "transformer")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> int:
    """Resets the kernel's peak-RSS mark to the current RSS and returns it.
    (ru_maxrss would not do: Linux carries it over from the parent across exec.)"""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _rss()


def _peak() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _graph(family: str, n: int):
    from archmotif.synthetic import resnet_like, transformer_like

    if family.startswith("real:"):
        import archmotif

        return archmotif.load_corpus(os.environ["ARCHMOTIF_BENCH_REAL"])[int(family[5:])]
    return (resnet_like if family == "resnet" else transformer_like)(n)


ZOO_BASELINE = (7.5, 1_895_351)  # the zoo: seconds, nodes (before normalisation)


def corpus_child(path: str, threads: int) -> dict:
    """Mines a whole corpus three times in this process: the first call and the best."""
    import archmotif
    from archmotif.attributes import DEFAULT_DETAIL

    graphs = archmotif.load_corpus(path, detail=DEFAULT_DETAIL)
    base = _reset_peak()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        m = archmotif.mine(graphs, progress=False, threads=threads)
        times.append(time.perf_counter() - t)
    return {"first": times[0], "seconds": min(times), "peak": _peak() - base,
            "nodes": sum(g.num_nodes for g in graphs), "graphs": len(graphs),
            "macro": sum(mg.num_nodes for mg in m.macro_graphs)}  # fmt: skip


def child(tool: str, family: str, n: int, threads: int, part_file: str) -> dict:
    if tool == "corpus":
        return corpus_child(family, threads)
    if tool == "archmotif":
        import archmotif
        import archmotif.synthetic  # imported before the job's memory is read

        start = _reset_peak()
    g = _graph(family, n)
    if tool == "archmotif":
        built = _peak()
        base = _reset_peak()
        t = time.perf_counter()
        m = archmotif.mine(g, progress=False, threads=threads)
        dt = time.perf_counter() - t
        call = _peak()
        mg = m.macro_graphs[0]
        np.save(part_file, mg.node_to_macro)
        edges = sorted(map(tuple, mg.edges.T.tolist()))
        np.save(part_file + ".edges.npy", np.array(edges, dtype=np.int64).reshape(-1, 2))
        return {"seconds": dt, "peak": call - base, "job": max(built, call) - start,
                "macro": mg.num_nodes, "match": True, "nodes": g.num_nodes}  # fmt: skip
    part = np.load(part_file)
    ours = {tuple(e) for e in np.load(part_file + ".edges.npy").tolist()}
    src, dst = g.edges[0].tolist(), g.edges[1].tolist()
    if tool in ("networkx", "networkx-quotient"):
        import networkx as nx

        G = nx.DiGraph()
        G.add_nodes_from((i, {"op": op}) for i, op in enumerate(g.node_ops()))
        G.add_edges_from(zip(src, dst, strict=True))
        if tool == "networkx":
            base = _reset_peak()
            t = time.perf_counter()
            nx.weisfeiler_lehman_subgraph_hashes(G, node_attr="op", iterations=3)
            dt = time.perf_counter() - t
            return {"seconds": dt, "peak": _peak() - base, "macro": None, "match": None,
                    "nodes": g.num_nodes}  # fmt: skip
        groups: dict[int, set[int]] = {}
        for v, p in enumerate(part.tolist()):
            groups.setdefault(p, set()).add(v)
        base = _reset_peak()
        t = time.perf_counter()
        nx.weisfeiler_lehman_subgraph_hashes(G, node_attr="op", iterations=3)
        q = nx.quotient_graph(G, list(groups.values()))
        dt = time.perf_counter() - t
        block = {b: part[next(iter(b))] for b in q.nodes}
        theirs = {(int(block[a]), int(block[b])) for a, b in q.edges}
        return {"seconds": dt, "peak": _peak() - base, "macro": q.number_of_nodes(),
                "match": theirs == ours, "nodes": g.num_nodes}  # fmt: skip
    if tool == "rustworkx":
        import rustworkx as rx

        G = rx.PyDiGraph(multigraph=False)
        G.add_nodes_from(part.tolist())
        G.add_edges_from_no_data(list(zip(src, dst, strict=True)))
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(part.max() + 2 if part.size else 1))
        base = _reset_peak()
        t = time.perf_counter()
        for p in range(len(bounds) - 1):
            nodes = order[bounds[p] : bounds[p + 1]].tolist()
            if len(nodes) > 1:
                G.contract_nodes(nodes, p, check_cycle=False)
        dt = time.perf_counter() - t
        theirs = {(G[a], G[b]) for a, b in G.edge_list()}
        return {"seconds": dt, "peak": _peak() - base, "macro": G.num_nodes(),
                "match": theirs == ours, "nodes": g.num_nodes}  # fmt: skip
    raise SystemExit(f"unknown tool {tool}")


def run(tool, family, n, threads, part_file, timeout):
    cmd = [sys.executable, __file__, "--child", tool, family, str(n), str(threads), part_file]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"error": f"> {timeout} s"}
    except subprocess.CalledProcessError as e:
        return {"error": (e.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _targets(rows: dict, threads: int) -> None:
    """The issue's targets (mining core v2), each met or not, with its figure."""

    def rate(tool, family, n, t=threads):
        r = rows.get((tool, family, n, t))
        return r["nodes"] / r["seconds"] if r else None

    def verdict(ok):
        return "n/a" if ok is None else ("met" if ok else "NOT met")

    print("\n| target (10^6 nodes unless said) | graph | figure | |")
    print("|---|---|---:|---|")
    for family in FAMILIES:
        ours = rate("archmotif", family, 10**6)
        one = rate("archmotif", family, 10**6, 1)
        rx = rate("rustworkx", family, 10**6)
        nx_n = max((n for (tool, f, n, _) in rows if tool == "networkx" and f == family),
                   default=None)  # fmt: skip
        wl = rate("networkx", family, nx_n) if nx_n else None
        lines = [
            ("≥ 3 M nodes/s (goal 10 M), 2 threads", ours and ours / 1e6, "{:.2f} M nodes/s",
             ours and ours >= 3e6),
            ("≥ 0.5x rustworkx contract_nodes per node", ours and rx and ours / rx, "{:.2f}x",
             ours and rx and ours / rx >= 0.5),
            (f"≥ 20x networkx WL hashing per node (WL at {nx_n:,} nodes)" if nx_n else
             "≥ 20x networkx WL hashing per node", ours and wl and ours / wl, "{:.1f}x",
             ours and wl and ours / wl >= 20),
            ("2 threads ≥ 1.6x one thread", ours and one and ours / one, "{:.2f}x",
             ours and one and ours / one >= 1.6),
        ]  # fmt: skip
        big = rows.get(("archmotif", family, 10**7, threads))
        small = rows.get(("archmotif", family, 10**6, threads))
        per_node = big and big["peak"] / big["nodes"]
        lines.append(("peak ≤ 150 B/node at 10^7", per_node, "{:.0f} B/node",
                      per_node and per_node <= 150))  # fmt: skip
        ratio = big and small and big["seconds"] / small["seconds"]
        lines.append(("10^7 nodes in ≤ 11x the time of 10^6", ratio, "{:.1f}x",
                      ratio and ratio <= 11))  # fmt: skip
        for what, value, fmt, ok in lines:
            shown = "not run" if value is None else fmt.format(value)
            print(f"| {what} | {family} | {shown} | {verdict(None if value is None else ok)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e4,1e5,1e6,1e7")
    ap.add_argument("--max-networkx", type=float, default=1e5,
                    help="largest graph networkx WL hashing runs on")  # fmt: skip
    ap.add_argument("--networkx-quotient", type=float, default=0,
                    help="largest graph for WL + quotient_graph (1e4 takes minutes)")  # fmt: skip
    ap.add_argument("--max-rustworkx", type=float, default=1e6)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--real", action="store_true", help="also trace resnet50, vit_b_16, bert")
    ap.add_argument("--corpus", default=None, help="also mine this corpus file (the zoo)")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        tool, family, n, threads, part_file = args.child
        print(json.dumps(child(tool, family, int(n), int(threads), part_file)))
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    cases = [(f, n) for n in sizes for f in FAMILIES]
    tmp = tempfile.mkdtemp(prefix="archmotif-bench-")
    labels = {f: f for f in FAMILIES}
    if args.real:
        import archmotif

        real = [archmotif.trace(s) for s in
                ("torchvision:resnet50", "torchvision:vit_b_16", "transformers:bert")]  # fmt: skip
        path = os.path.join(tmp, "real.npz")
        archmotif.save_corpus(real, path)
        os.environ["ARCHMOTIF_BENCH_REAL"] = path
        cases += [(f"real:{i}", g.num_nodes) for i, g in enumerate(real)]
        labels.update({f"real:{i}": f"{g.name} (traced)" for i, g in enumerate(real)})
    print(f"threads={args.threads}, cpu={os.cpu_count()}; times exclude graph construction\n")
    print("| graph | nodes | tool | seconds | nodes/s | peak B/node | job peak B/node "
          "| macro nodes | match | time / archmotif's |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---|---:|")
    rows: dict = {}
    caps = {"networkx": args.max_networkx, "networkx-quotient": args.networkx_quotient,
            "rustworkx": args.max_rustworkx}  # fmt: skip
    for family, n in cases:
        part = os.path.join(tmp, f"{family.replace(':', '_')}-{n}.npy")
        runs = [("archmotif", args.threads)]
        if n == 10**6 and args.threads > 1:
            runs.append(("archmotif", 1))
        runs += [(tool, args.threads) for tool in caps if n <= caps[tool]]
        for tool, threads in runs:
            r = run(tool, family, n, threads, part, args.timeout)
            name = tool if tool != "archmotif" or threads == args.threads else f"{tool}, 1 thread"
            if "error" in r:
                print(f"| {labels[family]} | {n:,} | {name} | {r['error']} | | | | | | |")
                continue
            rows[(tool, family, n, threads)] = r
            ours = rows.get(("archmotif", family, n, args.threads))
            ratio = r["seconds"] / ours["seconds"] if ours else float("nan")
            match = {True: "yes", False: "NO", None: ""}[r["match"]]
            macro = "" if r["macro"] is None else f"{r['macro']:,}"
            job = f"{r['job'] / r['nodes']:.0f}" if "job" in r else ""
            print(
                f"| {labels[family]} | {r['nodes']:,} | {name} | {r['seconds']:.3f} "
                f"| {r['nodes'] / r['seconds']:,.0f} | {r['peak'] / r['nodes']:.0f} | {job} "
                f"| {macro} | {match} | {ratio:.2f}x |",
                flush=True,
            )
    _targets(rows, args.threads)
    if args.corpus:
        _corpus(args.corpus, args.threads, args.timeout)


def _corpus(path: str, threads: int, timeout: int) -> None:
    """A whole corpus at ``threads`` and one thread, against the issue's zoo target."""
    print("\n| corpus | graphs | nodes | threads | first call | best of 3 | nodes/s (best) "
          "| peak B/node | macro nodes |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    best = None
    for t in sorted({threads, 1}, reverse=True):
        r = run("corpus", path, 0, t, "", timeout)
        if "error" in r:
            print(f"| {os.path.basename(path)} | | | {t} | {r['error']} | | | | |")
            continue
        best = best or r
        print(f"| {os.path.basename(path)} | {r['graphs']:,} | {r['nodes']:,} | {t} "
              f"| {r['first']:.2f} s | {r['seconds']:.2f} s | {r['nodes'] / r['seconds']:,.0f} "
              f"| {r['peak'] / r['nodes']:.0f} | {r['macro']:,} |")  # fmt: skip
    if best:
        secs, nodes = ZOO_BASELINE
        wall, per_node = secs / best["seconds"], (best["nodes"] / best["seconds"]) / (nodes / secs)
        ok = "met" if per_node >= 5 else "NOT met"
        print(f"\nzoo target (≥ 5x faster than {secs} s for {nodes:,} nodes): {wall:.1f}x in "
              f"wall time, {per_node:.1f}x per node: {ok} (per node)")  # fmt: skip


if __name__ == "__main__":
    main()
