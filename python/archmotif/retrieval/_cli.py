"""CLI: ``archmotif index build``, ``archmotif search`` and ``archmotif eval``.

- ``archmotif index build CORPUS_OR_NAME -o index.npz [--method ours|wl]``: fit a method
  on a corpus (a file or a dataset name such as ``builtin``), embed it, and write one
  index file holding the embeddings, each graph's name and labels, and the encoder;
- ``archmotif search MODEL --index FILE [-k 10]``: the nearest architectures to a model
  name, an ONNX file or an OpGraph JSON file; under a budget with ``--max-params 10M
  --max-flops 1G --max-memory 2G`` and ``--where 'coarse == cnn'`` (all of them must
  hold); per log-spaced cost bucket with ``--buckets FIELD``; the front of (similarity,
  cost) with ``--pareto [FIELD]``;
- ``archmotif eval --datasets ... --methods ... [-o retrieval.md] [--quick]``: the
  comparison report (:mod:`archmotif.experiments.retrieval_report`); ``--detail attrs`` runs every
  method on the op-plus-attributes view.

Heavy imports (torch, the methods) happen inside the commands.
"""

from __future__ import annotations

import argparse
import shlex
import time
from typing import Any

from archmotif.attributes import DEFAULT_DETAIL
from archmotif.experiments.methods import METHODS
from archmotif.retrieval.constraints import Condition, parse_si, parse_where

__all__ = ["add_filter_options", "query_and_index", "register", "where_from_args"]

_BUDGETS = ("params", "flops", "memory")  # --max-FIELD flags

# what `archmotif eval` runs when not told: one of each kind of method
_RETRIEVAL_METHODS = "ours,ours-unsup,ours-dense,motif-bag,nar,gcn,gat,wl"
# every method's fitted encoder has a pickle-free file format, so an index can carry any
_INDEX_METHODS = tuple(METHODS)


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _cmd_index_build(args: argparse.Namespace) -> int:
    from archmotif.cli_inputs import read_graphs
    from archmotif.experiments.retrieval_report import make_method
    from archmotif.retrieval.index import Index

    graphs = read_graphs(args.corpus, args)
    method = make_method(args.method, detail=args.detail)
    t = time.perf_counter()
    index = Index.build(graphs, method, fit=True, seed=args.seed)
    if args.ann:
        ivf = index.build_ann(seed=args.seed)
        note = "" if ivf.faster_than_exact else " (no faster than exact here: searches stay exact)"
        print(f"approximate index: {ivf.nlist} lists, nprobe {ivf.nprobe}, "
              f"recall@10 {ivf.recall:.3f} against exact{note}")  # fmt: skip
    dt = time.perf_counter() - t
    index.save(args.output)
    print(f"indexed {len(index)} graphs with {args.method} (dim {index.dim}) in {dt:.1f} s; "
          f"wrote {args.output}")  # fmt: skip
    return 0


