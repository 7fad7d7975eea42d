"""Label-free pretraining of :class:`~archmotif.learn.predictor.Predictor`'s heads:
regressing what an architecture's graph says about itself, on every graph of the space.

With a few dozen labels a head learns little beyond what its initial weights already
separate. In the spirit of FGP's flow-surrogate pretraining (which regresses a quantity
computed from the graph, never a trained accuracy), each head's hidden layer is first
trained to predict, from the same features the head reads, the *architecture
surrogates* of every unlabelled graph:

- the count of every operator at the predictor's level of detail (``log1p``), what the
  network is made of;
- its total FLOPs (``log1p`` of the summed ``node_flops``) and the FLOPs along its
  heaviest input-to-output path, when every graph carries FLOPs;
- its node count, its depth (longest path, in nodes), the most parameterised operators
  (convolutions and linear layers) along one path, and the number of input-to-output
  paths (``log1p``): how the operators are wired, which a count does not see.

Columns constant over the graphs are dropped and the rest standardised. The labelled
fit then starts from those weights (:func:`pretrain_heads`); nothing here sees a target.
On NAS-Bench-201 this is the pretraining that helps (docs/prediction.md); the
contrastive stages of :class:`~archmotif.Encoder`, built for retrieval, make the motif
embeddings invariant to what decides accuracy and hurt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archmotif.graph import OpGraph

__all__ = ["PARAMETERISED", "SurrogateHead", "pretrain_heads", "surrogate_targets", "wiring"]

PARAMETERISED = ("convolution", "linear")  # op-name prefixes that carry weights
BATCH = 512


def wiring(g: OpGraph) -> list[float]:
    """``[depth, parameterised ops on the deepest such path, log1p paths, log1p FLOPs on
    the heaviest path]`` of the DAG ``g`` (sources to sinks; FLOPs 0 when absent)."""
    n = g.num_nodes
    if n == 0:
        return [0.0, 0.0, 0.0, 0.0]
    edges = np.asarray(g.edges, dtype=np.int64).reshape(2, -1)
    names = g.op_names
    weighted = np.array(
        [names[o].startswith(PARAMETERISED) for o in np.asarray(g.ops)], dtype=np.float64
    )
    flops = np.zeros(n) if g.node_flops is None else np.asarray(g.node_flops, np.float64)
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = np.zeros(n, dtype=np.int64)
    for a, b in edges.T.tolist():
        succ[a].append(b)
        indeg[b] += 1
    depth, convs, heavy = np.ones(n), weighted.copy(), flops.copy()
    paths = (indeg == 0).astype(np.float64)
    left, ready = indeg.copy(), [int(v) for v in np.flatnonzero(indeg == 0)]
    while ready:  # Kahn's order: every node after all its predecessors
        v = ready.pop()
        for w in succ[v]:
            depth[w] = max(depth[w], depth[v] + 1)
            convs[w] = max(convs[w], convs[v] + weighted[w])
            heavy[w] = max(heavy[w], heavy[v] + flops[w])
            paths[w] += paths[v]
            left[w] -= 1
            if left[w] == 0:
                ready.append(w)
    sinks = [v for v in range(n) if not succ[v]] or list(range(n))
    return [
        float(depth[sinks].max()),
        float(convs[sinks].max()),
        float(np.log1p(paths[sinks].sum())),
        float(np.log1p(heavy[sinks].max())),
    ]


def surrogate_targets(graphs: Sequence[OpGraph], detail: str) -> np.ndarray:
    """float32 ``[len(graphs), k]``: the standardised architecture surrogates of
    ``graphs`` (see the module docstring; constant columns dropped, ``k`` may be 0)."""
    views = [g.view(detail) for g in graphs]
    ops = sorted({n for v in views for n in v.op_names})
    col = {n: i for i, n in enumerate(ops)}
    with_flops = all(g.node_flops is not None for g in graphs)
    out = np.zeros((len(graphs), len(ops) + 6))
    for r, (g, v) in enumerate(zip(graphs, views, strict=True)):
        for op, c in v.op_counts().items():
            out[r, col[op]] = np.log1p(c)
        total = float(np.asarray(g.node_flops).sum()) if with_flops else 0.0
        out[r, len(ops)] = np.log1p(total)
        out[r, len(ops) + 1] = np.log1p(g.num_nodes)
        out[r, len(ops) + 2 :] = wiring(g)
    if not with_flops:  # no FLOPs at all: the two FLOPs columns say nothing
        out[:, len(ops)] = 0.0
        out[:, -1] = 0.0
    sd = out.std(axis=0)
    keep = sd > 1e-9
    return ((out[:, keep] - out[:, keep].mean(axis=0)) / sd[keep]).astype(np.float32)


class SurrogateHead(nn.Module):
    """A prediction head (an :class:`~archmotif.learn.rank_head.MLPHead`) and a linear
    read-out of its hidden layer to the surrogates; ``forward`` is the head's."""

    def __init__(self, head: nn.Module, hidden: int, num_targets: int) -> None:
        super().__init__()
        self.head = head
        self.readout = nn.Linear(hidden, num_targets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def surrogate_loss(
        self, x: torch.Tensor, targets: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        """Squared error of the surrogates regressed from the hidden layer, on a batch of
        :data:`BATCH` rows of ``x`` drawn with ``gen``."""
        if targets.shape[1] == 0:
            return x.new_zeros(())
        rows = torch.randint(0, x.shape[0], (min(BATCH, x.shape[0]),), generator=gen)
        rows = rows.to(x.device)
        return F.mse_loss(self.readout(self.head.net[:3](x[rows])), targets[rows])


def pretrain_heads(
    make: Callable[[], SurrogateHead],
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    members: int,
    steps: int,
    lr: float,
    weight_decay: float,
    gen: torch.Generator,
) -> list[dict[str, torch.Tensor]]:
    """The state of ``members`` :class:`SurrogateHead` built by ``make()``, each trained
    ``steps`` Adam steps to regress the surrogates ``targets`` of the rows ``x``."""
    states = []
    for _ in range(members):
        m = make().to(x.device)
        opt = torch.optim.Adam(m.parameters(), lr=lr, weight_decay=weight_decay)
        m.train()
        for _ in range(steps if targets.shape[1] else 0):
            loss = m.surrogate_loss(x, targets, gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
        m.eval()
        states.append({k: v.detach().clone() for k, v in m.state_dict().items()})
    return states
