"""The ``archmotif`` command line.

- ``archmotif trace MODEL [-o graph.json]``: trace a timm, torchvision or transformers
  model by name, or your own (``FILE.py:NAME``), on the meta device into OpGraph JSON;
- ``archmotif info INPUT [--modules]``: summarise a graph, corpus, dataset or model;
- ``archmotif mine INPUT...``: mine motifs and print a summary (``--json``, ``-o``),
  in :mod:`archmotif.mining.cli`;
- ``archmotif demo [-o index.npz]``: the main job on the built-in data: mine the
  motifs of 98 real models, pretrain the encoder briefly, index the models and
  answer queries by models the data does not hold (traced on the meta device).

Every command takes its input the same way (:mod:`archmotif.cli_inputs`): a file, a
dataset name, ``FILE.py:NAME`` or a model name.

Exit status (also in the README): 0 success; 1 the input is wrong (a missing or
unreadable file, a model that does not trace); 2 a bad argument; 3 an optional
dependency is missing; 70 a bug in archmotif; 130 interrupted (Ctrl-C). Errors print
one line ``archmotif: error: ...`` on stderr. Warnings raised by libraries (torch,
torch_geometric, transformers) are logged at debug level, not printed: ``--verbose``
prints them, ``ARCHMOTIF_DEBUG=1`` also prints the traceback of an error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from archmotif.cli_inputs import (
    INPUT_HELP,
    add_detail_option,
    add_model_options,
    check_input,
    read_graphs,
)
from archmotif.cli_parser import add_mining_options, command
from archmotif.errors import ArchmotifError, InvalidArgument

__all__ = ["DEMO_QUERIES", "main"]

# Feature modules that add their own subcommands: each has ``register(subparsers)``,
# which adds parsers whose ``func(args) -> int`` is set with ``set_defaults``. They
# import their heavy dependencies inside ``func``, so ``archmotif --help`` stays fast.
_SUBCOMMAND_MODULES: tuple[str, ...] = (
    "archmotif.mining.cli",
    "archmotif.datasets._cli",
    "archmotif.viz._cli",
    "archmotif.retrieval._cli",
    "archmotif.prediction._cli",
)

# exit statuses (documented in the module docstring, --help and the README)
EXIT_INPUT, EXIT_USAGE, EXIT_DEPENDENCY, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 70, 130

# Queries of the demo: built from code on the meta device (no download, no weights),
# and not among the built-in models, so the answers are their nearest relatives.
DEMO_QUERIES = (
    "timm:resnet26",
    "timm:vit_small_patch16_224@depth=8",
    "transformers:bert@num_hidden_layers=8",
)


def _summary(g: Any) -> str:
    counts = g.op_counts()
    top = ", ".join(f"{op} {c}" for op, c in counts.most_common(4))
    if len(counts) > 4:
        more = len(counts) - 4
        top += f", +{more} more op{'' if more == 1 else 's'}"
    return f"{g.name or '<unnamed>'}: {g.num_nodes} nodes, {g.num_edges} edges ({top})"


def _cmd_trace(args: argparse.Namespace) -> int:
    out = args.output
    if out and out.endswith((".onnx", ".mined")):
        raise InvalidArgument(
            f"{out}: trace writes an OpGraph (JSON, FILE.json) or a corpus of one graph "
            f"(FILE.npz); a {os.path.splitext(out)[1]} name would be read back as another format"
        )
    t = time.perf_counter()
    graphs = read_graphs(args.model, args)
    dt = time.perf_counter() - t
    if len(graphs) != 1:
        raise InvalidArgument(
            f"{args.model} holds {len(graphs)} graphs; trace writes one (use `dataset export`)"
        )
    g = graphs[0]
    if not out:
        print(g.to_json())
        return 0
    if out.endswith(".npz"):  # a corpus of this one graph
        from archmotif.corpus import save_corpus

        save_corpus([g], out)
    else:
        g.save(out)
    what = " (a corpus of one graph)" if out.endswith(".npz") else ""
    # summarised as `info` and `mine` name the operators (their default detail); the
    # file keeps every attribute
    from archmotif.attributes import DEFAULT_DETAIL, with_detail

    shown = with_detail([g], DEFAULT_DETAIL)[0]
    print(f"{_summary(shown)}; traced in {dt:.2f} s; wrote {out}{what}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from archmotif.attributes import with_detail

    if args.input.endswith(".mined"):  # what `archmotif mine -o FILE.mined` wrote
        from archmotif.mining import load_mined
        from archmotif.mining.cli import mined_summary, print_summary

        m = load_mined(args.input)
        print(f"{args.input}: mined with strategy={m.strategy!r} at detail={m.detail!r}")
        print_summary(mined_summary(m, top=args.top, strategy=m.strategy))
        return 0
    if args.depth is not None:
        args.modules = True
    graphs = with_detail(read_graphs(args.input, args), args.detail)
    if len(graphs) != 1 or args.input.endswith(".npz"):
        nodes = sum(g.num_nodes for g in graphs)
        edges = sum(g.num_edges for g in graphs)
        ops = {op for g in graphs for op in g.op_counts()}
        many = f"{len(graphs)} graph{'' if len(graphs) == 1 else 's'}"
        print(f"{args.input}: {many}, {nodes} nodes, {edges} edges, {len(ops)} ops")
    for g in graphs[: args.top]:
        print(_summary(g))
        if args.modules:
            from archmotif.viz.module_table import format_module_table

            print(format_module_table(g, args.depth or 2))
    if len(graphs) > args.top:
        print(f"... and {len(graphs) - args.top} more")
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
    from archmotif.mining.cli import mine_with_progress, mined_summary, print_summary

    mined, dt = mine_with_progress(graphs, args)
    print(f"mined with strategy={args.strategy!r} in {dt:.3f} s")
    shown = ("resnet50", "vit_b_16", "bert@num_hidden_layers=12")
    print_summary(mined_summary(mined, top=8), shown)

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


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="archmotif",
        description="Find the building blocks of neural networks.",
        epilog="exit status: 0 ok, 1 bad input, 2 bad argument, 3 missing optional "
        "dependency, 70 internal error, 130 interrupted",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print library warnings and debug log lines on stderr",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    t = command(
        sub,
        "trace",
        "trace a model into an OpGraph JSON file",
        "archmotif trace resnet50 -o resnet50.json",
        "archmotif trace mymodel.py:TinyUNet --input-shape 1,3,64,64 -o unet.json",
        "archmotif trace transformers:gpt2 --inputs 'input_ids=long[1,32]'",
    )
    t.add_argument("model", help=INPUT_HELP)
    t.add_argument("-o", "--output", help="write the graph here: a corpus of one graph for "
                   "FILE.npz, else OpGraph JSON (default: print JSON)")  # fmt: skip
    add_model_options(t)
    t.set_defaults(func=_cmd_trace)
    i = command(
        sub,
        "info",
        "summarise a graph, corpus, dataset or model",
        "archmotif info builtin",
        "archmotif info resnet50.json",
        "archmotif info zoo.npz --top 5",
        "archmotif info torchvision:resnet18 --modules --depth 1",
    )
    i.add_argument("input", help=INPUT_HELP)
    i.add_argument("--top", type=int, default=20, metavar="N", help="graphs to list (default 20)")
    i.add_argument(
        "--modules",
        action="store_true",
        help="a table of each graph's operators by module (layer1.0, ...): operators, "
        "output shape and parameters, with a total row",
    )
    i.add_argument(
        "--depth",
        type=int,
        metavar="N",
        help="module path parts per row of --modules (default 2: layer1.0); implies --modules",
    )
    add_detail_option(i)
    add_model_options(i)
    i.set_defaults(func=_cmd_info)
    d = command(
        sub,
        "demo",
        "the main job on the built-in data: mine, pretrain, index, search",
        "archmotif demo",
        "archmotif demo -o builtin-index.npz --epochs 5",
    )
    d.add_argument("-o", "--output", help="keep the index file here (default: temporary)")
    d.add_argument("--epochs", type=int, default=30, help="graph-level epochs (30)")
    add_mining_options(d)
    d.set_defaults(func=_cmd_demo)
    for module in _SUBCOMMAND_MODULES:
        importlib.import_module(module).register(sub)
    _name_subcommands(p)
    return p


def _name_subcommands(p: argparse.ArgumentParser) -> None:
    """Nested subcommand groups (`plot`, `index`, `zoo`, `dataset`) show their choices
    where argparse would show their internal name: `archmotif plot` then says
    "required: {levels,reduction,embedding,search}", not "required: plot_command"."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            if action.metavar is None:
                action.metavar = "{" + ",".join(action.choices) + "}"
            for sub in action.choices.values():
                _name_subcommands(sub)


