"""Graph encoders built from PyTorch Geometric layers.

- :class:`GraphGNN`: ``layers`` message-passing layers (GIN, GCN or GAT) over float node
  features, each followed by ReLU; the mean-pooled output of every layer is
  concatenated (jumping knowledge, so shallow and deep structure both reach the
  embedding) and projected to ``out`` dimensions. Edges are used in both directions
  (``undirected=True``, our default: a block's inputs matter as much as its outputs)
  or as given.
- :class:`OpGraphEncoder`: an ``nn.Embedding`` of op indices (row 0 = unknown op) then a
  :class:`GraphGNN`; encodes operator graphs (motifs, contexts, whole networks).
- :class:`MacroGraphEncoder`: macro nodes carry motif indices into a table of motif
  embeddings passed at call time (frozen stage-1 output, extended with rows for motifs
  the vocabulary lacks), joined by ``num_feats`` continuous features per node
  (``Data.feat``) when asked; a linear layer then a :class:`GraphGNN`.
- :class:`Heads`: the projection head of the contrastive loss and the coarse-family
  classifier, kept apart from the encoder so the retrieval vector is the encoder's.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GATConv, GCNConv, GINConv, global_mean_pool

__all__ = ["CONVS", "GraphGNN", "Heads", "MacroGraphEncoder", "OpGraphEncoder"]

CONVS = ("gin", "gcn", "gat")
_GAT_HEADS = 4


def _conv(kind: str, dim: int) -> nn.Module:
    if kind == "gin":
        return GINConv(nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim)))
    if kind == "gcn":
        return GCNConv(dim, dim)
    if kind == "gat":
        return GATConv(dim, dim // _GAT_HEADS, heads=_GAT_HEADS)
    raise ValueError(f"conv must be one of {CONVS}, got {kind!r}")


class GraphGNN(nn.Module):
    """Message passing + jumping-knowledge mean pooling + a linear output layer."""

    def __init__(
        self, conv: str, hidden: int, out: int, *, layers: int = 3, undirected: bool = True
    ) -> None:
        super().__init__()
        if conv == "gat" and hidden % _GAT_HEADS:
            raise ValueError(f"hidden must be a multiple of {_GAT_HEADS} for GAT, got {hidden}")
        self.conv = conv
        self.undirected = undirected
        self.convs = nn.ModuleList(_conv(conv, hidden) for _ in range(layers))
        self.out = nn.Linear(hidden * (layers + 1), out)

    def forward(
        self, h: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor, num_graphs: int
    ) -> torch.Tensor:
        if self.undirected and edge_index.numel():
            edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
        pooled = [global_mean_pool(h, batch, size=num_graphs)]  # the inputs themselves
        for conv in self.convs:
            h = torch.relu(conv(h, edge_index))
            pooled.append(global_mean_pool(h, batch, size=num_graphs))
        return self.out(torch.cat(pooled, dim=1))


class OpGraphEncoder(nn.Module):
    """Operator graph (``Data.x`` = op indices) -> ``[num_graphs, out]``."""

    def __init__(self, num_ops: int, conv: str, hidden: int, out: int, *, layers: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_ops, hidden)
        self.gnn = GraphGNN(conv, hidden, out, layers=layers)

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.gnn(self.embed(batch.x), batch.edge_index, batch.batch, batch.num_graphs)


class MacroGraphEncoder(nn.Module):
    """Macro graph (``Data.x`` = rows of ``table``) -> ``[num_graphs, out]``.

    The first ``num_motifs`` rows of ``table`` are the vocabulary's stage-1 embeddings;
    stage 2 learns a correction for each (``delta``, zero at the start), so training can
    separate motifs the motif-level objective left close. Rows past ``num_motifs``
    (motifs the vocabulary lacks, embedded at query time) are used as they are."""

    def __init__(
        self,
        motif_dim: int,
        conv: str,
        hidden: int,
        out: int,
        *,
        num_motifs: int = 0,
        layers: int = 3,
        num_feats: int = 0,
    ) -> None:
        super().__init__()
        self.num_motifs = num_motifs
        self.num_feats = num_feats
        self.delta = nn.Embedding(max(num_motifs, 1), motif_dim)
        nn.init.zeros_(self.delta.weight)
        self.inp = nn.Linear(motif_dim + num_feats, hidden)
        self.gnn = GraphGNN(conv, hidden, out, layers=layers)

    def forward(self, batch: Batch, table: torch.Tensor) -> torch.Tensor:
        x = batch.x
        known = x < self.num_motifs
        feats = table[x] + self.delta(torch.where(known, x, 0)) * known[:, None]
        if self.num_feats:
            feats = torch.cat([feats, batch.feat.to(feats.dtype)], dim=1)
        h = self.inp(feats)
        return self.gnn(h, batch.edge_index, batch.batch, batch.num_graphs)


class Heads(nn.Module):
    """Projection head (for NT-Xent) and an optional coarse-family classifier."""

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.classify = nn.Linear(dim, num_classes) if num_classes > 1 else None
