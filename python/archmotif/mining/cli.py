"""CLI: ``archmotif mine``, and the summary of a :class:`~archmotif.Mined` that it and
``archmotif demo`` print.

The summary scales with the corpus, not against it: the vocabulary size, one total line
for all graphs with the median, smallest and largest reduction, each graph only when
there are at most :data:`GRAPHS_LISTED`, and the ``--top`` motifs that cover the most
operators (operators x instances). Single operators are not motifs worth listing (they
are the vocabulary's level 0), so they are left out of that ranking; every op of a
listed motif is named. ``--json`` prints the same summary as JSON with every graph;
``-o FILE`` writes it to a file (JSON for ``.json``, else the text).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Iterable
from contextlib import redirect_stdout
from typing import Any

from archmotif.atomic import write_atomic
from archmotif.attributes import DEFAULT_DETAIL

__all__ = ["GRAPHS_LISTED", "SUMMARY_FORMAT", "mined_summary", "print_summary", "register"]

SUMMARY_FORMAT = "archmotif.mine-summary"
GRAPHS_LISTED = 12  # graphs listed one per line; past this, the totals and the extremes


def _ranked_motifs(vocab: Any, top: int) -> list[Any]:
    repeated = [m for m in vocab if m.num_nodes > 1 and m.count > 1]
    return sorted(repeated, key=lambda m: (-(m.num_nodes * m.count), m.index))[:top]


def mined_summary(mined: Any, *, top: int = 10, strategy: str = "", seconds: float = 0.0) -> dict:
    """The summary of ``mined`` as JSON-ready data (the ``--json`` output)."""
    graphs = [
        {
            "name": g.name,
            "nodes": g.num_nodes,
            "macro_nodes": mg.num_nodes,
            "reduction": round(g.num_nodes / max(mg.num_nodes, 1), 3),
        }
        for g, mg in zip(mined.graphs, mined.macro_graphs, strict=True)
    ]
    nodes = sum(r["nodes"] for r in graphs)
    macro = sum(r["macro_nodes"] for r in graphs)
    v = mined.vocabulary
    motifs = [
        {
            "index": m.index,
            "id": f"{m.id:032x}",
            "level": m.level,
            "nodes": m.num_nodes,
            "count": m.count,
            "support": m.support,
            "name": m.name,
            "ops": list(m.ops),
        }
        for m in _ranked_motifs(v, top)
    ]
    return {
        "format": SUMMARY_FORMAT,
        "version": 1,
        "strategy": strategy,
        "seconds": round(seconds, 3),
        "vocabulary": {"motifs": len(v), "levels": v.num_levels},
        "total": {
            "graphs": len(graphs),
            "nodes": nodes,
            "macro_nodes": macro,
            "reduction": round(nodes / max(macro, 1), 3),
        },
        "graphs": graphs,
        "top_motifs": motifs,
    }


def _graph_line(r: dict) -> str:
    return f"  {r['name']}: {r['nodes']:,} nodes -> {r['macro_nodes']:,} macro nodes " + (
        f"({r['reduction']:.1f}x smaller)"
    )


def counted(count: int, noun: str) -> str:
    """``1 graph``, ``2 graphs``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def print_summary(s: dict, graphs_shown: Iterable[str] | None = None) -> None:
    """The text form of :func:`mined_summary`; ``graphs_shown`` lists those graphs
    (by name) instead of the default choice."""
    voc, total, graphs = s["vocabulary"], s["total"], s["graphs"]
    print(f"vocabulary: {voc['motifs']} motifs over {voc['levels']} levels")
    print(
        f"  {'all ' if total['graphs'] > 1 else ''}{counted(total['graphs'], 'graph')}: "
        f"{total['nodes']:,} nodes -> "
        f"{total['macro_nodes']:,} macro nodes ({total['reduction']:.1f}x smaller)"
    )
    if graphs_shown is not None:
        wanted = set(graphs_shown)
        shown = [r for r in graphs if r["name"] in wanted]
    elif len(graphs) <= GRAPHS_LISTED:
        shown = graphs
    else:
        by = sorted(graphs, key=lambda r: r["reduction"])
        mid = by[len(by) // 2]
        print(
            f"  reduction per graph: median {mid['reduction']:.1f}x, smallest "
            f"{by[0]['reduction']:.1f}x ({by[0]['name']}), largest {by[-1]['reduction']:.1f}x "
            f"({by[-1]['name']}); --json lists every graph"
        )
        shown = []
    for r in shown:
        print(_graph_line(r))
    if not s["top_motifs"]:
        print("no motif of two or more operators repeats")
        return
    print("motifs covering the most operators (operators x instances):")
    for m in s["top_motifs"]:
        print(
            f"  #{m['index']:<5} level {m['level']}  {m['nodes']:>3} ops x {m['count']:<5} "
            f"in {counted(m['support'], 'graph')}  {m['name']}"
        )


def mine_with_progress(graphs: Any, args: argparse.Namespace, **kw: Any) -> tuple[Any, float]:
    """Mines with the command's options; a progress bar only on a terminal."""
    from archmotif.mining import mine

    opts = {
        k: getattr(args, k)
        for k in ("min_count", "min_support", "threads")
        if getattr(args, k, None) is not None
    }
    t = time.perf_counter()
    m = mine(
        graphs,
        strategy=args.strategy,
        max_motif_nodes=args.max_motif_nodes,
        progress=sys.stderr.isatty(),
        detail=getattr(args, "detail", DEFAULT_DETAIL),
        **opts,
        **kw,
    )
    return m, time.perf_counter() - t


def _cmd_mine(args: argparse.Namespace) -> int:
    from archmotif.cli_inputs import read_graphs
    from archmotif.errors import InvalidArgument

    out = args.output
    if out and out.endswith(".npz"):
        raise InvalidArgument(
            f"{out}: .npz is the corpus format; mine -o writes the mined result to "
            "FILE.mined (archmotif.load_mined reads it), its summary as JSON to FILE.json, "
            "or as text to any other name"
        )
    if args.chunk_nodes is not None:
        if len(args.inputs) != 1 or not args.inputs[0].endswith(".npz"):
            raise InvalidArgument("--chunk-nodes N streams one corpus file (.npz)")
        source: Any = args.inputs[0]
        m, dt = mine_with_progress(source, args, chunk_nodes=args.chunk_nodes)
        how = f"{args.inputs[0]} streamed in chunks of {args.chunk_nodes:,} nodes"
    else:
        graphs = [g for spec in args.inputs for g in read_graphs(spec, args)]
        m, dt = mine_with_progress(graphs, args)
        how = counted(len(graphs), "graph")
    s = mined_summary(m, top=args.top, strategy=args.strategy, seconds=dt)
    saved = bool(out and out.endswith(".mined"))
    if saved:
        m.save(out)
        out = None  # the summary goes to stdout
    if args.json and not out:
        print(json.dumps(s, indent=1))
    else:
        text = io.StringIO()
        with redirect_stdout(text):
            print(f"mined {how} with strategy={args.strategy!r} in {dt:.3f} s")
            print_summary(s)
        if out:
            as_json = args.json or out.endswith(".json")
            data = json.dumps(s, indent=1) + "\n" if as_json else text.getvalue()
            write_atomic(out, lambda f: f.write(data.encode()))
            print(f"mined {how} in {dt:.3f} s: {s['vocabulary']['motifs']} motifs; wrote {out}")
        else:
            print(text.getvalue(), end="")
    if saved:  # on stderr under --json, which keeps stdout for the JSON
        print(f"wrote {args.output}: the mined result (vocabulary, rules, graphs and macro "
              f"graphs; archmotif info {args.output} summarises it, archmotif.load_mined "
              "reads it)", file=sys.stderr if args.json else sys.stdout)  # fmt: skip
    return 0


def register(sub: Any) -> None:
    """Adds ``mine`` to the ``archmotif`` command's subparsers."""
    from archmotif.cli_inputs import INPUT_HELP, add_detail_option, add_model_options
    from archmotif.cli_parser import add_mining_options, command

    mi = command(
        sub,
        "mine",
        "mine the motifs of graphs, corpora, datasets or models",
        "archmotif mine builtin",
        "archmotif mine zoo.npz --top 20 -o mined.json",
        "archmotif mine builtin -o builtin.mined    # the result itself; archmotif info reads it",
        "archmotif mine builtin --json | jq .total",
        "archmotif mine big.npz --chunk-nodes 1000000",
    )
    mi.add_argument("inputs", nargs="+", metavar="INPUT", help=INPUT_HELP)
    mi.add_argument("--top", type=int, default=10, metavar="N", help="motifs to list (default 10)")
    mi.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON (every graph, the top motifs)",
    )
    mi.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the mined result to FILE.mined (archmotif.load_mined reads it), or the "
        "summary: JSON to FILE.json (or with --json), else text",
    )
    mi.add_argument(
        "--chunk-nodes",
        type=int,
        default=None,
        metavar="N",
        help="stream one corpus file in chunks of this many operators "
        "(bounded memory, same result)",
    )
    add_mining_options(mi, full=True)
    add_detail_option(mi)
    add_model_options(mi)
    mi.set_defaults(func=_cmd_mine)
