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
4. **siblings**: parts of one tensor (``slice``, ``select``, ``split`` reading it and
   nothing else) become one ``split``;
5. **fold** spelled-out operators into one node (:data:`~.folds.FOLDS`):
   conv+batch norm, attention, linear, GELU, SiLU, hardswish, RMS and layer norm.

A folded node sums its members' FLOPs and parameters, keeps the op of the rule,
outputs its output member's shape (:mod:`.rewrite`), and its name is its members'
names joined (``" + "``), followed by the ops it was made from in brackets. Rules 5
and 6 (and rule 4 after them) repeat until they change nothing, so the pass is
idempotent; it is O(N + E) per pass in numpy (plus one reachability pass in the Rust core): no
Python loop over nodes; names of folded nodes are joined one folded group at a time,
and only when the graphs have names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
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
    PARTS,
    RENAMES,
    SHAPE_READERS,
    TRIANGLES,
)

__all__ = ["LAYOUT_MODES", "normalize", "normalize_many", "normalizer_id"]

LAYOUT_MODES = ("drop", "collapse")


@dataclass
class _Batch:
    """The graphs of one call as a disjoint union, in one global op vocabulary."""

    graphs: list[OpGraph]
    vocab: list[str]  # the original op names of every graph, first appearance order
    ops: np.ndarray  # int32 [N0] into vocab
    offsets: np.ndarray  # int64 [G + 1]
    attr_vocab: list[str]  # every graph's attribute strings, "" (none) first
    attrs: np.ndarray  # int32 [N0] into attr_vocab
    shape_vocab: list[str]  # every graph's shape strings, "" (unknown) first
    shapes: np.ndarray  # int32 [N0] into shape_vocab

    @classmethod
    def of(cls, graphs: list[OpGraph]) -> _Batch:
        vocab = list(dict.fromkeys(n for g in graphs for n in g.op_names))
        index = {n: i for i, n in enumerate(vocab)}
        ops = [np.array([index[n] for n in g.op_names], dtype=np.int32)[g.ops] for g in graphs]
        sizes = [g.num_nodes for g in graphs]
        offsets = np.zeros(len(graphs) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        flat = np.concatenate(ops) if ops else np.zeros(0, dtype=np.int32)
        attr_vocab, flat_attrs = _table(graphs, lambda g: (g.attrs, g.attr_names))
        shape_vocab, shapes = _table(graphs, lambda g: (g.node_shapes, g.shape_names))
        return cls(graphs, vocab, flat.astype(np.int32), offsets, attr_vocab, flat_attrs,
                   shape_vocab, shapes)  # fmt: skip

    def work(self) -> Work:
        """Step 1, renamed into the canonical vocabulary."""
        names = [RENAMES.get(n, n) for n in self.vocab]
        vocab = list(dict.fromkeys(names))
        remap = np.array([vocab.index(n) for n in names], dtype=np.int32)
        n = int(self.offsets[-1])
        edges = [g.edges + off for g, off in zip(self.graphs, self.offsets.tolist(), strict=False)]
        flops = [np.full(g.num_nodes, np.nan) if g.node_flops is None else g.node_flops
                 for g in self.graphs]  # fmt: skip
        params = [np.zeros(g.num_nodes, np.int64) if g.node_params is None else g.node_params
                  for g in self.graphs]  # fmt: skip
        return Work(
            ops=remap[self.ops] if n else np.zeros(0, dtype=np.int32),
            op_names=vocab,
            edges=np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), dtype=np.int64),
            flops=np.concatenate(flops) if flops else np.zeros(0),
            attrs=self.attrs.astype(np.int32),
            shapes=self.shapes,
            params=np.concatenate(params) if params else np.zeros(0, dtype=np.int64),
            part=np.repeat(np.arange(len(self.graphs)), np.diff(self.offsets)),
            origin=np.arange(n, dtype=np.int64),
        )


def _table(
    graphs: list[OpGraph], field: Callable[[OpGraph], tuple[np.ndarray | None, tuple[str, ...]]]
) -> tuple[list[str], np.ndarray]:
    """One string table for the batch (``""`` first) and every node's id in it, from
    each graph's ``(ids, table)`` (``field``); a graph without one is all ``""``."""
    vocab = list(dict.fromkeys(["", *(a for g in graphs for a in field(g)[1])]))
    where = {a: i for i, a in enumerate(vocab)}
    ids = []
    for g in graphs:
        own, table = field(g)
        ids.append(np.zeros(g.num_nodes, dtype=np.int32) if own is None
                   else np.array([where[a] for a in table], dtype=np.int32)[own])  # fmt: skip
    return vocab, np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)


