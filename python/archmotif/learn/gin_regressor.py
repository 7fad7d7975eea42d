"""The learnt baseline of the prediction benchmark: a GIN trained from scratch on the raw
operator graph, with nothing pretrained and no motifs.

:class:`GINRegressor` is an :class:`~archmotif.learn.models.OpGraphEncoder` (op
embeddings, 3 GIN layers, jumping-knowledge mean pooling) followed by one linear output,
trained end to end on the labelled graphs with the same loss and loop as
:class:`~archmotif.learn.predictor.Predictor`'s heads
(:func:`~archmotif.learn.rank_head.fit_ensemble`: squared error + pairwise ranking,
Adam, seeded; a budget of ``steps`` optimiser steps), so the two differ only in what the
model sees. ``detail`` is the level of
detail of the graphs (``"attrs"``: op names carry kernel sizes and strides).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from archmotif.attributes import DEFAULT_DETAIL, check_detail
from archmotif.errors import InvalidArgument, LearnError
from archmotif.graph import OpGraph
from archmotif.learn.data import OpVocabulary, op_data
from archmotif.learn.models import OpGraphEncoder
from archmotif.learn.predictor import check_targets
from archmotif.learn.rank_head import fit_ensemble, predict_ensemble
from archmotif.learn.train import RunContext
from archmotif.mining import canonical_hash

__all__ = ["GINRegressor"]

GIN_BATCH = 128  # graphs per step (about 22,000 operator nodes on NAS-Bench-201)


class _GINScore(nn.Module):
    def __init__(self, num_ops: int, hidden: int) -> None:
        super().__init__()
        self.enc = OpGraphEncoder(num_ops, "gin", hidden, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, b: Batch) -> torch.Tensor:
        return self.out(torch.relu(self.enc(b))).reshape(-1)


class GINRegressor:
    """GIN on the operator graph, trained from scratch on the labelled graphs only."""

    name = "gin"

    def __init__(
        self,
        *,
        detail: str = DEFAULT_DETAIL,
        hidden: int = 64,
        steps: int = 300,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        rank_weight: float = 1.0,
        device: str | torch.device | None = None,
        threads: int | None = 1,
    ) -> None:
        self.detail = check_detail(detail)
        for arg, v, lo, hi in (("hidden", hidden, 1, 4096), ("steps", steps, 1, 10**6)):
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise InvalidArgument(f"{arg} must be an integer in [{lo}, {hi}], got {v!r}")
        self.hidden, self.steps, self.lr = hidden, steps, float(lr)
        self.weight_decay, self.rank_weight = float(weight_decay), float(rank_weight)
        self.device = RunContext.pick_device(device)
        self.threads = threads
        self._ops: OpVocabulary | None = None
        self._model: nn.Module | None = None
        self._y = (0.0, 1.0)

    def _data(self, graphs: Sequence[OpGraph]) -> list[Data]:
        assert self._ops is not None
        return [op_data(g.view(self.detail), self._ops) for g in graphs]

    def fit(
        self, graphs: Sequence[OpGraph], targets: Sequence[float] | np.ndarray, *, seed: int = 0
    ) -> GINRegressor:
        gs = list(graphs)
        if not gs:
            raise InvalidArgument("GINRegressor.fit needs at least two labelled graphs, got none")
        y = check_targets(gs, targets)
        self._ops = OpVocabulary.from_graphs([g.view(self.detail) for g in gs])
        datas = self._data(gs)
        self._y = (float(y.mean()), float(y.std()))
        yt = torch.from_numpy((y - self._y[0]) / self._y[1]).float()
        ctx = RunContext(int(seed), self.device, False, self.threads)
        ctx.seed_globals()
        n_ops = len(self._ops)
        with ctx.scoped():
            (self._model,) = fit_ensemble(
                lambda: _GINScore(n_ops, self.hidden),
                lambda m, rows: m(Batch.from_data_list([datas[i] for i in rows.tolist()])
                                  .to(self.device)),
                torch.arange(len(gs)), yt, members=1, steps=self.steps, batch=GIN_BATCH, lr=self.lr,
                weight_decay=self.weight_decay, rank_weight=self.rank_weight, gen=ctx.gen,
                device=self.device,
            )  # fmt: skip
        return self

    def predict(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        """float64 ``[len(graphs)]``; isomorphic graphs are scored once."""
        if self._model is None:
            raise LearnError("GINRegressor.predict called before fit")
        gs = list(graphs)
        hashes = [canonical_hash(g, detail=self.detail) for g in gs]
        first: dict[int, int] = {}
        for i, h in enumerate(hashes):
            first.setdefault(h, i)
        where = {h: k for k, h in enumerate(first)}
        datas = self._data([gs[i] for i in first.values()])
        ctx = RunContext(0, self.device, False, self.threads)
        with ctx.scoped():
            s = predict_ensemble(
                [self._model],
                lambda m, rows: m(Batch.from_data_list([datas[i] for i in rows.tolist()])
                                  .to(self.device)),
                torch.arange(len(datas)), batch=512,
            )  # fmt: skip
        scores = s.numpy()[[where[h] for h in hashes]] if gs else s.numpy()
        return scores * self._y[1] + self._y[0]
