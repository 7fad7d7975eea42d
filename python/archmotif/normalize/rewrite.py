"""The one rewrite step every rule of the normalisation pass goes through.

A rule says, for every node of the current graph, what becomes of it (``fate``):

- ``fate[v] == v``: ``v`` stays (perhaps under a new op, ``ops[v]``);
- ``fate[v] == u`` (another node): ``v`` folds into ``u``, the node that stands
  for a matched pattern; edges into and out of the pattern now touch ``u``;
- ``fate[v] == DROP``: ``v`` computes nothing; its readers read its input
  instead (edges are bridged through it, through chains of such nodes too);
- ``fate[v] == PRUNE``: ``v`` goes with its edges (it computed only from shapes
  and constants).

A batch of graphs is normalised as one disjoint union (``part`` says whose each
node is), so a corpus costs a few numpy calls per rule, not per graph.

:func:`apply` turns that into the next :class:`Work` in O(N + E) numpy work, and
:func:`carry` is the one place a per-node field follows its node: a new per-node
field of :class:`~archmotif.OpGraph` is one line there. A group (a node and the nodes
folded into it) sums its members' FLOPs and parameters and outputs what its *output
member* outputs: the last member (in node order) whose result leaves the group, or the
last member when none does. Parameters are never lost with a node: a dropped or pruned
node's go to its first reader that stays (:func:`_params_onwards`), so a graph's
parameters still sum to its model's. ``origin`` maps every node
of the *first* graph to the node that stands for it now (-1 when dropped), so
names and the ops a node was made from can be given for the viewer at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DROP", "PRUNE", "Work", "apply", "carry", "csr", "unique"]

DROP = -1
PRUNE = -2


@dataclass
class Work:
    """A graph being normalised: arrays only, validated once at the end."""

    ops: np.ndarray  # int32 [N], into op_names
    op_names: list[str]
    edges: np.ndarray  # int64 [2, E]
    flops: np.ndarray  # float64 [N], NaN where unknown
    attrs: np.ndarray  # int32 [N], into the batch's attribute strings (0: none)
    shapes: np.ndarray  # int32 [N], into the batch's shape strings (0: unknown)
    params: np.ndarray  # int64 [N], parameters read directly
    part: np.ndarray  # int64 [N]: which graph of a batch the node belongs to
    origin: np.ndarray  # int64 [N0]: the current node of each original node, -1 if gone

    @property
    def num_nodes(self) -> int:
        return int(self.ops.shape[0])

    def op_id(self, name: str) -> int:
        """The id of op ``name``, added to the vocabulary when new."""
        if name not in self.op_names:
            self.op_names.append(name)
        return self.op_names.index(name)

    def ids_of(self, names: frozenset[str] | set[str]) -> np.ndarray:
        return np.array([i for i, n in enumerate(self.op_names) if n in names], dtype=np.int32)

    def has(self, names: frozenset[str] | set[str]) -> np.ndarray:
        """bool [N]: which nodes carry one of the ops ``names``."""
        return np.isin(self.ops, self.ids_of(names))


def csr(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, neighbours)``: the neighbours ``dst`` of each node of ``src``."""
    order = np.argsort(src, kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=offsets[1:])
    return offsets, dst[order]


def _bridge(n: int, edges: np.ndarray, dropped: np.ndarray) -> np.ndarray:
    """``edges`` with every path through dropped nodes replaced by one edge."""
    src, dst = edges
    indeg = np.bincount(dst, minlength=n)
    # a dropped node with one input is that input to its readers: follow such
    # chains to their end by pointer jumping (log of the chain length in steps)
    single = dropped & (indeg == 1)
    alias = np.arange(n, dtype=np.int64)
    into_single = single[dst]
    alias[dst[into_single]] = src[into_single]
    while True:
        nxt = alias[alias]
        if np.array_equal(nxt, alias):
            break
        alias = nxt
    keep = ~single[dst]
    src, dst = alias[src[keep]], dst[keep]
    # dropped nodes with several inputs: their readers read each of their inputs; a
    # layer of such nodes per round (edges between dropped nodes are kept until done)
    while True:
        out_of = dropped[src]
        if not out_of.any():
            break
        into = dropped[dst]
        off, preds = csr(n, dst[into], src[into])
        mid, after = src[out_of], dst[out_of]
        count = off[mid + 1] - off[mid]
        first = np.repeat(off[mid], count) + _ranges(count)
        src = np.concatenate([src[~out_of], preds[first]])
        dst = np.concatenate([dst[~out_of], np.repeat(after, count)])
        key = unique(src * n + dst)
        src, dst = key // n, key % n
    keep = ~dropped[dst]
    return np.stack([src[keep], dst[keep]])


def unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct ``keys`` (by sorting: numpy's hashed ``unique`` is slower on
    int64 keys)."""
    k = np.sort(keys)
    return k[np.concatenate([[True], k[1:] != k[:-1]])] if k.size else k


def _ranges(count: np.ndarray) -> np.ndarray:
    """``[0..count[0]), [0..count[1]), ...`` concatenated."""
    total = int(count.sum())
    starts = np.repeat(np.cumsum(count) - count, count)
    return np.arange(total, dtype=np.int64) - starts


def _params_onwards(w: Work, gone: np.ndarray) -> np.ndarray:
    """``w.params`` with the parameters of every ``gone`` node moved to its first
    reader (lowest id) that is not gone, through chains of gone nodes (a pruned
    ``expand`` of a class token hands its parameters to the ``cat`` reading it). A gone
    node that nobody reads keeps them (they leave with it)."""
    params = w.params
    src, dst = w.edges
    holders = gone & (params > 0)
    while holders.any():
        out = holders[src]
        first = np.full(w.num_nodes, w.num_nodes, dtype=np.int64)
        np.minimum.at(first, src[out], dst[out])
        moving = np.flatnonzero(holders & (first < w.num_nodes))
        if not moving.size:
            break
        params = params.copy()
        np.add.at(params, first[moving], params[moving])
        params[moving] = 0
        holders = gone & (params > 0)
    return params


def _output_members(
    n: int, rep: np.ndarray, new_index: np.ndarray, n_new: int, edges: np.ndarray
) -> np.ndarray:
    """For each new node, the old node whose output its group hands on (see the module
    docstring); ``edges`` are old ids with dropped nodes bridged."""
    member = rep >= 0
    group = np.where(member, rep, 0)
    src, dst = edges
    leaves = np.zeros(n, dtype=bool)
    leaves[src[member[src] & (~member[dst] | (group[src] != group[dst]))]] = True
    key = np.where(leaves, n, 0) + np.arange(n, dtype=np.int64)  # leaving first, then last
    best = np.full(n_new, -1, dtype=np.int64)
    np.maximum.at(best, new_index[rep[member]], key[member])
    return np.where(best >= n, best - n, best)


def carry(
    w: Work, kept: np.ndarray, rep: np.ndarray, new_index: np.ndarray, edges: np.ndarray
) -> Work:
    """Every per-node field of ``w`` for the nodes ``kept`` (old ids, in order): a
    kept node keeps its own op, takes its group's attributes, sums its group's FLOPs and
    parameters and takes its output member's shape. ``rep`` maps each old node to the
    old node that stands for it (or DROP/PRUNE), ``new_index`` each old node to its new
    id (-1 when not kept); ``edges`` are the old graph's, dropped nodes bridged."""
    n_new = int(kept.shape[0])
    member = rep >= 0
    # NaN in a group stays NaN: the group's cost is unknown
    flops = np.bincount(new_index[rep[member]], weights=w.flops[member], minlength=n_new)
    params = np.zeros(n_new, dtype=np.int64)
    np.add.at(params, new_index[rep[member]], _params_onwards(w, ~member)[member])
    shapes = w.shapes[_output_members(w.num_nodes, rep, new_index, n_new, edges)]
    # a group carries the attributes its members carry (conv+bn stands on the batch
    # norm, the convolution holds the kernel); no rule folds two attributed operators
    attrs = np.zeros(n_new, dtype=np.int32)
    np.maximum.at(attrs, new_index[rep[member]], w.attrs[member])
    now = np.where(member, new_index[np.maximum(rep, 0)], -1)
    origin = np.where(w.origin >= 0, now[np.maximum(w.origin, 0)], -1)
    return Work(
        ops=np.ascontiguousarray(w.ops[kept]),
        op_names=w.op_names,
        edges=np.zeros((2, 0), dtype=np.int64),
        flops=flops.astype(np.float64),
        attrs=attrs,
        shapes=np.ascontiguousarray(shapes, dtype=np.int32),
        params=params,
        part=w.part[kept],
        origin=origin,
    )


def apply(w: Work, fate: np.ndarray) -> Work:
    """The graph after each node met its ``fate`` (see the module docstring)."""
    n = w.num_nodes
    fate = np.asarray(fate, dtype=np.int64)
    src, dst = w.edges
    live = (fate[src] != PRUNE) & (fate[dst] != PRUNE)
    edges = _bridge(n, w.edges[:, live], fate == DROP)
    rep = fate.copy()
    kept = np.flatnonzero(rep == np.arange(n))
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[kept] = np.arange(kept.shape[0])
    out = carry(w, kept, rep, new_index, edges)
    s, d = new_index[rep[edges[0]]], new_index[rep[edges[1]]]
    inside = s != d  # edges within a folded group vanish
    key = unique(s[inside] * max(kept.shape[0], 1) + d[inside])
    out.edges = np.stack([key // max(kept.shape[0], 1), key % max(kept.shape[0], 1)])
    return out
