"""Motifs and macro graphs: the results of mining and contraction.

- :class:`Motif`: one vocabulary entry, with its canonical 128-bit ``id``, its ops
  and edges in canonical order, ``level``, ``children`` (indices of the motifs
  it was merged from), ``count`` (instances) and ``support`` (graphs).
- :class:`MotifVocabulary`: the motifs of a corpus in a deterministic order
  (by level, then id), indexable densely and by id.
- :class:`MacroGraph`: a graph contracted into motif instances.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from archmotif.graph import OpGraph

if TYPE_CHECKING:  # pragma: no cover
    import torch_geometric.data

__all__ = ["MacroGraph", "Motif", "MotifVocabulary", "describe_ops"]


def describe_ops(ops: Sequence[str]) -> str:
    """A short name for a motif from its ops: ``conv×2 relu add`` style, most frequent
    op first (ties in canonical order). Every op is named; nothing is cut."""
    counts: dict[str, int] = {}
    for op in ops:
        counts[op] = counts.get(op, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])  # stable: ties keep their order
    return " ".join(op if c == 1 else f"{op}×{c}" for op, c in ranked)


@dataclass(frozen=True, eq=False)
class Motif:
    """A motif of the vocabulary. ``ops[p]`` is the op at canonical position
    ``p``; ``edges`` (int64 ``[2, E]``) join canonical positions."""

    index: int
    id: int
    ops: tuple[str, ...]
    edges: np.ndarray
    level: int
    children: tuple[int, ...]
    count: int
    support: int

    @property
    def num_nodes(self) -> int:
        return len(self.ops)

    @property
    def name(self) -> str:
        """A readable name from the ops (:func:`describe_ops`), not unique: the id is."""
        return describe_ops(self.ops)

    def to_opgraph(self) -> OpGraph:
        """The motif as a standalone graph (named by its id in hex)."""
        return OpGraph(
            list(self.ops),
            self.edges,
            name=f"motif-{self.id:032x}",
            labels={"level": str(self.level)},
        )

    def __repr__(self) -> str:
        ops = ", ".join(self.ops[:6]) + (", ..." if len(self.ops) > 6 else "")
        return (
            f"Motif(#{self.index}, id={self.id:032x}, level={self.level}, nodes={self.num_nodes}, "
            f"count={self.count}, support={self.support}, ops=[{ops}])"
        )


class MotifVocabulary(Sequence[Motif]):
    """Motifs in a deterministic order (level, then id); ``vocabulary[i]`` by
    dense index, ``index_of(id)`` by canonical id."""

    def __init__(self, motifs: Sequence[Motif]) -> None:
        self._motifs = tuple(motifs)
        self._index = {m.id: m.index for m in self._motifs}

    @classmethod
    def _from_core(cls, d: dict[str, Any], op_names: Sequence[str]) -> MotifVocabulary:
        # Columns converted once, then sliced per motif: a corpus has ~10^4 motifs.
        def ints(key: str) -> list[int]:  # arrays from the core, lists from contract
            return np.asarray(d[key]).tolist() if key in d else [0] * len(d["ids"])

        op_off, e_off = ints("op_offsets"), ints("edge_offsets")
        ops = np.asarray(op_names, dtype=object)[d["ops"]].tolist()
        # every motif's [2, E] edges as a C-contiguous view of one read-only buffer
        edges = np.asarray(d["edges"], dtype=np.int64).reshape(2, -1)
        e_off_a = np.asarray(e_off, dtype=np.int64)
        sizes = np.diff(e_off_a)
        motif_of_edge = np.repeat(np.arange(len(sizes)), sizes)
        at = e_off_a[motif_of_edge]
        local = np.arange(edges.shape[1], dtype=np.int64) - at
        flat = np.empty(2 * edges.shape[1], dtype=edges.dtype)
        flat[2 * at + local] = edges[0]
        flat[2 * at + sizes[motif_of_edge] + local] = edges[1]
        flat.flags.writeable = False
        n = len(d["ids"])
        level, count, support = ints("level"), ints("count"), ints("support")
        children = [tuple(c) for c in d["children"]] if "children" in d else [()] * n
        motifs = []
        for i, mid in enumerate(d["ids"]):
            e = flat[2 * e_off[i] : 2 * e_off[i + 1]].reshape(2, -1)
            motifs.append(
                Motif(
                    index=i,
                    id=int(mid),
                    ops=tuple(ops[op_off[i] : op_off[i + 1]]),
                    edges=e,
                    level=level[i],
                    children=children[i],
                    count=count[i],
                    support=support[i],
                )
            )
        return cls(motifs)

    def __len__(self) -> int:
        return len(self._motifs)

    @overload
    def __getitem__(self, i: int) -> Motif: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Motif]: ...
    def __getitem__(self, i: int | slice) -> Motif | Sequence[Motif]:
        return self._motifs[i]

    def __iter__(self) -> Iterator[Motif]:
        return iter(self._motifs)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Motif):
            return item.id in self._index
        return item in self._index

    def index_of(self, motif_id: int) -> int:
        """Dense index of the motif with canonical id ``motif_id`` (KeyError if absent)."""
        try:
            return self._index[motif_id]
        except KeyError:
            raise KeyError(f"no motif with id {motif_id:#x} in this vocabulary") from None

    @property
    def ids(self) -> list[int]:
        return [m.id for m in self._motifs]

    @property
    def num_levels(self) -> int:
        return 1 + max((m.level for m in self._motifs), default=0)

    def __repr__(self) -> str:
        levels = [sum(m.level == lv for m in self._motifs) for lv in range(self.num_levels)]
        return f"MotifVocabulary({len(self)} motifs, per level {levels})"


@dataclass(eq=False)
class MacroGraph:
    """A graph contracted into motif instances.

    ``motifs`` (int32 ``[M]``) indexes :attr:`vocabulary` (-1 for a motif the
    vocabulary lacks, e.g. an op never seen while mining); ``edges`` (int64
    ``[2, E']``) join macro nodes, ``weights`` count the original edges each
    stands for; ``node_to_macro`` (int32 ``[N]``) gives the macro node that
    absorbed each original node. Macro nodes are ordered by their smallest node.
    """

    graph: OpGraph
    vocabulary: MotifVocabulary
    motifs: np.ndarray
    node_to_macro: np.ndarray
    edges: np.ndarray
    weights: np.ndarray
    _motif_ids: list[int] | None = field(default=None, repr=False)

    @property
    def num_nodes(self) -> int:
        return int(self.motifs.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edges.shape[1])

    @property
    def reduction(self) -> float:
        """Original nodes per macro node (N / M); 1.0 for an empty graph."""
        return self.graph.num_nodes / self.num_nodes if self.num_nodes else 1.0

    @property
    def motif_ids(self) -> list[int]:
        """The canonical id of each macro node's motif."""
        if self._motif_ids is not None:
            return self._motif_ids
        return [self.vocabulary[i].id for i in self.motifs.tolist()]

    @property
    def flops(self) -> np.ndarray | None:
        """float64 ``[M]``: each macro node's FLOPs, the sum of its operators'
        (``graph.node_flops``; NaN where one of them is unknown), or None when the
        graph carries no FLOPs."""
        f = self.graph.node_flops
        if f is None:
            return None
        return np.bincount(self.node_to_macro, weights=f, minlength=self.num_nodes)

    @property
    def instances(self) -> list[np.ndarray]:
        """The original node ids (ascending) of each macro node."""
        order = np.argsort(self.node_to_macro, kind="stable")
        bounds = np.searchsorted(self.node_to_macro[order], np.arange(self.num_nodes + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(self.num_nodes)]

    def to_pyg(self) -> torch_geometric.data.Data:
        """PyG ``Data``: ``edge_index``, ``edge_weight`` (float), ``motif`` (int64
        vocabulary indices) and ``num_nodes``. Needs the ``gnn`` extra."""
        try:
            import torch
            from torch_geometric.data import Data
        except ImportError as e:
            raise ImportError(
                "MacroGraph.to_pyg needs torch and torch_geometric: pip install 'archmotif[gnn]'"
            ) from e
        return Data(
            edge_index=torch.from_numpy(self.edges),
            edge_weight=torch.from_numpy(self.weights).float(),
            motif=torch.from_numpy(self.motifs).long(),
            num_nodes=self.num_nodes,
        )

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` with one node per macro node (``0..M-1``) carrying
        ``motif`` (vocabulary index, -1 when unknown), ``size`` (operators absorbed) and
        ``name`` (:attr:`Motif.name`, ``"?"`` when unknown), and one edge per macro edge
        with ``weight`` (original edges it stands for). Needs ``networkx``."""
        try:
            import networkx as nx
        except ImportError as e:
            raise ImportError("MacroGraph.to_networkx needs networkx: pip install networkx") from e
        g = nx.DiGraph(name=self.graph.name)
        sizes = np.bincount(self.node_to_macro, minlength=self.num_nodes).tolist()
        for i, m in enumerate(self.motifs.tolist()):
            name = self.vocabulary[m].name if m >= 0 else "?"
            g.add_node(i, motif=m, size=sizes[i], name=name)
        for (u, v), w in zip(self.edges.T.tolist(), self.weights.tolist(), strict=True):
            g.add_edge(u, v, weight=w)
        return g

    def __repr__(self) -> str:
        return (
            f"MacroGraph({self.graph.name!r}: {self.graph.num_nodes} nodes -> {self.num_nodes} "
            f"macro nodes, {self.num_edges} edges, reduction {self.reduction:.1f}x)"
        )
