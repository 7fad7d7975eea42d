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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archmotif.graph import OpGraph

__all__ = [
    "PARAMETERISED",
    "SurrogateHead",
    "Surrogates",
    "pretrain_heads",
    "surrogate_targets",
    "wiring",
]

PARAMETERISED = ("convolution", "linear")  # op-name prefixes that carry weights
BATCH = 512


def wiring(g: OpGraph) -> list[float]:
    """``[depth, parameterised ops on the deepest such path, log1p paths, log1p FLOPs on
    the heaviest path]`` of the DAG ``g`` (sources to sinks; FLOPs 0 when absent): one
    pass of the core's path sums (``_core.path_sums``, Kahn's order, no Python loop)."""
    from archmotif import _core

    n = g.num_nodes
    if n == 0:
        return [0.0, 0.0, 0.0, 0.0]
    edges = np.ascontiguousarray(np.asarray(g.edges, dtype=np.int64).reshape(2, -1))
    names = g.op_names
    weighted = np.array([name.startswith(PARAMETERISED) for name in names], dtype=np.float64)
    flops = np.zeros(n) if g.node_flops is None else np.asarray(g.node_flops, np.float64)
    columns = np.stack([np.ones(n), weighted[np.asarray(g.ops)], flops], axis=1)
    best, paths = _core.path_sums(n, edges, np.ascontiguousarray(columns))
    has_out = np.zeros(n, dtype=bool)
    has_out[edges[0]] = True
    sinks = np.flatnonzero(~has_out)
    if len(sinks) == 0:
        sinks = np.arange(n)
    return [
        float(best[sinks, 0].max()),
        float(best[sinks, 1].max()),
        # counts past f64's range (over ~1,000 residual blocks in series) saturate
        float(np.log1p(min(paths[sinks].sum(), np.finfo(np.float64).max))),
        float(np.log1p(best[sinks, 2].max())),
    ]


