"""``python -m benches.rewrites``: run the hand-written query benchmark and write the
report (``docs/rewrites.md`` + ``docs/rewrites.json``). Run from the repository root.

A module of the repository, not an ``archmotif`` subcommand: the hand-written models
live in ``benches/``, which the wheel does not ship, so ``archmotif eval`` could not
find them after ``pip install``.
"""

from __future__ import annotations

import argparse
import inspect
import shlex
import sys
from datetime import datetime, timezone


def _normalize_settings(text: str) -> list[bool | None]:
    import archmotif

    has_switch = "normalize" in inspect.signature(archmotif.trace).parameters
    if text == "auto":
        return [False, True] if has_switch else [None]
    table = {"off": False, "on": True, "default": None}
    settings = []
    for part in text.split(","):
        if part not in table:
            raise SystemExit(f"--normalize takes auto, default, off, on or a list; got {part!r}")
        if table[part] is not None and not has_switch:
            raise SystemExit(f"--normalize {part}: this archmotif's trace() has no normalize=")
        settings.append(table[part])
    return settings


def main(argv: list[str] | None = None) -> int:
    from archmotif.attributes import DEFAULT_DETAIL, DETAILS
    from benches.rewrites.harness import DEFAULT_METHODS, run_benchmark
    from benches.rewrites.queries import QUERIES

    p = argparse.ArgumentParser(prog="python -m benches.rewrites", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--dataset", default="zoo",
                   help="corpus to search: a dataset name (zoo, builtin) or a corpus .npz "
                        "(default zoo; build it with `archmotif zoo build`)")  # fmt: skip
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                   help=f"comma-separated (default {','.join(DEFAULT_METHODS)})")  # fmt: skip
    p.add_argument("--normalize", default="auto",
                   help="off, on, default (trace's own default, switch not passed) or a "
                        "comma-separated list; auto: off,on when trace() has normalize=, "
                        "else default")  # fmt: skip
    p.add_argument(
        "--detail",
        default=DEFAULT_DETAIL,
        help="levels of detail, comma-separated: op (plain operators), attrs "
        f"(operators with their attributes) (default {DEFAULT_DETAIL})",
    )
    p.add_argument("--queries", help="comma-separated query names (default: all)")
    p.add_argument("--seed", type=int, default=0, help="training seed (0)")
    p.add_argument("--quick", action="store_true", help="2 epochs per training stage")
    p.add_argument("-o", "--output", default="docs/rewrites.md", help="(docs/rewrites.md)")
    args = p.parse_args(argv)

    queries = QUERIES
    if args.queries:
        wanted = args.queries.split(",")
        unknown = sorted(set(wanted) - {q.name for q in QUERIES})
        if unknown:
            raise SystemExit(f"unknown queries: {', '.join(unknown)}")
        queries = tuple(q for q in QUERIES if q.name in wanted)
    settings = _normalize_settings(args.normalize)
    details = args.detail.split(",")
    if not set(details) <= set(DETAILS):
        raise SystemExit(f"--detail takes {', '.join(DETAILS)} or a list; got {args.detail!r}")
    try:
        raw = run_benchmark(args.dataset, args.methods.split(","), settings, details=details,
                            seed=args.seed,
                            quick=args.quick, queries=queries)  # fmt: skip
    except FileNotFoundError as e:  # no zoo built yet, or a mistyped corpus path
        raise SystemExit(str(e)) from None
    from archmotif.experiments.retrieval_report import machine
    from benches.rewrites.report import write

    parts = ["python", "-m", "benches.rewrites", "--dataset", args.dataset, "--methods",
             args.methods, "--normalize", args.normalize, "--detail", args.detail,
             "--seed", str(args.seed),
             "-o", args.output]  # fmt: skip
    parts += ["--quick"] * args.quick + (["--queries", args.queries] if args.queries else [])
    write(raw, args.output, command=shlex.join(parts), machine=machine(),
          generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))  # fmt: skip
    print(f"wrote {args.output}")
    failed = [r for run in raw["runs"] for r in run["methods"] if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
