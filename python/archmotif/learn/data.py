"""From operator graphs and mining results to PyTorch Geometric ``Data``.

This module owns every conversion the learners need:

- :func:`~archmotif.learn.renumber.canonical_order` (re-exported): renumbers a graph's
  nodes by structure before it is mined or contracted;
- :class:`OpVocabulary`: the op names seen at fit time, index 0 for an unknown op;
- :func:`op_data`, :func:`macro_data`: ``Data`` for an operator graph (``x`` = op
  indices) and for a macro graph (``x`` = motif indices, -1 for unknown motifs);
- :func:`instance_graphs` (and the re-exported ``induced_subgraph``): the operator subgraph of a
  macro node, so that motifs the vocabulary lacks can still be embedded;
- :func:`pack_graphs`, :func:`unpack_graphs`: graphs as flat tensors, so that an
  encoder file (which holds tensors and JSON, never pickles) can carry its training corpus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from archmotif.errors import FormatError
from archmotif.fileread import parse_json
from archmotif.graph import OpGraph
from archmotif.learn.renumber import canonical_order, induced_subgraph
from archmotif.mining.motifs import MacroGraph

__all__ = [
    "OpVocabulary",
    "canonical_order",
    "induced_subgraph",
    "instance_graphs",
    "macro_data",
    "op_data",
    "pack_graphs",
    "unknown_instances",
    "unpack_graphs",
]


def unknown_instances(macros: Sequence[MacroGraph]) -> tuple[list[tuple[int, int]], list[OpGraph]]:
    """Every macro node whose motif the vocabulary lacks (index -1), as
    ``(graph, macro_node)`` keys and the operator subgraphs of those instances."""
    keys: list[tuple[int, int]] = []
    subs: list[OpGraph] = []
    for j, mg in enumerate(macros):
        nodes = np.flatnonzero(mg.motifs < 0).tolist()
        if nodes:
            keys += [(j, i) for i in nodes]
            subs += instance_graphs(mg, nodes)
    return keys, subs


def instance_graphs(mg: MacroGraph, macro_nodes: Sequence[int]) -> list[OpGraph]:
    """The operator subgraph of each of ``macro_nodes`` (its instance in ``mg.graph``)."""
    inst = mg.instances
    return [induced_subgraph(mg.graph, inst[i], name=f"{mg.graph.name}:{i}") for i in macro_nodes]


class OpVocabulary:
    """Op names fixed at fit time. ``index(name)`` is 1.. for a known op and 0 for an
    op never seen while fitting, so an ``nn.Embedding`` of ``len(vocab)`` rows covers
    any graph."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(dict.fromkeys(names))
        self._index = {n: i + 1 for i, n in enumerate(self.names)}

    @classmethod
    def from_graphs(cls, graphs: Sequence[OpGraph]) -> OpVocabulary:
        """The ops some node of ``graphs`` has, sorted by name. Names a graph's
        ``op_names`` table lists but no node uses are left out: the same graphs give the
        same vocabulary, and a model the same size, whether their tables are padded (a
        view or a corpus shares one table among many graphs) or compacted."""
        used: set[str] = set()
        for g in graphs:
            names = g.op_names
            used.update(names[i] for i in np.unique(g.ops).tolist())
        return cls(sorted(used))

    def __len__(self) -> int:
        return len(self.names) + 1

    def encode(self, g: OpGraph) -> torch.Tensor:
        """Op index per node (int64), 0 for unknown ops."""
        remap = np.array([self._index.get(n, 0) for n in g.op_names], dtype=np.int64)
        return torch.from_numpy(remap[g.ops] if g.num_nodes else np.zeros(0, dtype=np.int64))


def op_data(g: OpGraph, vocab: OpVocabulary, *, y: int = -100) -> Data:
    """``Data(x=op indices, edge_index, y)`` of an operator graph."""
    return Data(
        x=vocab.encode(g),
        edge_index=torch.tensor(g.edges, dtype=torch.long),
        y=torch.tensor([y], dtype=torch.long),
        num_nodes=g.num_nodes,
    )


def macro_data(mg: MacroGraph, *, y: int = -100, motif_index: np.ndarray | None = None) -> Data:
    """``Data(x=motif indices, edge_index, edge_weight, y)`` of a macro graph.
    ``motif_index`` maps ``mg.motifs`` into another table (e.g. a lower-level mining's
    vocabulary into the full one); -1 stays -1."""
    motifs = mg.motifs.astype(np.int64)
    if motif_index is not None:
        motifs = np.where(motifs >= 0, motif_index[np.maximum(motifs, 0)], -1)
    return Data(
        x=torch.from_numpy(motifs),
        edge_index=torch.tensor(mg.edges, dtype=torch.long),
        edge_weight=torch.from_numpy(mg.weights.astype(np.float32)),
        y=torch.tensor([y], dtype=torch.long),
        num_nodes=mg.num_nodes,
    )


def pack_graphs(graphs: Sequence[OpGraph]) -> dict[str, object]:
    """Graphs (ops, edges, names; not labels) as flat tensors and one JSON string."""
    names: dict[str, int] = {}
    ops, edges = [], []
    node_off, edge_off = [0], [0]
    for g in graphs:
        remap = np.array([names.setdefault(n, len(names)) for n in g.op_names], dtype=np.int32)
        ops.append(remap[g.ops] if g.num_nodes else np.zeros(0, dtype=np.int32))
        edges.append(g.edges.astype(np.int32))
        node_off.append(node_off[-1] + g.num_nodes)
        edge_off.append(edge_off[-1] + g.num_edges)
    return {
        "meta": json.dumps({"op_names": list(names), "names": [g.name for g in graphs]}),
        "ops": torch.from_numpy(np.concatenate(ops) if ops else np.zeros(0, np.int32)),
        "edges": torch.from_numpy(
            np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), np.int32)
        ),
        "node_offsets": torch.tensor(node_off, dtype=torch.int64),
        "edge_offsets": torch.tensor(edge_off, dtype=torch.int64),
    }


def unpack_graphs(packed: dict[str, object], *, source: str) -> list[OpGraph]:
    """Inverse of :func:`pack_graphs`; malformed data raises ``FormatError`` naming ``source``."""
    try:
        meta = parse_json(packed["meta"], source, "training corpus")  # type: ignore[arg-type]
        op_names, names = meta["op_names"], meta["names"]
        ops = packed["ops"].numpy()  # type: ignore[union-attr]
        edges = packed["edges"].numpy().astype(np.int64)  # type: ignore[union-attr]
        no = packed["node_offsets"].tolist()  # type: ignore[union-attr]
        eo = packed["edge_offsets"].tolist()  # type: ignore[union-attr]
        return [
            OpGraph(
                ops[no[i] : no[i + 1]],
                edges[:, eo[i] : eo[i + 1]],
                op_names=op_names,
                name=names[i],
            )
            for i in range(len(names))
        ]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise FormatError(f"{source}: malformed training corpus in encoder file ({e})") from None
