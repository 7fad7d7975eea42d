"""The baselines the evaluation runs beside ours, re-exported from their modules so
that ``archmotif.learn.baselines`` imports keep working:

- :mod:`archmotif.learn.gnn`: :class:`GNNBaseline` (``"gcn"``, ``"gat"``), the paper's
  GCN/GAT baselines on raw operator graphs;
- :mod:`archmotif.learn.nar`: :class:`NARBaseline` (``"nar"``), the faithful Neural
  Architecture Retrieval pipeline.

Both save and load in the encoder-file format, each under its own format name.
"""

from __future__ import annotations

from archmotif.learn.gnn import GNN_FORMAT, GNNBaseline, coarse_targets
from archmotif.learn.nar import NAR_FORMAT, NARBaseline, nar_contrastive

_coarse_targets = coarse_targets  # its name before the split

__all__ = ["GNN_FORMAT", "NAR_FORMAT", "GNNBaseline", "NARBaseline", "coarse_targets",
           "nar_contrastive"]  # fmt: skip
