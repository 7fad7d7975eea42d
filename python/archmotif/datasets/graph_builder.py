"""Building operator graphs from published architecture rules, with their costs,
without torch.

The NAS datasets (:mod:`.darts`, :mod:`.nasbench201`) write their networks layer by
layer with a :class:`GraphBuilder`, in the same normalised op vocabulary that traced
PyTorch models use (:mod:`archmotif.frontends.ops`), so a generated DARTS cell and a
traced ResNet share ``convolution``, ``batch_norm``, ``relu`` and ``add`` nodes, and
with the same attribute strings (:func:`archmotif.attributes.attribute_string`), so a
generated 3x3 convolution is the traced one in the ``"attrs"`` view too.

**Costs.** The builder knows every node's output shape (one image: batch 1, float32)
and charges each layer what :mod:`archmotif.frontends.costs` charges its traced
operator: FLOPs = 2 x multiply-accumulates, counted for convolutions and ``linear``
only; parameters of convolutions (no bias), batch norms (weight and bias) and
``linear`` (weight and bias); and, from the output sizes, the peak activation memory
of one forward pass (:func:`peak_memory`). Nodes are numbered in the order the
re-implemented forward runs them, because peak memory depends on that order; the
tests trace those re-implementations and compare every figure.
:func:`opgraphs_from_parts` turns many generated graphs into :class:`OpGraph`
objects with one parallel validation call into the Rust core instead of one call
per graph, which is what makes 15,625 networks cheap.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from archmotif import _core
from archmotif.attributes import attribute_string, group_kind
from archmotif.errors import GraphError
from archmotif.graph import OpGraph

__all__ = ["GraphBuilder", "cost_labels", "opgraphs_from_parts", "peak_memory"]

#: bytes of one float32 element
_ELEMENT = 4

Shape = tuple[int, ...]  # one image's tensor: (C, H, W), or (features,) once flattened


# one string per distinct layer, not per node: a DARTS network repeats a few dozen
_attribute_string = functools.cache(attribute_string)


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def peak_memory(
    nbytes: Sequence[int] | np.ndarray,
    edges: np.ndarray,
    owner: Sequence[int] | np.ndarray | None = None,
    inputs: Sequence[int] = (0,),
) -> int:
    """Peak bytes of activations alive at once when the nodes run in index order, by
    :func:`archmotif.frontends.costs.program_costs`'s rule: ``inputs`` (node ids) are
    alive from the start; every other node allocates ``nbytes[i]`` when it runs and
    frees it after its last reader has run; sinks are outputs and stay alive. A node
    whose ``owner`` is another node (a view: ``view``, ``slice``) allocates nothing
    and keeps its owner alive instead."""
    b = np.asarray(nbytes, dtype=np.int64)
    n = len(b)
    if n == 0:
        return 0
    own = np.arange(n) if owner is None else np.asarray(owner, dtype=np.int64)
    src, dst = np.asarray(edges, dtype=np.int64).reshape(2, -1)
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, own[src], dst)
    is_output = np.ones(n, dtype=bool)
    is_output[src] = False
    kept = np.zeros(n, dtype=bool)
    kept[own[is_output]] = True
    freed = (last >= 0) & ~kept & (own == np.arange(n))
    free_at = np.zeros(n, dtype=np.int64)
    np.add.at(free_at, last[freed], b[freed])
    alloc = np.where(own == np.arange(n), b, 0)
    base = int(alloc[list(inputs)].sum())
    alloc[list(inputs)] = 0
    # alive right after node i allocated: what ran before, less what was freed before
    freed_before = np.concatenate([[0], np.cumsum(free_at)[:-1]])
    alive = base + np.cumsum(alloc) - freed_before
    return max(base, int(alive.max()))


def cost_labels(params: int, flops: float, memory: int) -> dict[str, str]:
    """The graph labels ``trace`` writes for these totals."""
    return {"params": str(int(params)), "flops": str(int(flops)), "memory": str(int(memory))}


class GraphBuilder:
    """Appends layers one at a time; every node names its input nodes and gets its
    output shape and costs (module docstring).

    Node ids are assigned in insertion order, so a builder that adds inputs
    before their consumers produces a topologically ordered graph.
    """

    __slots__ = (
        "_attr_index", "_attrs", "_bytes", "_dst", "_flops", "_index", "_ops", "_owner",
        "_shapes", "_src", "op_names", "params",
    )  # fmt: skip

    def __init__(self, op_names: Sequence[str]) -> None:
        self.op_names = tuple(op_names)
        self._index = {n: i for i, n in enumerate(self.op_names)}
        self._attr_index: dict[str, int] = {"": 0}
        self._attrs: list[int] = []
        self._ops: list[int] = []
        self._src: list[int] = []
        self._dst: list[int] = []
        self._shapes: list[Shape] = []
        self._flops: list[float] = []
        self._bytes: list[int] = []
        self._owner: list[int] = []
        self.params = 0

    @property
    def num_nodes(self) -> int:
        return len(self._ops)

    def shape(self, x: int) -> Shape:
        """Node ``x``'s output shape (one image)."""
        return self._shapes[x]

    def add(
        self,
        op: str,
        *inputs: int,
        shape: Shape,
        attrs: str = "",
        flops: float = 0.0,
        params: int = 0,
        view: bool = False,
    ) -> int:
        """Adds one ``op`` node reading ``inputs`` whose output has ``shape``, with
        attribute string ``attrs``, costing ``flops`` and ``params``; a ``view`` shares
        its first input's storage. Returns its id."""
        try:
            code = self._index[op]
        except KeyError:
            raise GraphError(f"op {op!r} is not in this builder's vocabulary") from None
        node = len(self._ops)
        self._ops.append(code)
        self._attrs.append(self._attr_index.setdefault(attrs, len(self._attr_index)))
        for i in inputs:
            self._src.append(i)
            self._dst.append(node)
        self._shapes.append(shape)
        self._flops.append(float(flops))
        self._bytes.append(0 if view else math.prod(shape) * _ELEMENT)
        self._owner.append(self._owner[inputs[0]] if view else node)
        self.params += int(params)
        return node

    # -- layers, as their traced operators ----------------------------------------

    def input(self, shape: Shape) -> int:
        return self.add("input", shape=shape)

    def conv(
        self,
        x: int,
        c_out: int,
        kernel: int | tuple[int, int],
        *,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | None = None,
        dilation: int = 1,
        groups: int = 1,
    ) -> int:
        """``nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation, groups,
        bias=False)``; ``padding`` defaults to what keeps the size at stride 1."""
        c_in, h, w = self._shapes[x]
        k, s = _pair(kernel), _pair(stride)
        p = _pair(padding) if padding is not None else tuple(dilation * (a - 1) // 2 for a in k)
        h_out, w_out = (
            (n + 2 * pi - dilation * (ki - 1) - 1) // si + 1
            for n, pi, ki, si in zip((h, w), p, k, s, strict=True)
        )
        weights = c_out * (c_in // groups) * k[0] * k[1]
        attrs = _attribute_string(
            kernel, stride=stride, dilation=dilation, groups=group_kind(groups, c_in // groups)
        )
        return self.add(
            "convolution", x, shape=(c_out, h_out, w_out), attrs=attrs,
            flops=2 * weights * h_out * w_out, params=weights,
        )  # fmt: skip

    def batch_norm(self, x: int) -> int:
        return self.add("batch_norm", x, shape=self._shapes[x], params=2 * self._shapes[x][0])

    def unary(self, op: str, x: int) -> int:
        """An operator that keeps its input's shape and costs nothing (``relu``,
        ``zeros_like``)."""
        return self.add(op, x, shape=self._shapes[x])

    def pool(
        self, op: str, x: int, kernel: int, *, stride: int | None = None, padding: int = 0
    ) -> int:
        """``max_pool2d`` / ``avg_pool2d`` (``stride`` defaults to ``kernel``, as in
        PyTorch's pooling modules); pooling counts no FLOPs."""
        c, h, w = self._shapes[x]
        s = kernel if stride is None else stride
        h_out, w_out = ((n + 2 * padding - kernel) // s + 1 for n in (h, w))
        attrs = _attribute_string(kernel, stride=s)
        return self.add(op, x, shape=(c, h_out, w_out), attrs=attrs)

    def global_pool(self, x: int) -> int:
        """``adaptive_avg_pool2d`` to 1x1."""
        return self.add("adaptive_avg_pool2d", x, shape=(self._shapes[x][0], 1, 1))

    def flatten(self, x: int) -> int:
        """``view(batch, -1)``: a view, no allocation."""
        return self.add("view", x, shape=(math.prod(self._shapes[x]),), view=True)

    def crop(self, x: int) -> int:
        """``x[:, :, 1:, 1:]``: two ``slice`` views."""
        c, h, w = self._shapes[x]
        rows = self.add("slice", x, shape=(c, h - 1, w), view=True)
        return self.add("slice", rows, shape=(c, h - 1, w - 1), view=True)

    def linear(self, x: int, n: int) -> int:
        (k,) = self._shapes[x]
        return self.add("linear", x, shape=(n,), flops=2 * k * n, params=k * n + n)

    def add_tensors(self, *xs: int) -> int:
        """``a + b``: one ``add`` node (reading a tensor twice is one edge)."""
        return self.add("add", *xs, shape=self._shapes[xs[0]])

    def cat(self, *xs: int) -> int:
        """``torch.cat(xs, dim=1)``."""
        _, h, w = self._shapes[xs[0]]
        return self.add("cat", *xs, shape=(sum(self._shapes[x][0] for x in xs), h, w))

    # -- results ---------------------------------------------------------------------

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ops int32 [N], edges int64 [2, E])`` of what was added so far."""
        ops = np.asarray(self._ops, dtype=np.int32)
        edges = np.asarray([self._src, self._dst], dtype=np.int64).reshape(2, -1)
        return ops, edges

    def attrs(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """``(attribute ids int32 [N], attribute strings)``."""
        return np.asarray(self._attrs, dtype=np.int32), tuple(self._attr_index)

    def node_flops(self) -> np.ndarray:
        return np.asarray(self._flops, dtype=np.float64)

    def peak_memory(self, inputs: Sequence[int] = (0,)) -> int:
        """Peak activation bytes of what was added so far (:func:`peak_memory`)."""
        return peak_memory(self._bytes, self.arrays()[1], self._owner, inputs)

    def build(self, name: str, labels: Mapping[str, str]) -> OpGraph:
        """The graph, with ``node_flops`` and the ``params``, ``flops`` and ``memory``
        labels (``labels`` are added after them)."""
        ops, edges = self.arrays()
        attrs, attr_names = self.attrs()
        flops = self.node_flops()
        costs = cost_labels(self.params, flops.sum(), self.peak_memory())
        return OpGraph(
            ops, edges, op_names=self.op_names, name=name, labels={**costs, **labels},
            node_flops=flops, attrs=attrs, attr_names=attr_names,
        )  # fmt: skip


def opgraphs_from_parts(
    parts: Sequence[tuple[np.ndarray, ...]],
    op_names: Sequence[str],
    names: Sequence[str],
    labels: Sequence[dict[str, str]],
    attr_names: Sequence[str] | None = None,
    node_flops: Sequence[np.ndarray] | None = None,
) -> list[OpGraph]:
    """Validates many ``(ops, edges)`` pairs (``(ops, edges, attrs)`` with
    ``attr_names``: attribute ids per node) in one parallel core call and wraps each in
    an :class:`OpGraph` sharing ``op_names`` (duplicate edges are dropped, as the
    ``OpGraph`` constructor does), with ``node_flops[i]`` (float64, one per node, finite
    and >= 0) when given. A malformed part raises :class:`~archmotif.GraphError`
    naming the graph."""
    op_names = tuple(op_names)
    attr_names = None if attr_names is None else tuple(attr_names)
    g = len(parts)
    noff = np.zeros(g + 1, dtype=np.int64)
    eoff = np.zeros(g + 1, dtype=np.int64)
    for i, (ops, edges, *_) in enumerate(parts):
        noff[i + 1] = noff[i] + ops.shape[0]
        eoff[i + 1] = eoff[i] + edges.shape[1]
    all_ops = (
        np.concatenate([p[0] for p in parts]).astype(np.int32, copy=False)
        if g
        else np.zeros(0, np.int32)
    )
    all_edges = (
        np.ascontiguousarray(np.concatenate([p[1] for p in parts], axis=1), dtype=np.int64)
        if g
        else np.zeros((2, 0), np.int64)
    )
    try:
        kept = _core.validate_graphs(all_ops, noff, all_edges, eoff, len(op_names))
    except GraphError as e:
        raise GraphError(f"generated graph failed validation: {e}") from None
    all_attrs = None
    if attr_names is not None:
        all_attrs = (
            np.concatenate([p[2] for p in parts]).astype(np.int32, copy=False)
            if g
            else np.zeros(0, np.int32)
        )
        if all_attrs.size and (all_attrs.min() < 0 or all_attrs.max() >= len(attr_names)):
            raise GraphError("generated graph failed validation: an attribute id is out of range")
    all_flops = None
    if node_flops is not None:
        if len(node_flops) != g:
            raise GraphError(f"node_flops lists {len(node_flops)} graphs for {g} parts")
        if any(len(f) != noff[i + 1] - noff[i] for i, f in enumerate(node_flops)):
            raise GraphError("generated graph failed validation: node_flops is not one per node")
        all_flops = np.concatenate(node_flops).astype(np.float64, copy=False) if g else np.zeros(0)
        if not np.all(np.isfinite(all_flops) & (all_flops >= 0)):
            raise GraphError("generated graph failed validation: node_flops not finite, >= 0")
        all_flops.flags.writeable = False
    out = []
    for i in range(g):
        e = all_edges[:, eoff[i] : eoff[i + 1]]
        if kept[i] is not None:
            e = e[:, kept[i]]
        out.append(
            OpGraph._trusted(
                all_ops[noff[i] : noff[i + 1]],
                np.ascontiguousarray(e),
                op_names,
                names[i],
                dict(labels[i]),
                None,
                node_flops=None if all_flops is None else all_flops[noff[i] : noff[i + 1]],
                attrs=None if all_attrs is None else all_attrs[noff[i] : noff[i + 1]],
                attr_names=attr_names or (),
            )
        )
    return out
