"""From operator graphs and mining results to PyTorch Geometric ``Data``.

This module owns every conversion the learners need:

- :func:`~archmotif.learn.renumber.canonical_order` (re-exported): renumbers a graph's
  nodes by structure before it is mined or contracted;
- :class:`OpVocabulary`: the op names seen at fit time, index 0 for an unknown op;
- :func:`op_data`, :func:`macro_data`: ``Data`` for an operator graph (``x`` = op
  indices) and for a macro graph (``x`` = motif indices, -1 for unknown motifs; with
  ``shapes``, ``feat`` = :func:`shape_features`);
- :func:`shape_features`: what each macro node does to the size of the tensors through
  it (expansion, bottleneck, reduction), the continuous part of a design that exact
  motif ids cannot carry;
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
from archmotif.graph_meta import shape_log2_elements
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
    "shape_features",
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


def macro_data(
    mg: MacroGraph,
    *,
    y: int = -100,
    motif_index: np.ndarray | None = None,
    shapes: bool = False,
) -> Data:
    """``Data(x=motif indices, edge_index, edge_weight, y)`` of a macro graph, and
    ``feat`` (:func:`shape_features`) with ``shapes``. ``motif_index`` maps
    ``mg.motifs`` into another table (e.g. a lower-level mining's vocabulary into the
    full one); -1 stays -1."""
    motifs = mg.motifs.astype(np.int64)
    if motif_index is not None:
        motifs = np.where(motifs >= 0, motif_index[np.maximum(motifs, 0)], -1)
    d = Data(
        x=torch.from_numpy(motifs),
        edge_index=torch.tensor(mg.edges, dtype=torch.long),
        edge_weight=torch.from_numpy(mg.weights.astype(np.float32)),
        y=torch.tensor([y], dtype=torch.long),
        num_nodes=mg.num_nodes,
    )
    if shapes:
        d.feat = torch.from_numpy(shape_features(mg))
    return d


SHAPE_FEATURES = 4  # columns of shape_features
_RATIO_CAP = 8.0  # |log2 ratio| kept at most (a 256-fold change)


def _log2_sizes(g: OpGraph) -> np.ndarray:
    """log2 of the number of elements of each node's output (NaN where unknown: no
    shapes, an empty or unreadable shape string)."""
    out = np.full(g.num_nodes, np.nan)
    if g.node_shapes is None or not g.num_nodes:
        return out
    sizes = (shape_log2_elements(s) for s in g.shape_names)
    table = np.array([np.nan if v is None else v for v in sizes], dtype=np.float64)
    return table[g.node_shapes]


def shape_features(mg: MacroGraph) -> np.ndarray:
    """float32 ``[M, 4]``: per macro node, what its instance does to tensor sizes, as
    log2 ratios of element counts to those of its inputs (the outputs of the operators
    outside it that feed it), each divided by 4 and capped at ±2: its output's (a
    reduction or a projection), its largest tensor's (an expansion) and its smallest
    tensor's (a bottleneck), then 1 where they are known. Ratios, not sizes, so a
    design reads the same at any width; element counts, so layout (NCHW or tokens by
    channels) does not matter. A node with no input outside it (the network's input)
    measures against its own output; a node with an unknown size gives a row of zeros.

    The motif ids of a ResNet-50 and of a Wide-ResNet-50 are the same; their bottlenecks
    are not (a quarter and a half of the block's width), nor are a Transformer's MLP
    ratio or a MobileNet's expansion: what exact ids leave out, for the learnt half."""
    g, m = mg.graph, mg.num_nodes
    out = np.zeros((m, SHAPE_FEATURES), dtype=np.float32)
    if not m or g.node_shapes is None:
        return out
    size = _log2_sizes(g)
    known = np.isfinite(size)
    owner = mg.node_to_macro.astype(np.int64)
    src, dst = g.edges
    cross = owner[src] != owner[dst]
    # inputs: mean log2 size over the edges entering each macro node from outside
    w = known[src] & cross
    n_in = np.bincount(owner[dst][w], minlength=m)
    s_in = np.bincount(owner[dst][w], weights=size[src][w], minlength=m)
    # outputs: the nodes with a successor outside their macro node, or none at all
    exits = np.ones(g.num_nodes, dtype=bool)
    exits[src] = False
    exits[src[cross]] = True
    w = exits & known
    n_out = np.bincount(owner[w], minlength=m)
    s_out = np.bincount(owner[w], weights=size[w], minlength=m)
    hi = np.full(m, -np.inf)
    lo = np.full(m, np.inf)
    np.maximum.at(hi, owner[known], size[known])
    np.minimum.at(lo, owner[known], size[known])
    with np.errstate(invalid="ignore", divide="ignore"):
        a_out = s_out / n_out
        a_in = np.where(n_in > 0, s_in / n_in, a_out)
    ok = np.isfinite(a_in) & np.isfinite(a_out) & np.isfinite(hi) & np.isfinite(lo)
    cols = np.stack([a_out - a_in, hi - a_in, lo - a_in], axis=1)
    cols = np.clip(np.where(ok[:, None], cols, 0.0), -_RATIO_CAP, _RATIO_CAP) / 4.0
    out[:, :3] = cols
    out[:, 3] = ok
    return out


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
