"""Operator normalisation: equivalent spellings of one design meet before mining.

``normalize(graph)`` rewrites an :class:`~archmotif.OpGraph` traced by either front
end (``trace``, ``from_onnx``) into one operator vocabulary, as compilers
canonicalise IR before matching patterns. In order (docs/normalisation.md tables
every rule with its test):

1. **rename** (:data:`~.vocabulary.RENAMES`): ONNX op types and torch synonyms
   to torch's names (``Conv`` -> ``convolution``, ``Clip`` -> ``hardtanh``);
2. **prune** what is computed only from shapes and constants: nodes not reached
   from an ``input`` (``Shape`` passes on nothing), with their edges. Where such
   a subgraph holds a causal comparison (``tril``, ``le`` ...) and feeds the
   model's data, each node it feeds gets one ``causal_mask`` marker instead.
   Graphs without ``input`` nodes are not pruned;
3. **drop** operators that compute nothing at inference (``dropout``,
   ``contiguous``, casts ...) and layout operators (``view`` ... ``permute``),
   wiring their readers to their input (``layout="collapse"`` keeps each chain of
   layout operators as one ``layout`` node instead);
4. **fold** spelled-out operators into one node (:data:`~.folds.FOLDS`):
   conv+batch norm, attention, linear, GELU, SiLU, hardswish, RMS and layer norm.

A folded node sums its members' FLOPs, keeps the op of the rule, and its name is
its members' names joined (``" + "``), followed by the ops it was made from in
brackets. The pass is idempotent and O(N + E) in numpy (plus one reachability
pass in the Rust core); it never loops in Python over nodes.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from archmotif import _core
from archmotif.errors import InvalidArgument
from archmotif.graph import OpGraph
from archmotif.normalize.folds import FOLDS
from archmotif.normalize.patterns import match
from archmotif.normalize.rewrite import DROP, PRUNE, Work, apply
from archmotif.normalize.vocabulary import (
    CAUSAL_MASK,
    CAUSAL_OPS,
    INPUT,
    LAYOUT,
    LAYOUT_OPS,
    NO_OPS,
    RENAMES,
    SHAPE_READERS,
)

__all__ = ["LAYOUT_MODES", "normalize"]

LAYOUT_MODES = ("drop", "collapse")


def _rename(g: OpGraph) -> Work:
    names = [RENAMES.get(n, n) for n in g.op_names]
    vocab = list(dict.fromkeys(names))
    remap = np.array([vocab.index(n) for n in names], dtype=np.int32)
    ops = remap[g.ops] if g.num_nodes else g.ops.copy()
    flops = None if g.node_flops is None else g.node_flops.copy()
    origin = np.arange(g.num_nodes, dtype=np.int64)
    return Work(ops.astype(np.int32), vocab, g.edges.copy(), flops, origin)


def _prune(w: Work) -> Work:
    inputs = w.has({INPUT})
    if not inputs.any():
        return w
    n = w.num_nodes
    readers = w.has(SHAPE_READERS)
    data = _core.reach_forward(n, w.edges, inputs, readers) & ~readers
    if data.all():
        return w
    # which pruned nodes carry a causal mask, and which data nodes they feed
    causal = _core.reach_forward(n, w.edges, ~data & w.has(CAUSAL_OPS), data) & ~data
    src, dst = w.edges
    fed = np.unique(dst[causal[src] & data[dst]])
    fate = np.where(data, np.arange(n), PRUNE)
    if fed.size:  # one marker per node the mask feeds, standing where the mask was
        m = fed.size
        w = Work(
            ops=np.concatenate([w.ops, np.full(m, w.op_id(CAUSAL_MASK), dtype=np.int32)]),
            op_names=w.op_names,
            edges=np.concatenate([w.edges, np.stack([n + np.arange(m), fed])], axis=1),
            flops=None if w.flops is None else np.concatenate([w.flops, np.zeros(m)]),
            origin=w.origin,
        )
        fate = np.concatenate([fate, n + np.arange(m)])
    return apply(w, fate)


def _drop(w: Work, layout: str) -> Work:
    n = w.num_nodes
    fate = np.arange(n, dtype=np.int64)
    fate[w.has(NO_OPS)] = DROP
    lay = w.has(LAYOUT_OPS)
    if layout == "drop":
        fate[lay] = DROP
        return apply(w, fate)
    w = apply(w, fate)  # no-ops first, so chains of layout operators touch
    lay = w.has(LAYOUT_OPS)
    n = w.num_nodes
    src, dst = w.edges
    indeg, outdeg = np.bincount(dst, minlength=n), np.bincount(src, minlength=n)
    # a layout node read only by a layout node with no other input joins it
    head = np.arange(n, dtype=np.int64)
    link = lay[src] & lay[dst] & (outdeg[src] == 1) & (indeg[dst] == 1)
    head[dst[link]] = src[link]
    while not np.array_equal(head[head], head):
        head = head[head]
    ops = w.ops.copy()
    ops[lay] = w.op_id(LAYOUT)
    w.ops = ops
    # the chain's last node (the one that links to no layout node) stands for it
    tail = np.zeros(n, dtype=np.int64)
    ends = np.flatnonzero(lay & (np.bincount(src[link], minlength=n) == 0))
    tail[head[ends]] = ends
    last = np.where(lay, tail[head], np.arange(n, dtype=np.int64))
    return apply(w, last)


def _fold(w: Work) -> Work:
    for p in FOLDS:
        rows = match(w, p)
        if not rows.shape[0]:
            continue
        root = [m for m, _ in p.members].index(p.root)
        fate = np.arange(w.num_nodes, dtype=np.int64)
        fate[rows.ravel()] = np.repeat(rows[:, root], rows.shape[1])
        ops = w.ops.copy()
        ops[rows[:, root]] = w.op_id(p.result)
        w.ops = ops
        w = apply(w, fate)
    return w


def _names(g: OpGraph, w: Work) -> tuple[str, ...] | None:
    """Each node's name; a folded node's members' names joined, then the ops it was
    made from (``"h.0.mlp.act (mul,pow,mul,add,mul,tanh,add,mul)"``)."""
    if g.node_names is None:
        return None
    n = w.num_nodes
    names = np.array(w.op_names, dtype=object)[w.ops]  # a marker is named by its op
    alive = w.origin >= 0
    members = np.bincount(w.origin[alive], minlength=n)
    single = np.flatnonzero(alive)[members[w.origin[alive]] == 1]
    original = np.array(g.node_names, dtype=object)
    names[w.origin[single]] = original[single]
    multi = np.flatnonzero(alive & (members[np.maximum(w.origin, 0)] > 1))
    if multi.size:
        order = multi[np.argsort(w.origin[multi], kind="stable")]
        bounds = np.flatnonzero(np.diff(w.origin[order])) + 1
        ops = g.op_names
        for group in np.split(order, bounds):  # one step per folded group, not per node
            own = " + ".join(dict.fromkeys(original[group].tolist()))
            made_of = ",".join(ops[i] for i in g.ops[group].tolist())
            names[w.origin[group[0]]] = f"{own} ({made_of})"
    return tuple(names.tolist())


def normalize(
    graph: OpGraph, *, layout: Literal["drop", "collapse"] = "drop"
) -> OpGraph:
    """``graph`` in the normalised vocabulary (see the module docstring). Name and
    labels are kept (``flops`` and ``params`` describe the model, not the graph)."""
    if not isinstance(graph, OpGraph):
        raise TypeError(f"normalize expects an OpGraph, got {type(graph).__name__}")
    if layout not in LAYOUT_MODES:
        raise InvalidArgument(f"layout must be one of {LAYOUT_MODES}, got {layout!r}")
    w = _fold(_drop(_prune(_rename(graph)), layout))
    used = np.unique(w.ops)
    remap = np.full(len(w.op_names), -1, dtype=np.int32)
    remap[used] = np.arange(used.size, dtype=np.int32)
    return OpGraph(
        remap[w.ops],
        w.edges,
        op_names=[w.op_names[i] for i in used.tolist()],
        name=graph.name,
        labels=graph.labels,
        node_names=_names(graph, w),
        node_flops=w.flops,
    )
