"""Operator attributes: what makes two operators of one name compute different things.

A traced 1x1 and 3x3 convolution are both ``convolution``; the attribute string tells
them apart. Every node of an :class:`~archmotif.OpGraph` may carry one, as ``attrs``
(int32 ids, one per node) into ``attr_names`` (a small tuple of strings, ``""`` meaning
"no attributes"), the way ``ops`` index ``op_names``: a million-node graph stays two
int32 arrays.

**What is kept**, written by :func:`attribute_string`, the one function that spells an
attribute string (the frontends and the NAS generators all call it):

- convolutions: kernel size ``k3`` (``k1x7`` when not square), stride ``s2``, dilation
  ``d2``, the kind of grouping (``gr`` grouped, ``dw`` depthwise: one input channel per
  group; dense writes nothing) and ``t`` for a transposed convolution;
- pooling with a window (``max_pool2d``, ``avg_pool2d``, ...): kernel, stride, dilation.

Defaults are left out (stride 1, dilation 1, dense, not transposed), a square size is
written once (``k3``, not ``k3x3``) and a 1x1 kernel has no dilation, so one operator has
one spelling whichever frontend or argument form produced it. **Not kept**: widths and
channel counts (they change with the scale of a network, not its design), the number of
groups (it follows the width: a depthwise convolution has one group per channel, and so
do RegNet's fixed-width groups), padding (it follows the kernel in practice: "same"
padding), adaptive pools' output size and linear layers' width.

**Two levels of detail** (:data:`DETAILS`): ``"op"``, the plain op (the ids archmotif
always gave; attributes are ignored), and ``"attrs"``, op plus attributes: the op name
becomes ``convolution[k3,s2,dw]`` (:func:`view_name`), a node without attributes keeps
its plain name. :meth:`OpGraph.view <archmotif.OpGraph.view>` gives one view of a graph
and :func:`with_detail` of many; everything that takes graphs (mining,
``canonical_hash``, the encoders, ``Index``, ``search``) takes ``detail=`` and calls it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archmotif.errors import GraphError, InvalidArgument
from archmotif.graph_meta import check_strings

if TYPE_CHECKING:  # pragma: no cover
    from archmotif.graph import OpGraph

__all__ = [
    "DEFAULT_DETAIL",
    "DETAILS",
    "GROUP_KINDS",
    "PLAIN_DETAIL",
    "attribute_string",
    "check_detail",
    "group_kind",
    "view_name",
    "with_detail",
]

#: The plain level: a graph as it is (its attributes kept beside it, not in its op
#: names). Viewing at it loses nothing, so the readers (``load_corpus``, ``open_corpus``)
#: and :meth:`OpGraph.view <archmotif.OpGraph.view>` default to it; files and embedders
#: that predate attributes are at this level.
PLAIN_DETAIL = "op"
DETAILS = (PLAIN_DETAIL, "attrs")
#: The level every analysis takes by default: ``mine``, ``canonical_hash``,
#: ``contract``, the encoders and baselines, ``Index``, ``search``, the retrieval report
#: and the CLI's ``--detail``. With attributes, every retrieval method gains 0.03-0.07
#: MAP@20 on the built-in data (docs/retrieval.md; README "Operator attributes" gives
#: both levels). Files that predate attributes load at :data:`PLAIN_DETAIL` whatever
#: this says.
DEFAULT_DETAIL = "attrs"
#: How a convolution groups its channels, and the token each kind writes.
GROUP_KINDS = {"dense": "", "grouped": "gr", "depthwise": "dw"}


def check_detail(detail: Any) -> str:
    """``detail`` if it is one of :data:`DETAILS`, else :class:`~archmotif.InvalidArgument`."""
    if not isinstance(detail, str) or detail not in DETAILS:
        raise InvalidArgument(f"detail must be one of {', '.join(DETAILS)}, got {detail!r}")
    return detail


def _size(what: str, value: Any) -> str:
    """A size (an int or a sequence of ints, one per spatial axis) as text: ``3`` for
    ``3`` or ``(3, 3)``, ``1x7`` for ``(1, 7)``."""
    dims = [value] if isinstance(value, (int, np.integer)) else list(value)
    if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1
                       for d in dims):  # fmt: skip
        raise InvalidArgument(f"{what} must be a positive int or ints, got {value!r}")
    if all(d == dims[0] for d in dims):
        return str(int(dims[0]))
    return "x".join(str(int(d)) for d in dims)


def group_kind(groups: int, in_channels_per_group: int | None) -> str:
    """``"dense"`` for one group, ``"depthwise"`` when every group reads one input
    channel, ``"grouped"`` otherwise (also when the channels per group are unknown)."""
    if int(groups) <= 1:
        return "dense"
    return "depthwise" if in_channels_per_group == 1 else "grouped"


def attribute_string(
    kernel: Any,
    *,
    stride: Any = 1,
    dilation: Any = 1,
    groups: str = "dense",
    transposed: bool = False,
) -> str:
    """The canonical attribute string of a convolution or a pooling window, e.g.
    ``attribute_string(3, stride=(2, 2), groups="depthwise") == "k3,s2,dw"``.
    Sizes are ints or one int per spatial axis; ``groups`` is a key of
    :data:`GROUP_KINDS`; defaults write nothing (see the module docstring)."""
    if groups not in GROUP_KINDS:
        raise InvalidArgument(f"groups must be one of {', '.join(GROUP_KINDS)}, got {groups!r}")
    k = _size("kernel", kernel)
    parts = [f"k{k}"]
    if k == "1":  # a 1-wide kernel reads one position whatever its dilation
        dilation = 1
    s, d = _size("stride", stride), _size("dilation", dilation)
    if s != "1":
        parts.append(f"s{s}")
    if d != "1":
        parts.append(f"d{d}")
    if GROUP_KINDS[groups]:
        parts.append(GROUP_KINDS[groups])
    if transposed:
        parts.append("t")
    return ",".join(parts)


def view_name(op: str, attrs: str) -> str:
    """The op name of the ``"attrs"`` view: ``op[attrs]``, or ``op`` without attributes."""
    return f"{op}[{attrs}]" if attrs else op


def check_attr_names(attr_names: Any) -> tuple[str, ...]:
    """``attr_names`` as a tuple of distinct strings without ``[`` or ``]`` (they delimit
    attributes in a view's op names), else :class:`~archmotif.GraphError`."""
    names = check_strings("attr_names", attr_names)
    for i, n in enumerate(names):
        if "[" in n or "]" in n:
            raise GraphError(f"attr_names[{i}] {n!r} holds '[' or ']'")
    return names


def coerce_attrs(
    attrs: Any, attr_names: Sequence[str] | None, n: int
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """``(ids int32 [n] or None, attr_names)`` from one attribute string per node, or
    integer ids into ``attr_names``; a bad entry raises :class:`~archmotif.GraphError`
    naming the node."""
    from archmotif.graph_meta import coerce_table

    return coerce_table(attrs, attr_names, n, field="attrs", names_field="attr_names",
                        what="attribute", check_names=check_attr_names)  # fmt: skip


def view_arrays(
    ops: np.ndarray, op_names: Sequence[str], attrs: np.ndarray, attr_names: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(ids, names)`` of the ``"attrs"`` view: every distinct (op, attributes) pair in
    ``ops``/``attrs`` gets one name (:func:`view_name`), in the order of the pairs."""
    width = max(len(attr_names), 1)
    code = ops.astype(np.int64) * width + attrs
    pairs, inverse = np.unique(code, return_inverse=True)
    names: dict[str, int] = {}
    remap = np.empty(len(pairs), dtype=np.int32)
    for i, c in enumerate(pairs.tolist()):
        name = view_name(op_names[c // width], attr_names[c % width])
        remap[i] = names.setdefault(name, len(names))
    return np.ascontiguousarray(remap[inverse.reshape(-1)]), tuple(names)


def with_detail(graphs: Iterable[OpGraph] | OpGraph, detail: str) -> list[OpGraph]:
    """Every graph at ``detail`` (:meth:`OpGraph.view`): the graphs themselves for
    ``"op"``, their op-plus-attributes views for ``"attrs"``. One graph counts as a
    list of one; anything but graphs (a model name, a path) raises :class:`TypeError`
    saying what to pass: every embedder reads its input through here."""
    # duck-typed: archmotif.graph imports this module
    detail = check_detail(detail)
    if not isinstance(graphs, Iterable) and callable(getattr(graphs, "view", None)):
        return [graphs.view(detail)]  # one graph
    if isinstance(graphs, (str, bytes, os.PathLike)):
        name = os.fsdecode(graphs) if not isinstance(graphs, str) else graphs
        raise TypeError(
            f"expected OpGraphs, got {type(graphs).__name__} {name!r}: trace a model first "
            f"(archmotif.trace({name!r})), or load a corpus file (archmotif.load_corpus)"
        )
    if not isinstance(graphs, Iterable):
        raise TypeError(f"expected OpGraphs, got {type(graphs).__name__}")
    out = []
    for i, g in enumerate(graphs):
        if not callable(getattr(g, "view", None)):
            raise TypeError(f"graphs[{i}] is {type(g).__name__}, not an OpGraph")
        out.append(g.view(detail))
    return out
