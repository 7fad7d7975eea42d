"""What every ``archmotif`` command's parser shares: the help layout (a description, then
the ``examples:`` epilog with its lines kept) and the mining options.

The main parser (:mod:`archmotif.cli`) and the subcommand modules that register beside
the code they drive (``mining/cli.py``, ``*/_cli.py``) build their parsers from here,
so the subcommands never import the main parser that imports them.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["RawDescription", "add_mining_options", "command", "examples"]


def add_mining_options(p: argparse.ArgumentParser, full: bool = False) -> None:
    """``--strategy`` and ``--max-motif-nodes``; ``full`` adds ``--min-count``,
    ``--min-support`` and ``--threads`` (for ``mine``)."""
    g = p.add_argument_group("mining")
    g.add_argument(
        "--strategy",
        default="merge",
        choices=["merge", "nar"],
        help="merge: hierarchical frequent merging (default); nar: the NAR "
        "paper's sequence segmentation (baseline)",
    )
    g.add_argument(
        "--max-motif-nodes",
        type=int,
        default=32,
        metavar="N",
        help="largest motif, in operators (2..4096; default 32)",
    )
    if full:
        g.add_argument(
            "--min-count",
            type=int,
            metavar="N",
            help="a motif needs at least N non-overlapping instances (default 2)",
        )
        g.add_argument(
            "--min-support",
            type=int,
            metavar="N",
            help="a motif needs to occur in at least N graphs (default 1)",
        )
        g.add_argument(
            "--threads",
            type=int,
            metavar="N",
            help="worker threads (default: all cores); the result does not change",
        )


RawDescription = argparse.RawDescriptionHelpFormatter  # keeps the examples' lines


def examples(*lines: str) -> str:
    """The ``examples:`` epilog of a command's ``--help``."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def command(sub: Any, name: str, help: str, *lines: str, **kw: Any) -> Any:
    """A subcommand parser of ``sub`` whose ``--help`` shows ``lines`` as examples."""
    description = kw.pop("description", help[0].upper() + help[1:] + ".")
    return sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=examples(*lines) if lines else None,
        formatter_class=RawDescription,
        **kw,
    )
