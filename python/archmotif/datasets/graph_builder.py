"""Building operator graphs from published architecture rules, without torch.

The NAS datasets (:mod:`.darts`, :mod:`.nasbench201`) write their networks op by op
with a :class:`GraphBuilder`, in the same normalised op vocabulary that traced
PyTorch models use (:mod:`archmotif.frontends.ops`), so a generated DARTS cell and a
traced ResNet share ``convolution``, ``batch_norm``, ``relu`` and ``add`` nodes, and
with the same attribute strings (:func:`archmotif.attributes.attribute_string`), so a
generated 3x3 convolution is the traced one in the ``"attrs"`` view too.
:func:`opgraphs_from_parts` turns many generated graphs into :class:`OpGraph`
objects with one parallel validation call into the Rust core instead of one call
per graph, which is what makes 15,625 networks cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from archmotif import _core
from archmotif.errors import GraphError
from archmotif.graph import OpGraph

__all__ = ["GraphBuilder", "opgraphs_from_parts"]


class GraphBuilder:
    """Appends nodes one at a time; every node names its input nodes.

    Node ids are assigned in insertion order, so a builder that adds inputs
    before their consumers produces a topologically ordered graph.
    """

    __slots__ = ("_attr_index", "_attrs", "_dst", "_index", "_ops", "_src", "op_names")

    def __init__(self, op_names: Sequence[str]) -> None:
        self.op_names = tuple(op_names)
        self._index = {n: i for i, n in enumerate(self.op_names)}
        self._attr_index: dict[str, int] = {"": 0}
        self._attrs: list[int] = []
        self._ops: list[int] = []
        self._src: list[int] = []
        self._dst: list[int] = []

    @property
    def num_nodes(self) -> int:
        return len(self._ops)

    def add(self, op: str, *inputs: int, attrs: str = "") -> int:
        """Adds one ``op`` node with attribute string ``attrs`` reading ``inputs``;
        returns its id."""
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
        return node

    def chain(self, ops: Sequence[str | tuple[str, str]], x: int) -> int:
        """Adds ``ops`` (op names, or ``(op, attrs)`` pairs) as a chain of unary nodes
        fed by ``x``; returns the last one."""
        for op in ops:
            x = self.add(op, x) if isinstance(op, str) else self.add(op[0], x, attrs=op[1])
        return x

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ops int32 [N], edges int64 [2, E])`` of what was added so far."""
        ops = np.asarray(self._ops, dtype=np.int32)
        edges = np.asarray([self._src, self._dst], dtype=np.int64).reshape(2, -1)
        return ops, edges

    def build(self, name: str, labels: Mapping[str, str]) -> OpGraph:
        ops, edges = self.arrays()
        return OpGraph(
            ops, edges, op_names=self.op_names, name=name, labels=labels,
            attrs=np.asarray(self._attrs, dtype=np.int32), attr_names=tuple(self._attr_index),
        )  # fmt: skip


def opgraphs_from_parts(
    parts: Sequence[tuple[np.ndarray, ...]],
    op_names: Sequence[str],
    names: Sequence[str],
    labels: Sequence[dict[str, str]],
    attr_names: Sequence[str] | None = None,
) -> list[OpGraph]:
    """Validates many ``(ops, edges)`` pairs (``(ops, edges, attrs)`` with
    ``attr_names``: attribute ids per node) in one parallel core call and wraps each in
    an :class:`OpGraph` sharing ``op_names`` (duplicate edges are dropped, as the
    ``OpGraph`` constructor does). A malformed part raises
    :class:`~archmotif.GraphError` naming the graph."""
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
                attrs=None if all_attrs is None else all_attrs[noff[i] : noff[i + 1]],
                attr_names=attr_names or (),
            )
        )
    return out