def _prune(w: Work) -> Work:
    n = w.num_nodes
    has_input = np.zeros(int(w.part.max(initial=-1)) + 1, dtype=bool)
    has_input[w.part[w.has({INPUT})]] = True
    readers = w.has(SHAPE_READERS)
    seeds = w.has({INPUT, CAUSAL_MASK})  # a marker stands for data: the pass is idempotent
    # graphs without an input (hand-made, NAS cells) are not pruned
    data = _core.reach_forward(n, w.edges, seeds, readers) & ~readers | ~has_input[w.part]
    if data.all():
        return w
    # a causal mask compares two index tensors (or takes a triangle); a comparison
    # with a constant (a padding bound, a relative-position bucket) is not one
    src, dst = w.edges
    indeg = np.bincount(dst[~data[src]], minlength=n)
    causal_op = w.has(TRIANGLES) | (w.has(CAUSAL_OPS) & (indeg == 2))
    causal = _core.reach_forward(n, w.edges, ~data & causal_op, data) & ~data
    # attention scores filled where a constant mask says (a `tril` buffer sliced and
    # compared, minGPT's `masked_fill(bias == 0, -inf)`): the buffer's values are no
    # node, but only a causal mask is a constant that hides scores before a softmax
    causal |= ~data & np.isin(np.arange(n), src[~data[src] & _filled_scores(w, data)[dst]])
    fed = np.unique(dst[causal[src] & data[dst]])
    fate = np.where(data, np.arange(n), PRUNE)
    if fed.size:  # one marker per node the mask feeds, standing where the mask was
        m = fed.size
        w = Work(
            ops=np.concatenate([w.ops, np.full(m, w.op_id(CAUSAL_MASK), dtype=np.int32)]),
            op_names=w.op_names,
            edges=np.concatenate([w.edges, np.stack([n + np.arange(m), fed])], axis=1),
            flops=np.concatenate([w.flops, np.zeros(m)]),
            attrs=np.concatenate([w.attrs, np.zeros(m, dtype=np.int32)]),
            shapes=np.concatenate([w.shapes, np.zeros(m, dtype=np.int32)]),
            params=np.concatenate([w.params, np.zeros(m, dtype=np.int64)]),
            part=np.concatenate([w.part, w.part[fed]]),
            origin=w.origin,
        )
        fate = np.concatenate([fate, n + np.arange(m)])
    return apply(w, fate)


def _filled_scores(w: Work, data: np.ndarray) -> np.ndarray:
    """bool [N]: ``masked_fill`` nodes of the data read by a ``softmax`` (directly or
    through layout operators, still present at this step)."""
    src, dst = w.edges
    fill = data & w.has({"masked_fill"})
    reach = w.has({"softmax"})
    lay = w.has(LAYOUT_OPS)
    for _ in range(4):  # a few layout operators at most lie between them
        reach = reach | (np.bincount(src[reach[dst] & lay[src]], minlength=w.num_nodes) > 0)
    return fill & (np.bincount(src[reach[dst]], minlength=w.num_nodes) > 0)


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


def _siblings(w: Work) -> Work:
    """Parts of one tensor (slices, selects, splits with no other input) are one
    ``split``: the first of them (by node order) stands for them all. Repeated until
    nothing merges (``x[:, ::2, ::2]`` slices parts of parts)."""
    while True:
        n = w.num_nodes
        w = _siblings_once(w)
        if w.num_nodes == n:
            return w


def _siblings_once(w: Work) -> Work:
    n = w.num_nodes
    src, dst = w.edges
    indeg = np.bincount(dst, minlength=n)
    part = w.has(PARTS) & (indeg == 1)
    into = part[dst]
    pred = np.full(n, -1, dtype=np.int64)
    pred[dst[into]] = src[into]
    nodes = np.flatnonzero(part)
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, pred[nodes], nodes)
    many = np.bincount(pred[nodes], minlength=n) > 1
    nodes = nodes[many[pred[nodes]]]
    if not nodes.size:
        return w
    fate = np.arange(n, dtype=np.int64)
    fate[nodes] = first[pred[nodes]]
    ops = w.ops.copy()
    ops[fate[nodes]] = w.op_id("split")
    w.ops = ops
    return apply(w, fate)


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