def walk_counts(g: OpGraph, detail: str, ops: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The operator walks of ``g`` of two and three nodes along its edges (``a -> b``,
    ``a -> b -> c``), counted: ``(codes, counts)`` with codes sorted, ``a * k + b`` for a
    pair and ``k² + (a * k + b) * k + c`` for a triple, ``a``, ``b``, ``c`` positions in
    ``ops`` (``k`` of them; a walk through an operator not in ``ops`` is left out).
    Vectorised over nodes and edges: a triple is an in-edge and an out-edge of its middle
    node, enumerated from the per-node counts of predecessor and successor operators."""
    import scipy.sparse as sp

    v = g.view(detail)
    k, n = len(ops), v.num_nodes
    col = {name: i for i, name in enumerate(ops)}
    lut = np.array([col.get(name, -1) for name in v.op_names] + [-1], dtype=np.int64)
    op = lut[np.asarray(v.ops, dtype=np.int64)] if n else np.zeros(0, np.int64)
    e = np.asarray(v.edges, dtype=np.int64).reshape(2, -1)
    src, dst = e[0], e[1]
    ok = (op[src] >= 0) & (op[dst] >= 0)
    src, dst = src[ok], dst[ok]
    pairs = op[src] * k + op[dst]
    ones = np.ones(len(src))
    before = sp.csr_matrix((ones, (dst, op[src])), shape=(n, k))  # per node: preds' ops
    after = sp.csr_matrix((ones, (src, op[dst])), shape=(n, k))  # succs' ops
    before.sum_duplicates()
    after.sum_duplicates()
    ci, co = np.diff(before.indptr), np.diff(after.indptr)
    m = ci * co
    node = np.repeat(np.arange(n), m)
    j = np.arange(int(m.sum())) - np.repeat(np.cumsum(m) - m, m)
    width = co[node]
    i_in = before.indptr[node] + j // np.maximum(width, 1)
    i_out = after.indptr[node] + j % np.maximum(width, 1)
    a, c = before.indices[i_in].astype(np.int64), after.indices[i_out].astype(np.int64)
    triples = k * k + (a * k + op[node]) * k + c
    codes = np.concatenate([pairs, triples])
    weights = np.concatenate([ones, before.data[i_in] * after.data[i_out]])
    uniq, inv = np.unique(codes, return_inverse=True)
    return uniq, np.bincount(inv, weights=weights, minlength=len(uniq))


class Surrogates:
    """The architecture surrogates as a fitted featuriser: :meth:`fit_transform` on the
    graphs of a space fixes the columns (the operators of the space at ``detail``,
    whether FLOPs count: only when every graph carries them, which constant columns are
    dropped) and the standardisation; :meth:`transform` then gives any graph the same
    columns, so a graph's row never depends on which graphs it is featurised with. An
    operator the space lacks adds no column; a graph without FLOPs gets 0 for them.

    ``walks=True`` adds the ``log1p`` count of every operator walk of two and three
    nodes seen on the space (:func:`walk_counts`): which operators feed which, what the
    tree head of :class:`~archmotif.learn.predictor.Predictor` reads."""

    def __init__(self, detail: str, *, walks: bool = False) -> None:
        self.detail = detail
        self.walks = walks
        self.ops: list[str] = []
        self.walk_codes = np.zeros(0, dtype=np.int64)
        self.with_flops = False
        self.keep = np.zeros(0, dtype=bool)
        self.mean = np.zeros(0)
        self.std = np.zeros(0)

    def _table(self, graphs: Sequence[OpGraph], walks: list | None = None) -> np.ndarray:
        col = {n: i for i, n in enumerate(self.ops)}
        k = len(self.ops)
        out = np.zeros((len(graphs), k + 6 + len(self.walk_codes)))
        for r, g in enumerate(graphs):
            for op, c in g.view(self.detail).op_counts().items():
                if op in col:
                    out[r, col[op]] = np.log1p(c)
            flops = self.with_flops and g.node_flops is not None
            out[r, k] = np.log1p(float(np.asarray(g.node_flops).sum())) if flops else 0.0
            out[r, k + 1] = np.log1p(g.num_nodes)
            out[r, k + 2 : k + 6] = wiring(g)
            if not flops:  # no FLOPs: the two FLOPs columns say nothing
                out[r, k + 5] = 0.0
            if self.walks:
                codes, counts = walks[r] if walks else walk_counts(g, self.detail, self.ops)
                at = np.searchsorted(self.walk_codes, codes)
                at = np.minimum(at, max(len(self.walk_codes) - 1, 0))
                seen = self.walk_codes[at] == codes if len(self.walk_codes) else at < 0
                out[r, k + 6 + at[seen]] = np.log1p(counts[seen])
        return out

    def fit_transform(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        """Fits on ``graphs`` and returns their float32 ``[len(graphs), k]`` rows."""
        self.ops = sorted({n for g in graphs for n in g.view(self.detail).op_names})
        self.with_flops = bool(graphs) and all(g.node_flops is not None for g in graphs)
        walks = [walk_counts(g, self.detail, self.ops) for g in graphs] if self.walks else None
        codes = [w[0] for w in walks or []]
        self.walk_codes = np.unique(np.concatenate(codes)) if codes else np.zeros(0, np.int64)
        out = self._table(graphs, walks)
        sd = out.std(axis=0)
        self.keep = sd > 1e-9
        self.mean, self.std = out[:, self.keep].mean(axis=0), sd[self.keep]
        return ((out[:, self.keep] - self.mean) / self.std).astype(np.float32)

    def transform(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        """float32 ``[len(graphs), k]``: the fitted columns of ``graphs``."""
        out = self._table(graphs)
        return ((out[:, self.keep] - self.mean) / self.std).astype(np.float32)

    @property
    def width(self) -> int:
        """How many columns :meth:`transform` gives."""
        return int(self.keep.sum())

    @property
    def plain_width(self) -> int:
        """How many of them come before the walks (the surrogates proper, first)."""
        return int(self.keep[: len(self.ops) + 6].sum())

    def to_payload(self) -> dict[str, Any]:
        """The fitted columns, for :mod:`archmotif.learn.encoder_file`."""
        return {
            "detail": self.detail,
            "ops": list(self.ops),
            "with_flops": self.with_flops,
            "walks": self.walks,
            "walk_codes": torch.from_numpy(self.walk_codes.astype(np.int64)),
            "keep": torch.from_numpy(self.keep.astype(np.uint8)),
            "mean": torch.from_numpy(self.mean.astype(np.float64)),
            "std": torch.from_numpy(self.std.astype(np.float64)),
        }

    @classmethod
    def from_payload(cls, d: Any) -> Surrogates:
        """What :meth:`to_payload` wrote, checked; anything else raises ``ValueError``."""
        if not isinstance(d, dict) or not isinstance(d.get("detail"), str):
            raise ValueError("bad surrogate columns")
        ops, keep, mean, std = d.get("ops"), d.get("keep"), d.get("mean"), d.get("std")
        if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
            raise ValueError("bad surrogate operators")
        codes = d.get("walk_codes", torch.zeros(0, dtype=torch.int64))
        if not (isinstance(codes, torch.Tensor) and codes.dtype == torch.int64):
            raise ValueError("bad walk codes")
        out = cls(d["detail"], walks=bool(d.get("walks", False)))
        out.walk_codes = codes.numpy()
        k = len(ops)
        limit = k * k + k**3
        if len(out.walk_codes) and not (
            (np.diff(out.walk_codes) > 0).all() and 0 <= out.walk_codes[0] < limit
            and out.walk_codes[-1] < limit
        ):  # fmt: skip
            raise ValueError("bad walk codes")
        if not (isinstance(keep, torch.Tensor) and keep.shape == (k + 6 + len(out.walk_codes),)):
            raise ValueError("bad surrogate columns")
        out.ops, out.with_flops = ops, bool(d.get("with_flops"))
        out.keep = keep.numpy().astype(bool)
        for t in (mean, std):
            ok = isinstance(t, torch.Tensor) and t.shape == (out.width,)
            if not (ok and torch.isfinite(t).all()):
                raise ValueError("bad surrogate scale")
        out.mean, out.std = mean.numpy().astype(np.float64), std.numpy().astype(np.float64)
        if not (out.std > 0).all():
            raise ValueError("a surrogate's scale is not positive")
        return out


def surrogate_targets(graphs: Sequence[OpGraph], detail: str) -> np.ndarray:
    """float32 ``[len(graphs), k]``: the standardised architecture surrogates of
    ``graphs`` (see the module docstring; constant columns dropped, ``k`` may be 0)."""
    return Surrogates(detail).fit_transform(graphs)


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
