"""Learning architecture embeddings from mined motifs (PyTorch + PyTorch Geometric).

- :class:`~archmotif.learn.encoder.Encoder`: ours, the two-stage contrastive encoder
  (motif level, then macro-graph level) over a ``"merge"`` vocabulary;
- :mod:`~archmotif.learn.gnn`: the paper's GCN/GAT baselines on raw operator graphs;
- :mod:`~archmotif.learn.nar`: the faithful Neural Architecture Retrieval pipeline
  (both re-exported by :mod:`~archmotif.learn.baselines`);
- :mod:`~archmotif.learn.wl`: a Weisfeiler-Lehman subtree baseline (no training);
- :class:`~archmotif.learn.motif_bag.MotifBag`: the TF-IDF bag of canonical motifs over
  every vocabulary level (no training), what the vocabulary alone is worth.

Every method is an *embedder*: ``name``, ``fit(graphs, *, seed=0) -> self`` and
``embed(graphs) -> np.ndarray`` (float32, one L2-normalised row per graph), so the
evaluation (:mod:`archmotif.retrieval.evaluate`) runs them all the same way. An
embedder reads ``labels["coarse"]`` while fitting only when built with
``use_labels=True``; it never sees the relevance label of an evaluation.

Importing this package does not import torch; its modules do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from archmotif.graph import OpGraph

__all__ = ["Embedder"]


@runtime_checkable
class Embedder(Protocol):
    """What every retrieval method implements."""

    name: str

    def fit(self, graphs: Sequence[OpGraph], *, seed: int = 0) -> Embedder: ...

    def embed(self, graphs: Sequence[OpGraph]) -> np.ndarray: ...