def _rescales(w: Work) -> Work:
    """A ``div`` with one input (by a constant: ``(a + b) / 2``, ``x / sqrt(d)``) left
    after the folds rescales, it does not compute a design: dropped. A ``mul`` with one
    input stays (its factor may be learnt: a layer scale), unless only attentions read
    it: a factor on an attention's query or key is its scale (Whisper, BART and OPT scale
    the query by ``head_dim ** -0.5`` before ``scaled_dot_product_attention``, which
    scales by itself when called without; rule 5b folds the same scale of a spelled-out
    attention), and one on its values scales its output."""
    while True:  # a chain of factors (x * a * b, x * a / b) goes one node a pass
        n = w.num_nodes
        src, dst = w.edges
        one_input = np.bincount(dst, minlength=n) == 1
        attention = w.has({"scaled_dot_product_attention"})
        feeds_other = np.bincount(src[~attention[dst]], minlength=n) > 0
        feeds = np.bincount(src, minlength=n) > 0
        drop = (w.has({"div"}) & one_input) | (w.has({"mul"}) & one_input & feeds & ~feeds_other)
        if not drop.any():
            return w
        fate = np.arange(n, dtype=np.int64)
        fate[drop] = DROP
        w = apply(w, fate)


def _fused_projections(w: Work) -> Work:
    """Weight products reading one tensor (``q``/``k``/``v`` projections, an MLP's gate
    and up) are one ``linear`` and a ``split`` that each reader reads, as a fused
    projection (GPT-2's ``c_attn``, ``nn.MultiheadAttention``'s ``in_proj``) traces."""
    n = w.num_nodes
    src, dst = w.edges
    indeg = np.bincount(dst, minlength=n)
    lin = w.has({"linear"}) & (indeg == 1)
    pred = np.full(n, -1, dtype=np.int64)
    pred[dst[lin[dst]]] = src[lin[dst]]
    nodes = np.flatnonzero(lin)
    many = np.bincount(pred[nodes], minlength=n) > 1
    nodes = nodes[many[pred[nodes]]]
    if not nodes.size:
        return w
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, pred[nodes], nodes)
    heads = np.unique(first[pred[nodes]])  # the linear that stands for each group
    splits = n + np.arange(heads.size)  # one new split per group, after its linear
    split_of = np.full(n, -1, dtype=np.int64)
    split_of[nodes] = splits[np.searchsorted(heads, first[pred[nodes]])]
    out = split_of[src] >= 0  # what a member fed, its group's split feeds
    edges = np.concatenate(
        [
            np.stack([np.where(out, split_of[src], src), dst]),
            np.stack([heads, splits]),
        ],
        axis=1,
    )
    fate = np.concatenate([np.arange(n, dtype=np.int64), splits])
    fate[nodes] = first[pred[nodes]]
    w = Work(
        ops=np.concatenate([w.ops, np.full(heads.size, w.op_id("split"), dtype=np.int32)]),
        op_names=w.op_names,
        edges=edges,
        flops=np.concatenate([w.flops, np.zeros(heads.size)]),
        attrs=np.concatenate([w.attrs, np.zeros(heads.size, dtype=np.int32)]),
        # each part of the fused output is what one projection gave
        shapes=np.concatenate([w.shapes, w.shapes[heads]]),
        params=np.concatenate([w.params, np.zeros(heads.size, dtype=np.int64)]),
        part=np.concatenate([w.part, w.part[heads]]),
        origin=w.origin,
    )
    return apply(w, fate)


def _names(batch: _Batch, w: Work) -> np.ndarray:
    """Each node's name; a folded node's members' names joined, then the ops it was
    made from (``"h.0.mlp.act (mul,pow,mul,add,mul,tanh,add,mul)"``)."""
    n = w.num_nodes
    names = np.array(w.op_names, dtype=object)[w.ops]  # a marker is named by its op
    original = np.empty(int(batch.offsets[-1]), dtype=object)
    for g, lo in zip(batch.graphs, batch.offsets.tolist(), strict=False):
        if g.node_names is not None:
            original[lo : lo + g.num_nodes] = g.node_names
    alive = w.origin >= 0
    members = np.bincount(w.origin[alive], minlength=n)
    single = np.flatnonzero(alive)[members[w.origin[alive]] == 1]
    names[w.origin[single]] = original[single]
    multi = np.flatnonzero(alive & (members[np.maximum(w.origin, 0)] > 1))
    if multi.size:
        order = multi[np.argsort(w.origin[multi], kind="stable")]
        bounds = np.flatnonzero(np.diff(w.origin[order])) + 1
        vocab = batch.vocab
        for group in np.split(order, bounds):  # one step per folded group, not per node
            own = " + ".join(dict.fromkeys(str(x) for x in original[group].tolist()))
            made_of = ",".join(vocab[i] for i in batch.ops[group].tolist())
            names[w.origin[group[0]]] = f"{own} ({made_of})"
    return names


