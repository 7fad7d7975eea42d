"""The regression head of :class:`~archmotif.learn.predictor.Predictor` and the loss it is
trained with, shared by every learnt accuracy predictor (the GIN baseline too).

- :func:`rank_loss`: mean squared error on standardised targets plus ``rank_weight``
  times a pairwise logistic ranking loss: for every pair of the batch whose targets
  differ, ``softplus(-(s_i - s_j) / margin_scale)`` for the pair ordered ``y_i > y_j``
  (RankNet), weighted by ``|y_i - y_j|`` so that near-ties, which decide little of
  Kendall tau, count little. Kendall tau only sees the order, and with a few dozen labels
  a squared error alone spends the head's capacity on the outliers (the chance-level
  networks at 10%); the pairwise term spends it on the order.
- :class:`MLPHead`: ``Linear -> ReLU -> Dropout -> Linear -> 1``; several of them
  (``members``, each its own initialisation and its own shuffling) form an ensemble whose
  mean is the prediction, which steadies a fit on 78 labels far more than any single
  head's regularisation does.
- :func:`fit_ensemble`: trains the members (full batch when the labelled set is small,
  minibatches otherwise) for a budget of optimiser steps with Adam and weight decay;
  seeded, deterministic on CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MLPHead", "fit_ensemble", "predict_ensemble", "rank_loss"]

PAIR_BATCH = 512  # rows per step: at most 512^2 pairs in the ranking term


def rank_loss(score: torch.Tensor, y: torch.Tensor, rank_weight: float) -> torch.Tensor:
    """MSE + ``rank_weight`` x |dy|-weighted RankNet loss; ``y`` standardised."""
    score = score.float().reshape(-1)
    mse = F.mse_loss(score, y)
    if rank_weight == 0 or score.numel() < 2:
        return mse
    ds = score[:, None] - score[None, :]
    dy = y[:, None] - y[None, :]
    w = dy.clamp(min=0)  # pairs with y_i > y_j, weighted by the gap
    total = w.sum()
    if total <= 0:
        return mse
    return mse + rank_weight * (F.softplus(-ds) * w).sum() / total


class MLPHead(nn.Module):
    """Features -> one score."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(-1)


def fit_ensemble(
    make: Callable[[], nn.Module],
    forward: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    index: torch.Tensor,
    y: torch.Tensor,
    *,
    members: int,
    steps: int,
    batch: int = PAIR_BATCH,
    lr: float,
    weight_decay: float,
    rank_weight: float,
    gen: torch.Generator,
    device: torch.device,
    aux: Callable[[nn.Module], torch.Tensor] | None = None,
) -> list[nn.Module]:
    """Trains ``members`` modules built by ``make()`` (under torch's global seed, which the
    caller set) to score rows ``index`` (int64 positions into whatever ``forward`` reads)
    against standardised targets ``y``; ``forward(module, index_batch) -> scores``. Each
    member takes ``steps`` optimiser steps on shuffled batches of ``batch`` rows (a budget
    of steps, not epochs: 78 labels and 1,563 get the same amount of training).
    ``aux(module)``, when given, is a further loss added at every step (a label-free
    task the module keeps learning alongside the targets)."""
    out: list[nn.Module] = []
    n = index.numel()
    batch = min(n, batch)
    y = y.to(device)
    for _ in range(members):
        m = make().to(device)
        opt = torch.optim.Adam(m.parameters(), lr=lr, weight_decay=weight_decay)
        m.train()
        done = 0
        while done < steps:  # epochs of shuffled batches until the step budget is spent
            order = torch.randperm(n, generator=gen)
            for s in range(0, n, batch):
                rows = order[s : s + batch]
                if rows.numel() < 2 or done >= steps:
                    continue
                loss = rank_loss(forward(m, index[rows]), y[rows.to(device)], rank_weight)
                if aux is not None:
                    loss = loss + aux(m)
                opt.zero_grad()
                loss.backward()
                opt.step()
                done += 1
        m.eval()
        out.append(m)
    return out


@torch.no_grad()
def predict_ensemble(
    members: list[nn.Module],
    forward: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    index: torch.Tensor,
    *,
    batch: int = 4096,
) -> torch.Tensor:
    """The members' mean score of rows ``index`` (float64, on the CPU)."""
    parts = []
    for s in range(0, index.numel(), batch):
        rows = index[s : s + batch]
        parts.append(torch.stack([forward(m, rows).double() for m in members]).mean(0).cpu())
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)