def _si(text: str) -> float:
    value = parse_si(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (SI suffixes k, M, G, T)")
    return value


def add_query_and_index(p: argparse.ArgumentParser, command: str) -> None:
    """QUERY and --index, for `command` (`archmotif search`, `archmotif plot search`).
    --index is not required by argparse, and a second positional is taken: the usual
    slips then get an error that shows the command as it should read
    (:func:`check_query_and_index`, from the CLI's checks before any heavy import)."""
    from archmotif.cli_inputs import INPUT_HELP

    p.add_argument("model", metavar="QUERY", help=INPUT_HELP + "; one graph")
    p.add_argument("stray", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--index", help="index file from `archmotif index build` (required)")
    p.set_defaults(search_command=command)


def check_query_and_index(args: argparse.Namespace) -> None:
    """One query and the index after --index (see :func:`add_query_and_index`): no
    --index, the index first as in `search INDEX QUERY`, or two queries name the right
    command."""
    from archmotif.errors import InvalidArgument

    cmd = args.search_command
    if args.index is None:
        if args.stray is not None:
            raise InvalidArgument(
                f"the index file goes after --index: {cmd} {args.stray} --index {args.model}"
            )
        raise InvalidArgument(
            f"--index is required: {cmd} {args.model} --index INDEX.npz "
            "(build one with archmotif index build)"
        )
    if args.stray is not None:
        raise InvalidArgument(f"one query, not two: {args.model} and {args.stray}")


def add_filter_options(p: argparse.ArgumentParser) -> None:
    """``--where`` and ``--max-params/flops/memory``, read back by :func:`where_from_args`."""
    p.add_argument("--where", help="conditions, e.g. 'params <= 10M and coarse == cnn'")
    for field in _BUDGETS:
        p.add_argument(f"--max-{field}", type=_si, metavar="N",
                       help=f"keep {field} <= N (SI suffixes: 10M, 1G)")  # fmt: skip


def where_from_args(args: argparse.Namespace) -> tuple[Condition, ...]:
    """``--where`` and every ``--max-FIELD`` as one conjunction of conditions."""
    conditions = list(parse_where(args.where))
    for field in _BUDGETS:
        limit = getattr(args, f"max_{field}")
        if limit is not None:
            conditions.append(Condition(field, "<=", limit))
    return tuple(conditions)


def _print_hits(hits: list[Any], labels: list[str], indent: str = "") -> None:
    width = max([len(h.name) for h in hits] + [4])
    print(f"{indent}{'rank':>4}  {'score':>6}  {'name':<{width}}  labels")
    for h in hits:
        shown = ", ".join(f"{k}={_shown(k, h.metadata[k])}" for k in labels if k in h.metadata)
        print(f"{indent}{h.rank:>4}  {h.score:6.3f}  {h.name:<{width}}  {shown}")


def _shown(key: str, value: str) -> str:
    """A cost (params, flops, memory) with an SI suffix, as ``--where`` takes it."""
    if key in _BUDGETS:
        try:
            return _si_text(float(value))
        except ValueError:
            pass
    return value


def _si_text(x: float) -> str:
    for suffix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def query_and_index(args: argparse.Namespace) -> tuple[Any, Any]:
    """``(index, query embedding)`` for a command given ``args.model`` (any input that
    reads as one graph) and ``args.index``; the query is read before the index, so a bad
    query fails before a large index is loaded."""
    from archmotif.cli_inputs import read_graphs
    from archmotif.errors import RetrievalError
    from archmotif.retrieval.index import Index, check_index_detail, embed_query

    graphs = read_graphs(args.model, args)
    if len(graphs) != 1:
        raise RetrievalError(f"{args.model} holds {len(graphs)} graphs; a query is one graph")
    index = Index.load(args.index)
    check_index_detail(index, getattr(args, "detail", None))
    return index, embed_query(graphs[0], index)


def _cmd_search(args: argparse.Namespace) -> int:
    from archmotif.retrieval.cost_search import cost_buckets, pareto_front

    where = where_from_args(args)
    index, query = query_and_index(args)
    have = {k for m in index.metadata for k in m}
    unknown = [f for f in args.labels or () if f not in have]
    if unknown:  # a typo would print an empty column
        from archmotif.errors import RetrievalError

        raise RetrievalError(
            f"--labels: no field {unknown[0]!r} in this index; fields: {', '.join(sorted(have))}"
        )
    shown = args.labels or ["family", "coarse"]  # the default shows what the index has of them
    labels = list(dict.fromkeys([*shown, *(c.field for c in where)]))
    if args.buckets:
        labels = list(dict.fromkeys([*labels, args.buckets]))
        k = args.k or 3
        buckets = cost_buckets(index, query, args.buckets, count=args.bucket_count, k=k,
                               where=where, method=args.backend)  # fmt: skip
        if not buckets:
            print(f"no architecture with a {args.buckets} meets the conditions")
        for n, b in enumerate(buckets, start=1):
            close = "]" if n == len(buckets) else ")"  # the last bucket holds its top
            print(f"{args.buckets} in [{_si_text(b.low)}, {_si_text(b.high)}{close}: "
                  f"{len(b.hits)} nearest")  # fmt: skip
            if b.hits:
                _print_hits(b.hits, labels, indent="  ")
        return 0
    if args.pareto:
        front = pareto_front(index, query, args.pareto, where=where)
        labels = list(dict.fromkeys([*labels, args.pareto]))
        print(f"{len(front)} architectures not dominated on (similarity, {args.pareto}), "
              f"cheapest first:")  # fmt: skip
        _print_hits(front, labels)
        return 0
    scores, ids = index.search(query, args.k or 10, where=where, method=args.backend)
    hits = index.hits(scores[0], ids[0])
    if not hits:
        print("no architecture meets " + " and ".join(str(c) for c in where))
        return 0
    _print_hits(hits, labels)
    return 0


def _cmd_eval_predict(args: argparse.Namespace) -> int:
    from archmotif.prediction.benchmark import SIZES, run_benchmark
    from archmotif.prediction.methods import METHODS

    methods = _csv(args.methods) if args.methods else list(METHODS)
    sizes = [int(s) for s in _csv(args.sizes)] if args.sizes else list(SIZES)
    seeds = args.seeds or "0,1,2,3,4"
    output = args.output or "prediction.md"
    parts = ["archmotif", "eval", "--task", "predict", "--methods", ",".join(methods)]
    parts += [] if args.quick and not args.sizes else ["--sizes", ",".join(map(str, sizes))]
    parts += ["--seeds", seeds, "-o", output]
    parts += ["--quick"] * args.quick + (["--encoder", args.encoder] if args.encoder else [])
    rows = run_benchmark(
        methods,
        sizes,
        [int(s) for s in _csv(seeds)],
        output,
        quick=args.quick,
        encoder=args.encoder,
        command=shlex.join(parts),
    )
    failed = [r for r in rows if "error" in r]
    print(f"wrote {output}" + (f"; {len(failed)} runs failed" if failed else ""))
    return 1 if failed else 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from archmotif.experiments.retrieval_report import run_report

    if args.task == "predict":
        return _cmd_eval_predict(args)
    args.methods = args.methods or _RETRIEVAL_METHODS
    args.seeds = args.seeds or "0"
    args.output = args.output or "retrieval.md"

    datasets = _csv(args.datasets) if args.datasets else (
        ["builtin", "darts"] if args.quick else ["zoo", "darts"]
    )  # fmt: skip
    # the exact command, spelled out in full so the report says how to regenerate it
    parts = ["archmotif", "eval", "--datasets", ",".join(datasets), "--methods", args.methods,
             "--protocols", args.protocols, "--seeds", args.seeds, "-o", args.output]  # fmt: skip
    parts += ["--quick"] * args.quick + ["--skip-missing"] * args.skip_missing
    parts += ["--variant", args.variant] if args.variant != "standard" else []
    parts += ["--detail", args.detail] if args.detail != DEFAULT_DETAIL else []
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
        detail=args.detail,
    )
    failed = [r for r in rows if "error" in r]
    print(f"wrote {args.output}" + (f"; {len(failed)} runs failed" if failed else ""))
    return 1 if failed else 0


def register(sub: Any) -> None:
    """Adds ``index``, ``search`` and ``eval`` to the ``archmotif`` command's subparsers."""
    from archmotif.cli_inputs import INPUT_HELP, add_detail_option, add_model_options
    from archmotif.cli_parser import RawDescription, examples

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
                        "wl: WL subtree baseline (neither needs torch); nar: Neural "
                        "Architecture Retrieval (Pei et al.); gcn, gat: the paper's GNN "
                        "baselines (default ours)")  # fmt: skip
    b.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    b.add_argument(
        "--ann", action="store_true", help="also build the approximate (faiss IVF) index"
    )
    add_detail_option(b)
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
    add_query_and_index(s, "archmotif search")
    s.add_argument("-k", type=int, help="results to show (10; per bucket 3)")
    s.add_argument("--labels", type=_csv, default=None,
                   help="comma-separated metadata keys to print (family,coarse)")  # fmt: skip
    add_detail_option(s, default=None)
    add_model_options(s)
    add_filter_options(s)
    s.add_argument(
        "--buckets", metavar="FIELD", help="the nearest per log-spaced bucket of this cost"
    )
    s.add_argument("--bucket-count", type=int, default=6, help="buckets (6)")
    s.add_argument("--pareto", nargs="?", const="params", metavar="FIELD",
                   help="the front not dominated on (similarity, FIELD; params)")  # fmt: skip
    # --method names an embedding method everywhere else; here the search backend
    s.add_argument("--backend", default="auto", choices=["auto", "numpy", "faiss", "ann"],
                   help="auto: numpy exact, or the file's approximate index when it wins; "
                        "numpy, faiss: exact; ann: the approximate index (auto)")  # fmt: skip
    s.set_defaults(func=_cmd_search)

    e = sub.add_parser(
        "eval",
        help="evaluate retrieval (or accuracy-prediction) methods and write the markdown report",
        epilog=examples(
            "archmotif eval --quick -o retrieval.md",
            "archmotif eval --datasets darts --methods ours,wl",
            "archmotif eval --task predict   # NAS-Bench-201 few-label benchmark",
        ),
        formatter_class=RawDescription,
    )
    e.add_argument("--task", default="retrieval", choices=["retrieval", "predict"],
                   help="retrieval (default), or predict: the NAS-Bench-201 few-label "
                        "accuracy-prediction benchmark (docs/prediction.md)")  # fmt: skip
    e.add_argument("--sizes", help="predict: comma-separated training sizes (78,156,781,1563)")
    e.add_argument("--encoder", metavar="FILE",
                   help="predict: an encoder pretrained on the space beforehand, for ours "
                        "(default: pretrain here, timed in the report)")  # fmt: skip
    e.add_argument("--datasets", help="comma-separated (default zoo,darts; quick: builtin,darts)")
    e.add_argument("--methods",
                   help="comma-separated methods to compare (default: all)")  # fmt: skip
    e.add_argument("--protocols", default="transductive,inductive",
                   help="transductive: fit on all graphs, each queries the others; "
                        "inductive: fit on a stratified split, held-out graphs query "
                        "(default both)")  # fmt: skip
    e.add_argument("--seeds", help="comma-separated seeds (retrieval 0; predict 0,1,2,3,4)")
    e.add_argument("-o", "--output",
                   help="markdown report to write, its raw .json beside it "
                        "(default retrieval.md; predict: prediction.md)")  # fmt: skip
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
    add_detail_option(e)
    e.set_defaults(func=_cmd_eval)