# Passes of rules 5, 6 and 4 again at most: a pass can make what the next one folds or
# fuses (rule 6b fuses low-rank projections level by level: the first level's split is
# what both projections of the second read), so they run until they change nothing,
# which makes the pass idempotent. The zoo's raw traces settle after 2 passes (3 of
# 1,820 graphs need the second); the bound only guards against a rule set that would
# not settle.
MAX_PASSES = 8


def _same(a: Work, b: Work) -> bool:
    return (
        a.ops.shape == b.ops.shape
        and a.edges.shape == b.edges.shape
        and bool((a.ops == b.ops).all() and (a.edges == b.edges).all())
    )


@lru_cache(maxsize=1)
def normalizer_id() -> str | None:
    """Names this normalisation pass: a digest of its code (every ``.py`` file of this
    package), so any change to a rule or a table gives another id. A corpus written
    normalised records it (``meta["normalizer"]``), and :func:`archmotif.datasets.load`
    skips normalising a file that this very pass wrote, which the pass being
    idempotent makes safe. ``None`` when the code cannot be read (then every load
    normalises)."""
    h = hashlib.sha256()
    try:
        for f in sorted(Path(__file__).parent.glob("*.py")):
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    except OSError:
        return None
    return h.hexdigest()[:16]


def _check(layout: str) -> None:
    if layout not in LAYOUT_MODES:
        raise InvalidArgument(f"layout must be one of {LAYOUT_MODES}, got {layout!r}")


def normalize_many(
    graphs: Iterable[OpGraph], *, layout: Literal["drop", "collapse"] = "drop"
) -> list[OpGraph]:
    """Every graph of ``graphs`` normalised, in one pass over their union (what a
    corpus loader calls: a few numpy calls per rule, however many graphs)."""
    _check(layout)
    graphs = list(graphs)
    for g in graphs:
        if not isinstance(g, OpGraph):
            raise TypeError(f"normalize expects OpGraphs, got {type(g).__name__}")
    if not graphs:
        return []
    batch = _Batch.of(graphs)
    w = _siblings(_drop(_prune(batch.work()), layout))
    for _ in range(MAX_PASSES):
        w = _fold(w)
        # a fused projection's split is one tensor's parts: parts read of it join it
        after = _siblings(_fused_projections(_rescales(w)))
        if _same(w, after):  # nothing new for the folds to find
            break
        w = after
    named = any(g.node_names is not None for g in graphs)
    names = _names(batch, w) if named else None
    order = np.argsort(w.part, kind="stable")  # markers go after their graph's nodes
    local = np.empty(w.num_nodes, dtype=np.int64)
    sizes = np.bincount(w.part, minlength=len(graphs))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    local[order] = np.arange(w.num_nodes) - np.repeat(starts[:-1], sizes)
    by_part = np.argsort(w.part[w.edges[0]], kind="stable")
    edges = w.edges[:, by_part]
    edge_starts = np.searchsorted(w.part[edges[0]], np.arange(len(graphs) + 1))
    # one vocabulary for the batch, the ops it uses (graphs that shared one still do)
    used = np.unique(w.ops)
    remap = np.zeros(len(w.op_names), dtype=np.int32)
    remap[used] = np.arange(used.size, dtype=np.int32)
    vocab = [w.op_names[j] for j in used.tolist()]
    out = []
    for i, g in enumerate(graphs):  # one step per graph, not per node
        nodes = order[starts[i] : starts[i + 1]]
        out.append(
            OpGraph(
                remap[w.ops[nodes]],
                local[edges[:, edge_starts[i] : edge_starts[i + 1]]],
                op_names=vocab,
                name=g.name,
                labels=g.labels,
                node_names=None if names is None or g.node_names is None else names[nodes].tolist(),
                node_flops=None if g.node_flops is None else w.flops[nodes],
                attrs=None if g.attrs is None else w.attrs[nodes],
                attr_names=None if g.attrs is None else batch.attr_vocab,
                node_shapes=None if g.node_shapes is None else w.shapes[nodes],
                shape_names=None if g.node_shapes is None else batch.shape_vocab,
                node_params=None if g.node_params is None else w.params[nodes],
            )
        )
    return out


def normalize(graph: OpGraph, *, layout: Literal["drop", "collapse"] = "drop") -> OpGraph:
    """``graph`` in the normalised vocabulary (see the module docstring). Name and
    labels are kept (``flops`` and ``params`` describe the model, not the graph)."""
    if not isinstance(graph, OpGraph):
        raise TypeError(f"normalize expects an OpGraph, got {type(graph).__name__}")
    return normalize_many([graph], layout=layout)[0]
