"""The ``archmotif`` command line.

- ``archmotif trace NAME [-o graph.json]``: trace a timm, torchvision or
  transformers model by name (on the meta device) and write its OpGraph JSON;
- ``archmotif info FILE``: summarise an OpGraph JSON, corpus ``.npz`` or ``.onnx`` file;
- ``archmotif mine FILE... [--strategy merge|nar]``: mine motifs and print the
  vocabulary and each graph's reduction;
- ``archmotif demo [-o index.npz]``: the main job on the built-in data: mine the
  motifs of 98 real models, pretrain the encoder briefly, index the models and
  answer queries by models the data does not hold (traced on the meta device).

Errors print one line naming the problem and exit with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence

from archmotif.errors import ArchmotifError
from archmotif.graph import OpGraph

__all__ = ["DEMO_QUERIES", "main"]

# Feature modules that add their own subcommands: each has ``register(subparsers)``,
# which adds parsers whose ``func(args) -> int`` is set with ``set_defaults``. They
# import their heavy dependencies inside ``func``, so ``archmotif --help`` stays fast.
_SUBCOMMAND_MODULES: tuple[str, ...] = (
    "archmotif.datasets._cli",
    "archmotif.viz._cli",
    "archmotif.retrieval._cli",
)

# Queries of the demo: built from code on the meta device (no download, no weights),
# and not among the built-in models, so the answers are their nearest relatives.
DEMO_QUERIES = (
    "timm:resnet26",
    "timm:vit_small_patch16_224@depth=8",
    "transformers:bert@num_hidden_layers=8",
)


def _summary(g: OpGraph) -> str:
    top = ", ".join(f"{op} {c}" for op, c in g.op_counts().most_common(4))
    return f"{g.name or '<unnamed>'}: {g.num_nodes} nodes, {g.num_edges} edges ({top})"


def _read_any(path: str) -> list[OpGraph]:
    from archmotif.corpus import load_corpus

    if path.endswith(".npz"):
        return load_corpus(path)
    if path.endswith(".onnx"):
        from archmotif.frontends.onnx import from_onnx

        return [from_onnx(path)]
    return [OpGraph.load(path)]


def _cmd_trace(args: argparse.Namespace) -> int:
    from archmotif.frontends.torch_export import trace

    t = time.perf_counter()
    g = trace(args.name, meta=not args.real)
    dt = time.perf_counter() - t
    if args.output:
        g.save(args.output)
        print(f"{_summary(g)}; traced in {dt:.2f} s; wrote {args.output}")
    else:
        print(g.to_json())
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    graphs = _read_any(args.file)
    if len(graphs) != 1 or args.file.endswith(".npz"):
        nodes = sum(g.num_nodes for g in graphs)
        edges = sum(g.num_edges for g in graphs)
        ops = {op for g in graphs for op in g.op_counts()}
        print(f"{args.file}: {len(graphs)} graphs, {nodes} nodes, {edges} edges, {len(ops)} ops")
    for g in graphs[: args.limit]:
        print(_summary(g))
    if len(graphs) > args.limit:
        print(f"... and {len(graphs) - args.limit} more")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from archmotif.datasets import load
    from archmotif.frontends.torch_export import trace
    from archmotif.learn.encoder import Encoder
    from archmotif.retrieval.index import Index, search

    graphs = load("builtin")
    families = {g.labels.get("family") for g in graphs}
    nodes = sum(g.num_nodes for g in graphs)
    print(f"built-in data: {len(graphs)} real models over {len(families)} families, "
          f"{nodes:,} operator nodes (traced ahead of time; nothing to download)")  # fmt: skip
    mined = _mine(graphs, args)
    _print_mined(mined, graphs_shown=("resnet50", "vit_b_16", "bert@num_hidden_layers=12"))

    t = time.perf_counter()
    encoder = Encoder(stage2_epochs=args.epochs, progress=False).fit(graphs, seed=0)
    print(f"pretrained the two-stage encoder ({args.epochs} graph-level epochs) "
          f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
    index = Index.build(graphs, encoder)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.output or f"{tmp}/builtin-index.npz"
        index.save(path)
        print(f"indexed {len(index)} models in {path}" + ("" if args.output else " (temporary)"))
        for spec in DEMO_QUERIES:
            t = time.perf_counter()
            query = trace(spec)
            hits = search(query, path, k=5)
            print(f"closest to {spec} ({query.num_nodes} nodes, traced and searched in "
                  f"{time.perf_counter() - t:.1f} s):")  # fmt: skip
            for h in hits:
                family = h.metadata.get("family", "?")
                print(f"  {h.rank}. {h.name:<32} {family:<16} cosine {h.score:.3f}")
    return 0


def _mine(graphs: list[OpGraph], args: argparse.Namespace):
    from archmotif.mining import mine

    t = time.perf_counter()
    m = mine(graphs, strategy=args.strategy, max_motif_nodes=args.max_motif_nodes)
    print(f"mined with strategy={args.strategy!r} in {time.perf_counter() - t:.3f} s")
    return m


def _print_mined(m, top: int = 8, graphs_shown: Sequence[str] | None = None) -> None:
    """The vocabulary, each graph's reduction (only ``graphs_shown`` when given, with
    the corpus total) and the largest repeated motifs."""
    v = m.vocabulary
    print(f"vocabulary: {len(v)} motifs over {v.num_levels} levels")
    if m.streamed:  # graphs and macro graphs come from the file, a chunk at a time
        n = k = 0
        for i, (g, mg) in enumerate(zip(m.graphs, m.macro_graphs, strict=True)):
            n, k = n + g.num_nodes, k + mg.num_nodes
            if i < 20:
                print(f"  {g.name}: {g.num_nodes} nodes -> {mg.num_nodes} macro nodes")
        print(f"  all {len(m.graphs)} graphs: {n:,} nodes -> {k:,} macro nodes "
              f"({n / max(k, 1):.1f}x smaller)")  # fmt: skip
        pairs = []
    else:
        pairs = list(zip(m.graphs, m.macro_graphs, strict=True))
    if graphs_shown is not None:
        n = sum(g.num_nodes for g, _ in pairs)
        k = sum(mg.num_nodes for _, mg in pairs)
        print(f"  all {len(pairs)} graphs: {n:,} nodes -> {k:,} macro nodes "
              f"({n / max(k, 1):.1f}x smaller)")  # fmt: skip
        pairs = [(g, mg) for g, mg in pairs if g.name in graphs_shown]
    for g, mg in pairs:
        print(f"  {g.name}: {g.num_nodes} nodes -> {mg.num_nodes} macro nodes "
              f"({mg.reduction:.1f}x smaller)")  # fmt: skip
    shared = sorted(v, key=lambda t: (-(t.num_nodes * t.count), t.index))[:top]
    print("largest repeated motifs (nodes x count):")
    for t in shared:
        ops = ", ".join(t.ops[:5]) + (", ..." if t.num_nodes > 5 else "")
        print(f"  #{t.index:<4} level {t.level}  {t.num_nodes:>3} nodes x {t.count:<4} "
              f"in {t.support} graph(s)  [{ops}]")  # fmt: skip


def _cmd_mine(args: argparse.Namespace) -> int:
    if args.chunk_nodes is not None:
        if len(args.files) != 1 or not args.files[0].endswith(".npz") or args.chunk_nodes < 1:
            print("archmotif: error: --chunk-nodes N (N >= 1) streams one corpus file (.npz)",
                  file=sys.stderr)  # fmt: skip
            return 2
        from archmotif.mining import mine

        t = time.perf_counter()
        m = mine(args.files[0], strategy=args.strategy, max_motif_nodes=args.max_motif_nodes,
                 chunk_nodes=args.chunk_nodes)  # fmt: skip
        print(f"mined {args.files[0]} streamed in chunks of {args.chunk_nodes:,} nodes "
              f"in {time.perf_counter() - t:.3f} s")  # fmt: skip
        _print_mined(m, top=args.top)
        return 0
    graphs = []
    for f in args.files:
        graphs += _read_any(f)
    _print_mined(_mine(graphs, args), top=args.top)
    return 0


def _add_mining_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", default="merge", choices=["merge", "nar"])
    p.add_argument("--max-motif-nodes", type=int, default=32)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="archmotif", description="Find the building blocks of neural networks."
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("trace", help="trace a model by name into an OpGraph JSON file")
    t.add_argument("name", help="e.g. resnet50, timm:convnext_tiny, transformers:bert")
    t.add_argument("-o", "--output", help="write the graph here (default: print JSON)")
    t.add_argument(
        "--real", action="store_true", help="build with real (random) weights, not on meta"
    )
    t.set_defaults(func=_cmd_trace)
    i = sub.add_parser("info", help="summarise a graph (.json), corpus (.npz) or ONNX (.onnx) file")
    i.add_argument("file")
    i.add_argument("--limit", type=int, default=20, help="graphs to list (default 20)")
    i.set_defaults(func=_cmd_info)
    d = sub.add_parser(
        "demo", help="the main job on the built-in data: mine, pretrain, index, search"
    )
    d.add_argument("-o", "--output", help="keep the index file here (default: temporary)")
    d.add_argument("--epochs", type=int, default=30, help="graph-level epochs (30)")
    _add_mining_options(d)
    d.set_defaults(func=_cmd_demo)
    mi = sub.add_parser("mine", help="mine motifs in graph (.json), corpus (.npz) or ONNX files")
    mi.add_argument("files", nargs="+")
    mi.add_argument("--top", type=int, default=10, help="motifs to list (default 10)")
    mi.add_argument("--chunk-nodes", type=int, default=None,
                    help="stream one corpus file in chunks of this many operators "
                         "(bounded memory, same result)")  # fmt: skip
    _add_mining_options(mi)
    mi.set_defaults(func=_cmd_mine)
    for module in _SUBCOMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return p


def _version() -> str:
    from archmotif import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ArchmotifError, FileNotFoundError) as e:
        print(f"archmotif: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
