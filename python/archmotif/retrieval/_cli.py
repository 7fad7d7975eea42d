"""CLI: ``archmotif index build``, ``archmotif search`` and ``archmotif eval``.

- ``archmotif index build CORPUS_OR_NAME -o index.npz [--method ours|wl]``: fit a method
  on a corpus (a file or a dataset name such as ``builtin``), embed it, and write one
  index file holding the embeddings, each graph's name and labels, and the encoder;
- ``archmotif search MODEL --index FILE [-k 10]``: the nearest architectures to a model
  name, an ONNX file or an OpGraph JSON file;
- ``archmotif eval --datasets ... --methods ... -o docs/retrieval.md [--quick]``: the
  comparison report (:mod:`archmotif.retrieval.report`).

Heavy imports (torch, the methods) happen inside the commands.
"""

from __future__ import annotations

import argparse
import shlex
import time
from typing import Any

__all__ = ["register"]

# methods whose fitted encoder has a pickle-free file format, so an index can carry it
# (nar has none yet: `archmotif eval` compares it)
_INDEX_METHODS = ("ours", "ours-unsup", "ours-dense", "motif-bag", "wl", "gcn", "gat")


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _cmd_index_build(args: argparse.Namespace) -> int:
    from archmotif.cli_inputs import read_graphs
    from archmotif.retrieval.index import Index
    from archmotif.retrieval.report import make_method

    graphs = read_graphs(args.corpus, args)
    method = make_method(args.method)
    t = time.perf_counter()
    index = Index.build(graphs, method, fit=True, seed=args.seed)
    dt = time.perf_counter() - t
    index.save(args.output)
    print(f"indexed {len(index)} graphs with {args.method} (dim {index.dim}) in {dt:.1f} s; "
          f"wrote {args.output}")  # fmt: skip
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from archmotif.cli_inputs import read_graphs
    from archmotif.errors import RetrievalError
    from archmotif.retrieval.index import search

    graphs = read_graphs(args.model, args)
    if len(graphs) != 1:
        raise RetrievalError(f"{args.model} holds {len(graphs)} graphs; search takes one query")
    hits = search(graphs[0], args.index, k=args.k)
    width = max([len(h.name) for h in hits] + [4])
    print(f"{'rank':>4}  {'score':>6}  {'name':<{width}}  labels")
    for h in hits:
        labels = ", ".join(f"{k}={v}" for k, v in h.metadata.items() if k in args.labels)
        print(f"{h.rank:>4}  {h.score:6.3f}  {h.name:<{width}}  {labels}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from archmotif.retrieval.report import run_report

    datasets = _csv(args.datasets) if args.datasets else (
        ["builtin", "darts"] if args.quick else ["zoo", "darts"]
    )  # fmt: skip
    # the exact command, spelled out in full so the report says how to regenerate it
    parts = ["archmotif", "eval", "--datasets", ",".join(datasets), "--methods", args.methods,
             "--protocols", args.protocols, "--seeds", args.seeds, "-o", args.output]  # fmt: skip
    parts += ["--quick"] * args.quick + ["--skip-missing"] * args.skip_missing
    parts += ["--variant", args.variant] if args.variant != "standard" else []
    rows = run_report(
        datasets,
        _csv(args.methods),
        _csv(args.protocols),
        [int(s) for s in _csv(args.seeds)],
        args.output,
        quick=args.quick,
        skip_missing=args.skip_missing,
        variant=args.variant,
        command=shlex.join(parts),
    )
    failed = [r for r in rows if "error" in r]
    print(f"wrote {args.output}" + (f"; {len(failed)} runs failed" if failed else ""))
    return 1 if failed else 0


def register(sub: Any) -> None:
    """Adds ``index``, ``search`` and ``eval`` to the ``archmotif`` command's subparsers."""
    from archmotif.cli import RawDescription, examples
    from archmotif.cli_inputs import INPUT_HELP, add_model_options

    ix = sub.add_parser("index", help="build a retrieval index file")
    isub = ix.add_subparsers(dest="index_command", required=True)
    b = isub.add_parser(
        "build",
        help="fit a method on a corpus and write its embeddings + encoder to one file",
        epilog=examples(
            "archmotif index build builtin -o index.npz",
            "archmotif index build zoo --method motif-bag -o zoo-bag.npz",
        ),
        formatter_class=RawDescription,
    )
    b.add_argument("corpus", metavar="INPUT", help=INPUT_HELP)
    b.add_argument("-o", "--output", required=True, help="index file to write (.npz)")
    b.add_argument("--method", default="ours", choices=_INDEX_METHODS,
                   help="ours: the two-stage encoder (torch); motif-bag: TF-IDF bag of motifs; "
                        "wl: WL subtree baseline (neither needs torch); gcn, gat: the "
                        "paper's GNN baselines (default ours)")  # fmt: skip
    b.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    add_model_options(b)
    b.set_defaults(func=_cmd_index_build)

    s = sub.add_parser(
        "search",
        help="nearest architectures to a model in an index file",
        epilog=examples(
            "archmotif search resnet50 --index index.npz -k 5",
            "archmotif search mymodel.py:Net --index index.npz",
        ),
        formatter_class=RawDescription,
    )
    s.add_argument("model", metavar="QUERY", help=INPUT_HELP + "; one graph")
    s.add_argument("--index", required=True, help="index file from `archmotif index build`")
    s.add_argument("-k", type=int, default=10, help="results to show (10)")
    s.add_argument("--labels", type=_csv, default=["family", "coarse"],
                   help="comma-separated metadata keys to print (family,coarse)")  # fmt: skip
    add_model_options(s)
    s.set_defaults(func=_cmd_search)

    e = sub.add_parser(
        "eval",
        help="evaluate retrieval methods and write the markdown report",
        epilog=examples(
            "archmotif eval --quick -o retrieval.md",
            "archmotif eval --datasets darts --methods ours,wl",
        ),
        formatter_class=RawDescription,
    )
    e.add_argument("--datasets", help="comma-separated (default zoo,darts; quick: builtin,darts)")
    e.add_argument("--methods", default="ours,ours-unsup,ours-dense,motif-bag,nar,gcn,gat,wl",
                   help="comma-separated methods to compare (default: all)")  # fmt: skip
    e.add_argument("--protocols", default="transductive,inductive",
                   help="transductive: fit on all graphs, each queries the others; "
                        "inductive: fit on a stratified split, held-out graphs query "
                        "(default both)")  # fmt: skip
    e.add_argument("--seeds", default="0", help="comma-separated seeds (0)")
    e.add_argument("-o", "--output", default="docs/retrieval.md",
                   help="markdown report to write (default docs/retrieval.md)")  # fmt: skip
    e.add_argument(
        "--quick",
        action="store_true",
        help="reduced run for CI: small DARTS set, 2 epochs per training stage",
    )
    e.add_argument(
        "--skip-missing",
        action="store_true",
        help="leave out methods whose classes are not available, noting them",
    )
    e.add_argument("--variant", default="standard", choices=["standard", "paper"],
                   help="paper: count the query itself among the relevant items, as the NAR "
                        "paper's code does (default standard)")  # fmt: skip
    e.set_defaults(func=_cmd_eval)
