"""Graph views for graph-level contrastive learning (stage 2 and the GNN baselines).

Every augmentation keeps node features whole: on a macro graph a dropped node drops a
whole motif instance and a kept one keeps its motif (and its ``feat`` row, when the
graph has one), so views are *motif-preserving*.
The augmentations:

- drop nodes: each node is removed with probability ``p_node`` (one always stays);
- drop edges: each edge is removed with probability ``p_edge``;
- crop: with probability ``p_crop``, keep only a window of consecutive nodes covering
  ``crop_keep`` of the graph. Nodes are numbered in topological order (operator graphs
  by :func:`~archmotif.learn.data.canonical_order`, macro nodes by their first node), so
  a window is a contiguous stretch of the network: connected for chain-like
  architectures, the usual case;
- level: with probability ``p_level`` the view starts from the graph contracted with a
  lower level of the motif vocabulary (an alternative ``Data`` the caller provides);
- rewrites (macro graphs only, when the caller gives the graph's :class:`GraphRewrites`):
  with probability ``p_depth`` a block is repeated or removed, and each node's motif is
  swapped with probability ``p_swap`` for one that differs in one operator
  (:mod:`archmotif.learn.rewrite`), before the drops and the crop.

All randomness comes from the ``torch.Generator`` passed in, so views are reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import subgraph

from archmotif.learn.rewrite import Blocks, rewrite

__all__ = ["GraphRewrites", "Views"]


@dataclass(frozen=True)
class GraphRewrites:
    """What rewrite views of one macro graph draw from: its blocks, those of its
    lower-level alternative, and the corpus's motif siblings (shared by all graphs)."""

    blocks: Blocks
    alt_blocks: Blocks | None
    near: Sequence[np.ndarray]


@dataclass(frozen=True)
class Views:
    """Augmentation strengths; ``Views()(data, gen)`` returns one random view."""

    p_node: float = 0.15
    p_edge: float = 0.15
    p_crop: float = 0.3
    crop_keep: float = 0.7
    p_level: float = 0.3
    p_depth: float = 0.0
    p_swap: float = 0.0

    def __call__(
        self,
        data: Data,
        gen: torch.Generator,
        alt: Data | None = None,
        rewrites: GraphRewrites | None = None,
    ) -> Data:
        blocks = rewrites.blocks if rewrites is not None else None
        if alt is not None and torch.rand((), generator=gen).item() < self.p_level:
            data = alt
            blocks = rewrites.alt_blocks if rewrites is not None else None
        if rewrites is not None:
            data = rewrite(data, gen, blocks=blocks, near=rewrites.near,
                           p_depth=self.p_depth, p_swap=self.p_swap)  # fmt: skip
        n = int(data.num_nodes)
        if n <= 1:
            return data
        keep = torch.rand(n, generator=gen) >= self.p_node
        if torch.rand((), generator=gen).item() < self.p_crop:
            size = max(1, round(self.crop_keep * n))
            start = int(torch.randint(0, n - size + 1, (), generator=gen))
            window = torch.zeros(n, dtype=torch.bool)
            window[start : start + size] = True
            keep &= window
        if not bool(keep.any()):
            keep[int(torch.randint(0, n, (), generator=gen))] = True
        weight = data.edge_weight if "edge_weight" in data else None
        edge_index, weight = subgraph(
            keep, data.edge_index, weight, relabel_nodes=True, num_nodes=n
        )
        if edge_index.shape[1]:
            emask = torch.rand(edge_index.shape[1], generator=gen) >= self.p_edge
            edge_index = edge_index[:, emask]
            weight = weight[emask] if weight is not None else None
        out = Data(x=data.x[keep], edge_index=edge_index, y=data.y, num_nodes=int(keep.sum()))
        if "feat" in data:
            out.feat = data.feat[keep]
        if weight is not None:
            out.edge_weight = weight
        return out
