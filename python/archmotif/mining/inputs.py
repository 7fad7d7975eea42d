"""What every mining call does to its input before the core sees it: graphs (a list,
one graph, or a corpus path) into a list at a level of detail (:func:`as_graphs`), one
op vocabulary for them all and each graph's ops remapped into it (:func:`global_ops`),
and the progress bar of a long call (:func:`progress_bar`).

Op names, not op ids, define motifs: a motif's canonical id depends only on its op
names and edges, so :func:`global_ops` may number the names in any way; it sorts them
so that equal corpora get equal numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np

from archmotif.attributes import with_detail
from archmotif.graph import OpGraph

__all__ = ["as_graphs", "global_ops", "progress_bar"]


def as_graphs(
    graphs: OpGraph | Iterable[OpGraph] | str | os.PathLike[str], detail: str
) -> list[OpGraph]:
    """``graphs`` (one graph, many, or a corpus path) as a list at ``detail``
    (:mod:`archmotif.attributes`)."""
    if isinstance(graphs, OpGraph):
        return [graphs.view(detail)]
    if isinstance(graphs, (str, os.PathLike)):
        from archmotif.corpus import load_corpus

        if not os.path.lexists(graphs):
            raise FileNotFoundError(_not_a_file(os.fspath(graphs)))
        return load_corpus(graphs, detail=detail)
    out = list(graphs)
    for i, g in enumerate(out):
        if not isinstance(g, OpGraph):
            raise TypeError(f"graphs[{i}] is {type(g).__name__}, not OpGraph")
    return with_detail(out, detail)


def _not_a_file(name: str) -> str:
    """What a path that is no file was probably meant as: the CLI reads dataset and
    model names where the API takes graphs or a corpus path."""
    if os.sep in name or os.path.splitext(name)[1]:
        return f"{name}: no such corpus file"
    return (
        f"{name}: no such corpus file; pass graphs instead: a model's, "
        f"archmotif.trace({name!r}), or a dataset's, archmotif.datasets.load({name!r})"
    )


def global_ops(
    graphs: Sequence[OpGraph], base: Sequence[str] = ()
) -> tuple[list[str], list[tuple[np.ndarray, np.ndarray]]]:
    """One op vocabulary for all graphs (``base`` first, then new names sorted)
    and every graph's ops remapped into it."""
    names = list(base)
    op_names = [g.op_names for g in graphs]
    names += sorted(set().union(*op_names) - set(names))
    index = {n: i for i, n in enumerate(names)}
    arrays = []
    for g, own in zip(graphs, op_names, strict=True):
        remap = np.fromiter(map(index.__getitem__, own), dtype=np.int32, count=len(own))
        ops = remap[g.ops] if g.num_nodes else np.zeros(0, dtype=np.int32)
        arrays.append((np.ascontiguousarray(ops), np.ascontiguousarray(g.edges)))
    return names, arrays


def progress_bar(enabled: bool, desc: str) -> tuple[Callable[[int, int], None] | None, Any]:
    if not enabled:
        return None, nullcontext()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, nullcontext()
    bar = tqdm(desc=desc, unit="graph", disable=None, leave=False)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    return update, bar