def _version() -> str:
    from archmotif._core import __version__

    return __version__


_log = logging.getLogger("archmotif.cli")


def _log_warning(message: Any, category: Any, filename: str, lineno: int, *_: Any) -> None:
    _log.debug("%s:%s: %s: %s", filename, lineno, category.__name__, message)


def _quiet(verbose: bool) -> None:
    """Library warnings and log lines go to the debug log, not the terminal."""
    warnings.showwarning = _log_warning
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    else:
        # torch and friends log through `logging`; without a handler of our own their
        # warnings would reach stderr through logging's last-resort handler
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)


def _fail(code: int, message: str) -> int:
    if os.environ.get("ARCHMOTIF_DEBUG"):
        import traceback

        traceback.print_exc()
    line = " ".join(message.split())  # one line, however the cause was worded
    print(f"archmotif: error: {line[:1000]}", file=sys.stderr)
    return code


def _os_message(e: Exception) -> str:
    """An error's text without the ``[Errno N]`` that ``str(OSError)`` puts first."""
    if isinstance(e, OSError) and e.strerror and not isinstance(e, ArchmotifError):
        return f"{e.filename}: {e.strerror}" if e.filename is not None else e.strerror
    return str(e)


# positional arguments that name an input (cli_inputs), by the dest each command gives them
_INPUT_DESTS = ("model", "input", "inputs", "corpus", "model_or_file", "files")


