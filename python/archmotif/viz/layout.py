"""Layered (Sugiyama-style) layout of a DAG, drawn top to bottom.

:func:`layered_layout` gives each node a ``layer`` (longest-path layering: a node sits
one layer below its deepest predecessor, so every edge points down; then nodes are
pulled down to just above their highest successor) and a ``rank``
(its left-to-right place in its layer), improved by barycentre sweeps that pull each
node towards the mean place of its neighbours. Pixel coordinates are not computed
here: the viewer derives them from layer and rank and the sizes of the boxes, so that
expanding one macro node moves the others without a new layout.

Each sweep is O(E log E) (a sort and a crossing count); the ordering with the fewest
crossings between adjacent layers is kept. This order is the viewer's starting point:
the viewer (``viewer.js``) then gives every edge that spans several layers one dummy
node per layer crossed, orders dummies and boxes together and draws the edge through
the dummies' slots, so long edges (skip connections) never run under a box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archmotif.errors import GraphError
from archmotif.toposort import topological_order

__all__ = ["Layout", "count_crossings", "layered_layout"]


@dataclass(frozen=True)
class Layout:
    """``layer`` and ``rank`` (int32 ``[N]``); ``(layer, rank)`` is unique per node."""

    layer: np.ndarray
    rank: np.ndarray

    @property
    def num_layers(self) -> int:
        return int(self.layer.max()) + 1 if self.layer.size else 0


def _ranks_from_keys(layer: np.ndarray, key: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """New ranks: within each layer, nodes sorted by ``key`` (ties keep the old rank)."""
    order = np.lexsort((rank, key, layer))
    sorted_layer = layer[order]
    first = np.searchsorted(sorted_layer, sorted_layer)  # index of each layer's first node
    new = np.empty_like(rank)
    new[order] = (np.arange(layer.size) - first).astype(np.int32)
    return new


def _sweep(
    layer: np.ndarray,
    rank: np.ndarray,
    width: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
) -> np.ndarray:
    """One barycentre pass: every node with neighbours in ``src`` moves to the mean
    centred place of those neighbours; a node without keeps its own place."""
    n = layer.size
    place = rank - (width[layer] - 1) / 2.0  # centred, so layers of any width align
    total = np.bincount(dst, weights=place[src], minlength=n)
    count = np.bincount(dst, minlength=n)
    key = np.where(count > 0, total / np.maximum(count, 1), place)
    return _ranks_from_keys(layer, key, rank)


def layered_layout(num_nodes: int, edges: np.ndarray, *, sweeps: int = 8) -> Layout:
    """Layers and ranks of a DAG with ``num_nodes`` nodes and ``edges`` (``[2, E]``).

    ``sweeps`` barycentre passes alternate downwards (by predecessors) and upwards
    (by successors). A cycle raises :class:`~archmotif.GraphError`.
    """
    e = np.asarray(edges, dtype=np.int64).reshape(2, -1)
    if e.size and (e.min() < 0 or e.max() >= num_nodes):
        raise GraphError(f"an edge endpoint is outside 0..{num_nodes - 1}")
    src, dst = e[0], e[1]
    try:
        topo = topological_order(num_nodes, src, dst)
    except GraphError:
        raise GraphError("cannot lay out a graph with a cycle") from None
    layer = np.zeros(num_nodes, dtype=np.int32)
    if e.size:
        # longest path: relax edges in topological order of their sources
        where = np.empty(num_nodes, dtype=np.int64)
        where[topo] = np.arange(num_nodes)
        by_src = np.argsort(where[src], kind="stable")
        lay = layer.tolist()
        for u, v in zip(src[by_src].tolist(), dst[by_src].tolist(), strict=True):
            if lay[u] + 1 > lay[v]:
                lay[v] = lay[u] + 1
        # then pull each node down to just above its highest successor (reverse
        # topological order, so successors are final): a source that feeds a deep node
        # (a mask, a position table) then sits beside its consumer instead of at the
        # top with an edge across the whole drawing
        succ: list[list[int]] = [[] for _ in range(num_nodes)]
        for u, v in zip(src.tolist(), dst.tolist(), strict=True):
            succ[u].append(v)
        for u in reversed(topo.tolist()):
            if succ[u]:
                lay[u] = max(lay[u], min(lay[v] for v in succ[u]) - 1)
        layer = np.asarray(lay, dtype=np.int32)
    # initial ranks: topological order within each layer (keeps chains' branches stable)
    where = np.empty(num_nodes, dtype=np.int64)
    where[topo] = np.arange(num_nodes)
    rank = _ranks_from_keys(layer, where.astype(np.float64), np.zeros(num_nodes, np.int32))
    width = np.bincount(layer, minlength=int(layer.max()) + 1 if num_nodes else 0)
    # barycentre ordering is a heuristic that can make things worse: keep the best
    best, best_crossings = rank, _crossings(layer, rank, src, dst) if e.size else 0
    for i in range(sweeps):
        if best_crossings == 0:
            break
        rank = _sweep(layer, rank, width, *((src, dst) if i % 2 == 0 else (dst, src)))
        c = _crossings(layer, rank, src, dst)
        if c < best_crossings:
            best, best_crossings = rank, c
    return Layout(layer=layer, rank=best.astype(np.int32))


def _crossings(layer: np.ndarray, rank: np.ndarray, src: np.ndarray, dst: np.ndarray) -> int:
    """Crossings among edges joining adjacent layers: per layer pair, the inversions of
    the targets' ranks once edges are sorted by source rank (Fenwick tree, O(E log E))."""
    short = layer[dst] - layer[src] == 1
    if not short.any():
        return 0
    lay, a, b = layer[src][short], rank[src][short], rank[dst][short]
    order = np.lexsort((b, a, lay))
    lay, b = lay[order].tolist(), b[order].tolist()
    size = int(rank.max()) + 2
    total = 0
    tree = [0] * (size + 1)
    touched: list[int] = []
    prev = None
    for lv, r in zip(lay, b, strict=True):
        if lv != prev:  # new layer pair: clear what the last one counted
            for i in touched:
                tree[i] = 0
            touched.clear()
            prev, seen = lv, 0
        i, below = r + 1, 0  # edges so far whose target rank is <= r
        while i > 0:
            below += tree[i]
            i -= i & -i
        total += seen - below
        seen += 1
        i = r + 1
        while i <= size:
            tree[i] += 1
            touched.append(i)
            i += i & -i
    return total


def count_crossings(layout: Layout, edges: np.ndarray) -> int:
    """Crossings between edges that join adjacent layers (the quality measure the
    sweeps minimise; edges spanning more layers are not counted)."""
    e = np.asarray(edges, dtype=np.int64).reshape(2, -1)
    if not e.size:
        return 0
    return _crossings(layout.layer, layout.rank, e[0], e[1])
