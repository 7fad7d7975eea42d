"""``OpGraph``: the one graph type users pass in.

An ``OpGraph`` is plain data over numpy:

- ``ops``: int32 ``[N]``, each node's index into ``op_names``;
- ``edges``: int64 ``[2, E]``, row 0 the sources, row 1 the targets;
- ``op_names``: tuple of str, the op vocabulary;
- ``name`` (str), ``labels`` (dict of str to str, e.g. ``family``, ``coarse``);
- ``node_names``: optional tuple of str, one per node (e.g. the traced node);
- ``node_flops``: optional float64 ``[N]``, each operator's forward FLOPs at the
  traced input (``trace`` and ``from_onnx`` fill it; NaN where unknown). The graph's
  totals are the numeric labels ``params``, ``flops`` and ``memory`` (see
  :mod:`archmotif.frontends.costs`);
- ``attrs``: optional int32 ``[N]``, each node's index into ``attr_names``, the
  canonical attribute strings (``"k3,s2,dw"``; ``""``: none) that tell apart operators
  of one name (:mod:`archmotif.attributes`). :meth:`OpGraph.view` gives the graph at
  a level of detail: ``"op"`` (the graph itself: attributes ignored) or ``"attrs"``
  (op names ``convolution[k3,s2]``);
- ``node_shapes``: optional int32 ``[N]``, each node's index into ``shape_names``, the
  shape of the tensor it outputs as text (``"1×64×56×56"``; ``""``: unknown), and
  ``node_params``: optional int64 ``[N]``, the parameters each node reads directly
  (``trace`` fills both; :mod:`archmotif.graph_meta` checks them and says how they are
  spelled and counted).

Invariants, checked by the Rust core on construction (GIL released): op ids
are in range, edge endpoints are in range, the graph is acyclic. Policies:

- **duplicate edges** are dropped, keeping the first occurrence (an op reading
  the same tensor twice depends on it once);
- **self loops** are cycles and raise :class:`~archmotif.GraphError`;
- **the empty graph** (no nodes) is valid; it mines to an empty macro graph.

The arrays handed out are read-only views: an ``OpGraph`` never changes after
it has been validated.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archmotif import _core
from archmotif.atomic import write_atomic
from archmotif.attributes import PLAIN_DETAIL, check_detail, coerce_attrs, view_arrays
from archmotif.errors import FormatError, GraphError, LimitError, check_format
from archmotif.fileread import parse_json, read_regular
from archmotif.graph_meta import (
    check_flops,
    check_params,
    check_strings,
    coerce_table,
    same_flops,
    same_params,
)

if TYPE_CHECKING:  # pragma: no cover
    import networkx
    import torch_geometric.data

__all__ = ["JSON_FORMAT", "JSON_VERSION", "OpGraph"]

JSON_FORMAT = "archmotif.opgraph"
JSON_VERSION = 1

_INT32_MAX = np.iinfo(np.int32).max
#: The largest vocabulary made up ("0", "1", ...) for integer ops given without op_names.
MAX_IMPLICIT_OPS = 1 << 20


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


def _coerce_ops(ops: Any, op_names: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Turns ``ops`` (op-name strings or integer ids) into int32 ids and a vocabulary."""
    if isinstance(ops, np.ndarray) and ops.ndim != 1:
        raise GraphError(f"ops must be 1-D (one op per node), got shape {ops.shape}")
    if isinstance(ops, np.ndarray) and ops.dtype.kind in "iu":
        arr = ops
    else:
        seq = list(ops) if not isinstance(ops, np.ndarray) else ops.tolist()
        n_str = sum(isinstance(o, str) for o in seq)
        if seq and n_str == len(seq):
            return _ops_from_names(seq, op_names)
        if n_str:
            raise GraphError("ops mixes op-name strings and other values; use one or the other")
        try:
            arr = np.asarray(seq) if seq else np.zeros(0, dtype=np.int32)
        except (ValueError, TypeError) as e:
            raise GraphError(f"ops must be a 1-D sequence of op ids or op names: {e}") from None
    if arr.ndim != 1:
        raise GraphError(f"ops must be 1-D (one op per node), got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise GraphError(f"ops must be integer op ids or op-name strings, got dtype {arr.dtype}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0:
            node = int(np.argmax(arr < 0))
            raise GraphError(f"node {node} has a negative op id {int(arr[node])}")
        if hi > _INT32_MAX:
            node = int(np.argmax(arr > _INT32_MAX))
            raise GraphError(f"node {node} has op id {int(arr[node])}, which does not fit int32")
    ids = np.ascontiguousarray(arr, dtype=np.int32)
    if op_names is None:
        n = int(ids.max()) + 1 if ids.size else 0
        if n > MAX_IMPLICIT_OPS:
            # names "0".."n-1" are built eagerly: an id of 2**31 - 1 would need ~100 GiB
            raise LimitError(
                f"op id {n - 1} without op_names would make {n:,} op names, more than "
                f"the {MAX_IMPLICIT_OPS:,} supported; pass op_names"
            )
        names: tuple[str, ...] = tuple(str(i) for i in range(n))
    else:
        names = _check_names(op_names)
    return ids, names


def _check_names(op_names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(op_names)
    for i, n in enumerate(names):
        if not isinstance(n, str):
            raise GraphError(f"op_names[{i}] is {type(n).__name__}, not str")
    if len(set(names)) != len(names):
        dup = next(n for n, c in Counter(names).items() if c > 1)
        raise GraphError(f"op_names lists {dup!r} more than once")
    return names


def _ops_from_names(
    seq: list[str], op_names: Sequence[str] | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    # first-appearance order keeps the vocabulary deterministic
    names = tuple(dict.fromkeys(seq)) if op_names is None else _check_names(op_names)
    index = {n: i for i, n in enumerate(names)}
    ids = np.empty(len(seq), dtype=np.int32)
    for node, op in enumerate(seq):
        i = index.get(op)
        if i is None:
            raise GraphError(f"node {node} has op {op!r}, which is not in op_names")
        ids[node] = i
    return ids, names


def _coerce_edges(edges: Any) -> np.ndarray:
    if edges is None:
        return np.zeros((2, 0), dtype=np.int64)
    try:
        arr = np.asarray(edges)
    except (ValueError, TypeError) as e:  # ragged lists, e.g. from hand-edited JSON
        raise GraphError(f"edges must be a [2, E] array of node ids: {e}") from None
    if arr.size == 0:
        return np.zeros((2, 0), dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise GraphError(f"edges must hold integer node ids, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != 2:
        hint = " (a list of (source, target) pairs goes through OpGraph.from_edges)"
        raise GraphError(f"edges must have shape [2, E], got {arr.shape}{hint}")
    if arr.dtype == np.uint64 and int(arr.max()) > np.iinfo(np.int64).max:
        raise GraphError("edges hold a node id past the int64 range")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _check_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    if labels is not None and not isinstance(labels, Mapping):
        raise GraphError(f"labels must map str to str, got {type(labels).__name__}")
    out: dict[str, str] = {}
    for k, v in (labels or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise GraphError(f"labels must map str to str, got {k!r}: {v!r}")
        out[k] = v
    return out


def check_text(field: str, strings: Iterable[str]) -> str | None:
    """What makes ``strings`` unwritable as UTF-8 (a lone surrogate, as a JSON ``\\ud800``
    escape or a bad ``surrogateescape`` decode can produce), or None. One encode of the
    joined strings: cheap even for a million node names."""
    try:
        "\x00".join(strings).encode("utf-8")
    except UnicodeEncodeError as e:
        return f"{field} is not valid Unicode text ({e.reason}: {e.object[e.start : e.end]!r})"
    return None


class OpGraph:
    """A neural network as a DAG of operators. See the module docstring."""

    __slots__ = (
        "_attr_names", "_attrs", "_edges", "_node_flops", "_node_params", "_node_shapes",
        "_op_names", "_ops", "_shape_names", "labels", "name", "node_names",
    )  # fmt: skip

    def __init__(
        self,
        ops: Sequence[str] | Sequence[int] | np.ndarray,
        edges: Any = None,
        *,
        op_names: Sequence[str] | None = None,
        name: str = "",
        labels: Mapping[str, str] | None = None,
        node_names: Sequence[str] | None = None,
        node_flops: Any = None,
        attrs: Sequence[str] | np.ndarray | None = None,
        attr_names: Sequence[str] | None = None,
        node_shapes: Sequence[str] | np.ndarray | None = None,
        shape_names: Sequence[str] | None = None,
        node_params: Any = None,
    ) -> None:
        ids, names = _coerce_ops(ops, op_names)
        e = _coerce_edges(edges)
        kept = _core.validate_graph(ids, e, len(names))
        if kept is not None:
            e = np.ascontiguousarray(e[:, kept])
        if not isinstance(name, str):
            raise GraphError(f"name must be str, got {type(name).__name__}")
        if node_names is not None:
            if isinstance(node_names, (str, bytes)) or not isinstance(node_names, Iterable):
                raise GraphError(f"node_names must be a sequence of str, got {node_names!r:.40}")
            node_names = tuple(str(n) for n in node_names)
            if len(node_names) != len(ids):
                raise GraphError(f"node_names has {len(node_names)} entries for {len(ids)} nodes")
        labels = _check_labels(labels)
        attr_ids = coerce_attrs(attrs, attr_names, len(ids))
        shape_ids = coerce_table(
            node_shapes, shape_names, len(ids), field="node_shapes", names_field="shape_names",
            what="shape", check_names=lambda t: check_strings("shape_names", t),
        )  # fmt: skip
        for field, strings in (
            ("name", (name,)),
            ("op_names", names),
            ("labels", [*labels, *labels.values()]),
            ("node_names", node_names or ()),
            ("attr_names", attr_ids[1]),
            ("shape_names", shape_ids[1]),
        ):
            bad = check_text(field, strings)
            if bad:  # found now, not when the graph is saved
                raise GraphError(bad)
        self._ops = ids
        self._edges = e
        self._op_names = names
        self.name = name
        self.labels = labels
        self.node_names: tuple[str, ...] | None = node_names
        self._node_flops = check_flops(node_flops, len(ids))
        self._attrs, self._attr_names = attr_ids
        self._node_shapes, self._shape_names = shape_ids
        self._node_params = check_params(node_params, len(ids))

    @classmethod
    def _trusted(
        cls,
        ops: np.ndarray,
        edges: np.ndarray,
        op_names: tuple[str, ...],
        name: str,
        labels: dict[str, str],
        node_names: tuple[str, ...] | None,
        node_flops: np.ndarray | None = None,
        attrs: np.ndarray | None = None,
        attr_names: tuple[str, ...] = (),
        node_shapes: np.ndarray | None = None,
        shape_names: tuple[str, ...] = (),
        node_params: np.ndarray | None = None,
    ) -> OpGraph:
        """Builds from arrays already validated (e.g. in bulk by the corpus loader)."""
        g = cls.__new__(cls)
        g._ops, g._edges, g._op_names = ops, edges, op_names
        g.name, g.labels, g.node_names, g._node_flops = name, labels, node_names, node_flops
        g._attrs, g._attr_names = attrs, attr_names if attrs is not None else ()
        g._node_shapes = node_shapes
        g._shape_names = shape_names if node_shapes is not None else ()
        g._node_params = node_params
        return g

    # -- data ---------------------------------------------------------------

    @property
    def ops(self) -> np.ndarray:
        """int32 ``[N]``: each node's index into :attr:`op_names` (read-only)."""
        return _readonly(self._ops)

    @property
    def edges(self) -> np.ndarray:
        """int64 ``[2, E]``: row 0 sources, row 1 targets (read-only)."""
        return _readonly(self._edges)

    @property
    def op_names(self) -> tuple[str, ...]:
        return self._op_names

    @property
    def node_flops(self) -> np.ndarray | None:
        """float64 ``[N]`` or None: each operator's forward FLOPs (NaN where unknown)."""
        return None if self._node_flops is None else _readonly(self._node_flops)

    @property
    def attrs(self) -> np.ndarray | None:
        """int32 ``[N]`` or None: each node's index into :attr:`attr_names` (read-only)."""
        return None if self._attrs is None else _readonly(self._attrs)

    @property
    def attr_names(self) -> tuple[str, ...]:
        """The attribute strings :attr:`attrs` index (``()`` without attributes)."""
        return self._attr_names

    def node_attrs(self) -> list[str]:
        """The attribute string of every node, in node order (``""``: none)."""
        if self._attrs is None:
            return [""] * self.num_nodes
        names = self._attr_names
        return [names[i] for i in self._attrs.tolist()]

    @property
    def node_shapes(self) -> np.ndarray | None:
        """int32 ``[N]`` or None: each node's index into :attr:`shape_names` (read-only)."""
        return None if self._node_shapes is None else _readonly(self._node_shapes)

    @property
    def shape_names(self) -> tuple[str, ...]:
        """The shape strings :attr:`node_shapes` index (``()`` without shapes)."""
        return self._shape_names

    def output_shapes(self) -> list[str]:
        """The output shape of every node as text, in node order (``""``: unknown)."""
        if self._node_shapes is None:
            return [""] * self.num_nodes
        names = self._shape_names
        return [names[i] for i in self._node_shapes.tolist()]

    @property
    def node_params(self) -> np.ndarray | None:
        """int64 ``[N]`` or None: the parameters each node reads directly, each
        parameter counted at its first reader (read-only)."""
        return None if self._node_params is None else _readonly(self._node_params)

    def view(self, detail: str = PLAIN_DETAIL) -> OpGraph:
        """This graph at a level of detail (:data:`archmotif.attributes.DETAILS`):
        ``"op"`` is the graph itself; ``"attrs"`` a graph whose op names carry the
        attributes (``convolution[k3,s2]``), without ``attrs`` of its own, so viewing it
        again changes nothing. Everything else (edges, names, labels, FLOPs, shapes,
        parameters) is shared."""
        if check_detail(detail) == PLAIN_DETAIL or self._attrs is None:
            return self
        ids, names = view_arrays(self._ops, self._op_names, self._attrs, self._attr_names)
        return OpGraph._trusted(ids, self._edges, names, self.name, dict(self.labels),
                                self.node_names, self._node_flops, None, (),
                                self._node_shapes, self._shape_names,
                                self._node_params)  # fmt: skip

    @property
    def num_nodes(self) -> int:
        return int(self._ops.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self._edges.shape[1])

    def node_ops(self) -> list[str]:
        """The op name of every node, in node order."""
        names = self._op_names
        return [names[i] for i in self._ops.tolist()]

    def op_counts(self) -> Counter[str]:
        """How many nodes carry each op name."""
        counts = np.bincount(self._ops, minlength=len(self._op_names))
        return Counter({n: int(c) for n, c in zip(self._op_names, counts, strict=False) if c})

    # -- comparisons --------------------------------------------------------

    def _sorted_edges(self) -> np.ndarray:
        order = np.lexsort((self._edges[1], self._edges[0]))
        return self._edges[:, order]

    def __eq__(self, other: object) -> bool:
        """Equal when name, labels, node names, FLOPs, parameters, every node's op
        *name*, attribute string and output shape and the edge set agree; the tables'
        order and unused names do not matter (no attributes and all-``""`` attributes are
        equal, as are no shapes and all-unknown shapes)."""
        if not isinstance(other, OpGraph):
            return NotImplemented
        return (
            self.name == other.name
            and self.labels == other.labels
            and self.node_names == other.node_names
            and same_flops(self._node_flops, other._node_flops)
            and same_params(self._node_params, other._node_params)
            and self.node_ops() == other.node_ops()
            and self.node_attrs() == other.node_attrs()
            and self.output_shapes() == other.output_shapes()
            and np.array_equal(self._sorted_edges(), other._sorted_edges())
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        top = ", ".join(f"{op}×{c}" for op, c in self.op_counts().most_common(3))
        more = len(self.op_counts()) - 3
        tail = f", +{more} more" if more > 0 else ""
        label = f", labels={self.labels}" if self.labels else ""
        return (
            f"OpGraph(name={self.name!r}, nodes={self.num_nodes}, edges={self.num_edges}, "
            f"ops=[{top}{tail}]{label})"
        )

    # -- constructors and conversions --------------------------------------

    @classmethod
    def from_edges(
        cls,
        ops: Sequence[str] | Sequence[int] | np.ndarray,
        pairs: Iterable[Sequence[int]],
        **kwargs: Any,
    ) -> OpGraph:
        """Builds from a list of ``(source, target)`` pairs instead of a ``[2, E]`` array."""
        arr = np.asarray(list(pairs))
        if arr.size == 0:
            return cls(ops, None, **kwargs)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise GraphError(f"pairs must be (source, target) pairs, got shape {arr.shape}")
        return cls(ops, arr.T, **kwargs)

    @classmethod
    def from_networkx(
        cls,
        g: networkx.DiGraph,
        op_attr: str = "op",
        *,
        name: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> OpGraph:
        """Builds from a networkx ``DiGraph`` whose nodes carry the op name in
        ``op_attr`` (and optionally the attribute string in ``"attrs"``). Nodes are
        numbered in the graph's node order; their original keys become ``node_names``."""
        if not g.is_directed():
            raise GraphError("an operator graph must be directed; got an undirected networkx graph")
        nodes = list(g.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        ops = []
        for n in nodes:
            data = g.nodes[n]
            if op_attr not in data:
                raise GraphError(f"networkx node {n!r} has no {op_attr!r} attribute")
            ops.append(str(data[op_attr]))
        attrs = [str(g.nodes[n].get("attrs", "")) for n in nodes]
        pairs = [(index[u], index[v]) for u, v in g.edges()]
        return cls.from_edges(
            ops,
            pairs,
            name=name if name is not None else str(g.graph.get("name", "")),
            labels=labels if labels is not None else g.graph.get("labels"),
            node_names=[str(n) for n in nodes],
            attrs=attrs if any(attrs) else None,
        )

    def to_networkx(self) -> networkx.DiGraph:
        """A networkx ``DiGraph`` with nodes ``0..N-1``; node attribute ``"op"``
        holds the op name (and ``"name"`` the node name, ``"flops"`` its FLOPs,
        ``"attrs"`` its attribute string, ``"shape"`` its output shape and ``"params"``
        its parameters, when known)."""
        import networkx as nx

        g = nx.DiGraph(name=self.name, labels=dict(self.labels))
        ops = self.node_ops()
        flops = None if self._node_flops is None else self._node_flops.tolist()
        node_attrs = None if self._attrs is None else self.node_attrs()
        shapes = None if self._node_shapes is None else self.output_shapes()
        params = None if self._node_params is None else self._node_params.tolist()
        for i, op in enumerate(ops):
            attrs: dict[str, Any] = {"op": op}
            if self.node_names is not None:
                attrs["name"] = self.node_names[i]
            if flops is not None:
                attrs["flops"] = flops[i]
            if node_attrs is not None:
                attrs["attrs"] = node_attrs[i]
            if shapes is not None:
                attrs["shape"] = shapes[i]
            if params is not None:
                attrs["params"] = params[i]
            g.add_node(i, **attrs)
        g.add_edges_from(zip(self._edges[0].tolist(), self._edges[1].tolist(), strict=False))
        return g

    def to_pyg(self) -> torch_geometric.data.Data:
        """A PyTorch Geometric ``Data``: ``edge_index`` shares memory with
        :attr:`edges`; ``op`` holds the op ids as int64; ``num_nodes`` is set.
        Needs the ``gnn`` extra."""
        try:
            import torch
            from torch_geometric.data import Data
        except ImportError as e:
            raise ImportError(
                "OpGraph.to_pyg needs torch and torch_geometric: pip install 'archmotif[gnn]'"
            ) from e
        return Data(
            edge_index=torch.from_numpy(self._edges),
            op=torch.from_numpy(self._ops).long(),
            num_nodes=self.num_nodes,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON schema as a dict (see :meth:`to_json`)."""
        d: dict[str, Any] = {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "name": self.name,
            "labels": dict(self.labels),
            "op_names": list(self._op_names),
            "ops": self._ops.tolist(),
            "edges": self._edges.tolist(),
        }
        if self.node_names is not None:
            d["node_names"] = list(self.node_names)
        if self._node_flops is not None:  # JSON has no NaN: unknown is null
            d["node_flops"] = [None if f != f else f for f in self._node_flops.tolist()]
        if self._attrs is not None:
            d["attr_names"] = list(self._attr_names)
            d["attrs"] = self._attrs.tolist()
        if self._node_shapes is not None:
            d["shape_names"] = list(self._shape_names)
            d["node_shapes"] = self._node_shapes.tolist()
        if self._node_params is not None:
            d["node_params"] = self._node_params.tolist()
        return d

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialises to JSON::

        {"format": "archmotif.opgraph", "version": 1, "name": str,
         "labels": {str: str}, "op_names": [str], "ops": [int],
         "edges": [[sources...], [targets...]], "node_names": [str] (optional),
         "node_flops": [number or null] (optional),
         "attr_names": [str], "attrs": [int] (optional, together),
         "shape_names": [str], "node_shapes": [int] (optional, together),
         "node_params": [int] (optional)}
        """
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str = "<dict>") -> OpGraph:
        check_format(source, d, fmt=JSON_FORMAT, newest=JSON_VERSION, kind="OpGraph",
                     versioned="OpGraph JSON")  # fmt: skip
        missing = [k for k in ("op_names", "ops", "edges") if k not in d]
        if missing:
            raise FormatError(f"{source}: OpGraph JSON lacks {', '.join(missing)}")
        wrong = [k for k in ("op_names", "ops", "edges") if not isinstance(d[k], list)]
        if wrong:
            raise FormatError(f"{source}: OpGraph JSON fields must be lists: {', '.join(wrong)}")
        return cls(
            d["ops"],
            d["edges"],
            op_names=d["op_names"],
            name=d.get("name", ""),
            labels=d.get("labels"),
            node_names=d.get("node_names"),
            node_flops=d.get("node_flops"),
            attrs=d.get("attrs"),
            attr_names=d.get("attr_names"),
            node_shapes=d.get("node_shapes"),
            shape_names=d.get("shape_names"),
            node_params=d.get("node_params"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> OpGraph:
        """Parses the JSON written by :meth:`to_json`."""
        return cls.from_dict(parse_json(text, "<json>", "OpGraph JSON"), source="<json>")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes :meth:`to_json` to ``path`` atomically (temp file, fsync, rename)."""
        data = self.to_json().encode()
        write_atomic(path, lambda f: f.write(data))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> OpGraph:
        """Reads a file written by :meth:`save`."""
        p = os.fspath(path)
        raw = read_regular(p, "an OpGraph JSON file")
        return cls.from_dict(parse_json(raw, p, "OpGraph JSON file"), source=p)