def _precheck(args: argparse.Namespace) -> None:
    """Every check that needs no heavy import, before a command imports torch: inputs
    exist, mining parameters and counts are in range, the index file is there."""
    if hasattr(args, "search_command"):  # search, plot search: QUERY --index INDEX
        from archmotif.retrieval._cli import check_query_and_index

        check_query_and_index(args)
    output = getattr(args, "output", None)
    if isinstance(output, str):
        folder = os.path.dirname(output)
        if os.path.isdir(output):
            raise IsADirectoryError(f"cannot write {output}: it is a folder; name a file in it")
        if folder and args.command != "eval" and not os.path.isdir(folder):
            # (eval makes its report's folder)
            raise FileNotFoundError(f"cannot write {output}: there is no folder {folder}")
    index = getattr(args, "index", None)
    if isinstance(index, str) and not os.path.exists(index):
        raise FileNotFoundError(
            f"{index}: no such index file (build one from a corpus or dataset, e.g. "
            f"archmotif index build builtin -o {index if index.endswith('.npz') else 'idx.npz'})"
        )
    for dest in _INPUT_DESTS:
        value = getattr(args, dest, None)
        for spec in value if isinstance(value, list) else [value] if value else []:
            check_input(spec, args)
    mining = {
        k: getattr(args, k)
        for k in ("max_motif_nodes", "min_count", "min_support")
        if getattr(args, k, None) is not None
    }
    if mining:
        from archmotif.mining import check_mining_params

        try:
            check_mining_params(**mining)
        except InvalidArgument as e:  # name the flag the user typed, not the parameter
            text = str(e)
            for k in mining:
                text = text.replace(k, "--" + k.replace("_", "-"))
            raise InvalidArgument(text) from None
    counts = ("top", "k", "limit", "epochs", "chunk_nodes", "threads", "workers", "bucket_count",
              "depth")  # fmt: skip
    for dest in counts:
        value = getattr(args, dest, None)
        if value is not None and value < 1:
            flag = "-k" if dest == "k" else "--" + dest.replace("_", "-")
            raise InvalidArgument(f"{flag} must be at least 1, got {value}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet("-v" in argv or "--verbose" in argv)
    try:
        args = _parser().parse_args(argv)
        _precheck(args)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("archmotif: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as e:  # argparse: --help, --version, usage errors (status 2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    except BrokenPipeError:  # `archmotif info zoo | head`
        sys.stderr.close()
        return 0
    except InvalidArgument as e:
        return _fail(EXIT_USAGE, str(e))
    except (ArchmotifError, OSError) as e:
        return _fail(EXIT_INPUT, _os_message(e))
    except ImportError as e:
        return _fail(
            EXIT_DEPENDENCY,
            f"{e} (install the extra that provides it, e.g. pip install 'archmotif[all]')",
        )
    except Exception as e:
        return _fail(
            EXIT_INTERNAL,
            f"internal error: {type(e).__name__}: {e}; please report "
            "it (ARCHMOTIF_DEBUG=1 prints the traceback)",
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
