"""CLI: ``archmotif zoo build|list`` and ``archmotif dataset info|export``."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from typing import Any

__all__ = ["register"]


def _cmd_zoo_build(args: argparse.Namespace) -> int:
    from archmotif.datasets import zoo

    specs = None
    if args.limit is not None:
        specs = []
        for source in args.sources:
            specs += zoo.spread(zoo.catalogue([source]), args.limit)
    summary = zoo.build(
        args.output,
        sources=args.sources,
        specs=specs,
        workers=args.workers,
        timeout=args.timeout,
        progress=not args.no_progress and sys.stderr.isatty(),
        normalize=not args.no_normalize,
    )
    print(summary)
    return 0


def _cmd_zoo_list(args: argparse.Namespace) -> int:
    from archmotif.datasets import zoo

    specs = zoo.catalogue(args.sources)
    if args.names:
        print("\n".join(specs))
        return 0
    by_source = Counter(s.partition(":")[0] for s in specs)
    for source in args.sources:
        print(f"{source:<13} {by_source.get(source, 0):>5} architectures to trace")
    print(f"{'total':<13} {len(specs):>5}")
    return 0


def _resolve(name_or_path: str) -> str:
    from archmotif.datasets import BUILTIN_PATH, default_zoo_path

    named = {"builtin": BUILTIN_PATH, "zoo": default_zoo_path()}
    path = os.fspath(named.get(name_or_path, name_or_path))
    if not os.path.lexists(path):
        hint = "; run `archmotif zoo build` first" if name_or_path == "zoo" else ""
        raise FileNotFoundError(f"{path}: no such corpus file{hint}")
    return path


# Datasets generated from published rules on every load (no file to point at).
_GENERATED = ("darts", "nasbench201")


def _cmd_dataset_info(args: argparse.Namespace) -> int:
    from archmotif import datasets
    from archmotif.corpus import corpus_info, save_corpus

    info: dict[str, Any]
    if args.file in _GENERATED:
        start = time.perf_counter()
        graphs = datasets.load(args.file)
        seconds = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:  # sizes as the corpus file would have
            save_corpus(graphs, os.path.join(tmp, "corpus.npz"))
            info = corpus_info(os.path.join(tmp, "corpus.npz"))
        info["path"] = f"{args.file} (generated in {seconds:.1f} s)"
    else:
        info = corpus_info(_resolve(args.file))
    size_mb = info["size_bytes"] / 1e6
    print(
        f"{info['path']}: corpus v{info['version']}, {info['num_graphs']} graphs, "
        f"{info['num_nodes']} nodes, {info['num_edges']} edges, {info['num_ops']} ops, "
        f"{size_mb:.1f} MB"
    )
    for key in ("source", "coarse", "family", "task"):
        counts = info["label_counts"].get(key)
        if not counts:
            continue
        shown = list(counts.items())[: args.top]
        more = f", ... ({len(counts)} values)" if len(counts) > args.top else ""
        print(f"  {key}: " + ", ".join(f"{v} {n}" for v, n in shown) + more)
    meta = info["meta"]
    if meta.get("normalized") is False:  # `zoo build --no-normalize`
        print("  operators as torch.export spells them (built with --no-normalize); loading "
              "it by name or with archmotif.datasets.load normalises them")  # fmt: skip
    elif meta.get("normalized") is True and "normalizer" in meta:
        from archmotif.datasets import stamped_here

        if stamped_here(meta):
            print("  normalised by this version's rules: loading it does not normalise again")
        else:
            print("  normalised by other rules than this version's: loading it normalises again")
    if meta.get("failures"):
        reasons = Counter(f["reason"] for f in meta["failures"])
        print(f"  {len(meta['failures'])} failures while building; commonest reasons:")
        for r, n in reasons.most_common(args.top):
            print(f"    {n:>4}  {r}")
    return 0


def _cmd_dataset_export(args: argparse.Namespace) -> int:
    from archmotif import datasets
    from archmotif.corpus import save_corpus

    graphs = datasets.load(args.name)
    save_corpus(graphs, args.output, meta={"dataset": args.name, **datasets.normalized_meta()})
    print(f"{args.output}: {len(graphs)} graphs from {args.name}")
    return 0


def register(sub: Any) -> None:
    """Adds ``zoo`` and ``dataset`` to the ``archmotif`` command's subparsers."""
    from archmotif.cli_parser import RawDescription, examples
    from archmotif.datasets.zoo import SOURCES

    z = sub.add_parser("zoo", help="build or list the real-world architecture zoo")
    zsub = z.add_subparsers(dest="zoo_command", required=True)
    b = zsub.add_parser(
        "build",
        epilog=examples(
            "archmotif zoo build --limit 20 -o zoo-sample.npz",
            "archmotif zoo build --sources timm --workers 8",
        ),
        formatter_class=RawDescription,
        help="trace every timm/torchvision/transformers architecture into one corpus file",
        description="Traces the zoo on the meta device in worker processes. Resumes after "
        "an interruption (a journal sits next to the output until the build completes).",
    )
    b.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES,
                   help="libraries to trace models from (default: all three)")  # fmt: skip
    b.add_argument("-o", "--output", help="corpus file (default ~/.cache/archmotif/zoo.npz)")
    b.add_argument("--workers", type=int, help="worker processes (default: CPU count)")
    b.add_argument("--timeout", type=float, default=300.0, help="seconds per model (300)")
    b.add_argument("--limit", type=int, metavar="N",
                   help="only N models of each source, taken across its families (one of "
                        "each family in turn), for a quick sample")  # fmt: skip
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--no-normalize", action="store_true",
                   help="keep the operators as torch.export spells them (the corpus that "
                        "retrieval before normalisation searches); loading it by name or "
                        "with archmotif.datasets.load normalises it again")  # fmt: skip
    b.set_defaults(func=_cmd_zoo_build)
    ls = zsub.add_parser(
        "list",
        help="what the zoo would trace, per source",
        epilog=examples("archmotif zoo list", "archmotif zoo list --names"),
        formatter_class=RawDescription,
    )
    ls.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES,
                    help="libraries to list (default: all three)")  # fmt: skip
    ls.add_argument("--names", action="store_true", help="print every model spec")
    ls.set_defaults(func=_cmd_zoo_list)

    d = sub.add_parser("dataset", help="inspect corpus files")
    dsub = d.add_subparsers(dest="dataset_command", required=True)
    i = dsub.add_parser(
        "info",
        help="sizes, labels and build failures of a corpus file",
        epilog=examples("archmotif dataset info builtin", "archmotif dataset info zoo --top 5"),
        formatter_class=RawDescription,
    )
    i.add_argument("file", help="a corpus .npz, or 'builtin' / 'zoo' / 'darts' / 'nasbench201'")
    i.add_argument("--top", type=int, default=12, help="values to show per label (12)")
    i.set_defaults(func=_cmd_dataset_info)
    x = dsub.add_parser(
        "export",
        help="write a named dataset (or a corpus) to a corpus file",
        epilog=examples("archmotif dataset export darts -o darts.npz"),
        formatter_class=RawDescription,
    )
    x.add_argument("name", help="'builtin', 'zoo', 'darts', 'nasbench201' or a corpus path")
    x.add_argument("-o", "--output", required=True, help="corpus .npz to write (atomically)")
    x.set_defaults(func=_cmd_dataset_export)
