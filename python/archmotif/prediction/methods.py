"""The rows of the prediction benchmark: each a *regressor* with ``fit(graphs, targets, *,
seed)`` and ``predict(graphs) -> float64 [n]``, built once per benchmark run by
:func:`make_methods` from the whole space (``graphs``, unlabelled: what pretraining and
the label-free feature fits may see).

- ``ours``: :class:`~archmotif.learn.predictor.Predictor` as it is by default: over an
  :class:`Encoder` mined on every graph of the space without contrastive training (0
  epochs in both stages), MLP heads over the motif embeddings and operator walks,
  pretrained on the architecture surrogates of every distinct graph of the space
  (:mod:`archmotif.learn.surrogate`; no label seen), and a tree head, blended by
  cross-validation on the labels (``head="auto"``);
- ``ours-mlp``, ``ours-trees``: its two heads alone (``head="mlp"``, ``"trees"``);
- ``ours-no-pretrain``: ``ours-mlp`` without the heads' pretraining
  (``pretrain_steps=0``): nothing learnt before the labels;
- ``ours-contrastive``: MLP heads over the motif embeddings alone of the encoder trained
  contrastively on the space (the retrieval encoder, default epochs), pretrained the
  same way;
- ``ours-graph``: that one with the head reading the stage-2 graph embedding
  (``features="graph"``) instead of the mean motif embedding;
- ``motif-bag-ridge``: the hierarchical TF-IDF motif bag (fitted on the space) +
  ridge regression;
- ``wl-ridge``: the Weisfeiler-Lehman subtree TF-IDF + SVD features (fitted on the
  space) + ridge regression;
- ``ophist-gbm``: the count of every op (at the benchmark's level of detail) +
  scikit-learn's histogram gradient boosting;
- ``gin``: :class:`~archmotif.learn.gin_regressor.GINRegressor`, from scratch on the raw
  operator graph.

The ridge's strength is chosen on the labelled graphs alone, by exact leave-one-out
error over a fixed grid (one thin SVD of the labelled features serves every strength).
Fixed features are computed once per distinct graph (canonical hash).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from archmotif.attributes import DEFAULT_DETAIL
from archmotif.graph import OpGraph
from archmotif.mining import canonical_hash

__all__ = ["METHODS", "FeatureRegressor", "make_methods", "ridge_loo"]

METHODS = (
    "ours",
    "ours-mlp",
    "ours-trees",
    "ours-no-pretrain",
    "ours-contrastive",
    "ours-graph",
    "motif-bag-ridge",
    "wl-ridge",
    "ophist-gbm",
    "gin",
)
RIDGE_GRID = tuple(10.0**k for k in range(-3, 4))
# what each row of ours sets on Predictor (over the same untrained encoder)
ROW_SETTINGS: dict[str, dict[str, Any]] = {
    "ours": {},
    "ours-mlp": {"head": "mlp"},
    "ours-trees": {"head": "trees"},
    "ours-no-pretrain": {"head": "mlp", "pretrain_steps": 0, "surrogate_weight": 0.0},
}


def ridge_loo(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Ridge regression on centred targets with the strength of :data:`RIDGE_GRID` that
    has the least exact leave-one-out squared error, through one thin SVD of ``x``:
    ``(weights [d], y mean, strength)``."""
    ym = float(y.mean())
    yc = y - ym
    u, sv, vt = np.linalg.svd(x, full_matrices=False)
    uty = u.T @ yc
    best: tuple[float, np.ndarray, float] | None = None
    for lam in RIDGE_GRID:
        shrink = sv**2 / (sv**2 + lam)
        fitted = u @ (shrink * uty)
        hat = (u**2) @ shrink  # the diagonal of the hat matrix
        err = float(np.mean(((yc - fitted) / np.maximum(1.0 - hat, 1e-12)) ** 2))
        if best is None or err < best[0]:
            best = (err, vt.T @ (sv / (sv**2 + lam) * uty), lam)
    assert best is not None
    return best[1], ym, best[2]


class FeatureRegressor:
    """Fixed features of every graph of the space, one regressor per labelled set."""

    def __init__(
        self, name: str, featurise: Callable[[list[OpGraph]], np.ndarray], model: str
    ) -> None:
        self.name, self.model = name, model
        self._featurise = featurise
        self._memo: dict[int, np.ndarray] = {}
        self._fitted: Any = None

    def _x(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        hashes = [canonical_hash(g, detail=DEFAULT_DETAIL) for g in graphs]
        todo: dict[int, OpGraph] = {}
        for h, g in zip(hashes, graphs, strict=True):
            if h not in self._memo:
                todo.setdefault(h, g)
        if todo:
            self._memo.update(zip(todo, self._featurise(list(todo.values())), strict=True))
        return np.stack([self._memo[h] for h in hashes]).astype(np.float64)

    def fit(self, graphs: Sequence[OpGraph], targets: np.ndarray, *, seed: int = 0) -> Any:
        x, y = self._x(graphs), np.asarray(targets, dtype=np.float64)
        if self.model == "ridge":
            w, ym, _ = ridge_loo(x, y)
            self._fitted = (w, ym)
        else:
            from archmotif.learn.trees import fit_trees

            self._fitted = fit_trees(x, y, seed=seed)
        return self

    def predict(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        x = self._x(graphs)
        if self.model == "ridge":
            w, ym = self._fitted
            return x @ w + ym
        return np.asarray(self._fitted.predict(x), dtype=np.float64)


def _op_histogram(space: list[OpGraph]) -> Callable[[list[OpGraph]], np.ndarray]:
    names = sorted({n for g in space for n in g.view(DEFAULT_DETAIL).op_names})
    col = {n: i for i, n in enumerate(names)}

    def featurise(graphs: list[OpGraph]) -> np.ndarray:
        out = np.zeros((len(graphs), len(names)))
        for r, g in enumerate(graphs):
            for op, c in g.view(DEFAULT_DETAIL).op_counts().items():
                if op in col:
                    out[r, col[op]] = c
        return out

    return featurise


def make_methods(
    names: Sequence[str],
    space: list[OpGraph],
    *,
    quick: bool = False,
    encoder: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The regressors ``names`` over ``space`` and what preparing them cost:
    ``{"distinct", "pretrain_wall_s", "pretrain_cpu_s", "surrogate_wall_s",
    "surrogate_cpu_s"}`` (the contrastive encoder's pretraining, absent when ``encoder``,
    a file pretrained beforehand, is given for ``ours-contrastive`` and ``ours-graph``; the
    heads' surrogate pretraining for ``ours``)."""
    from archmotif.learn.encoder import Encoder
    from archmotif.learn.gin_regressor import GINRegressor
    from archmotif.learn.motif_bag import MotifBag
    from archmotif.learn.predictor import UNTRAINED_ENCODER, Predictor
    from archmotif.learn.wl import WLBaseline

    unknown = sorted(set(names) - set(METHODS))
    if unknown:
        from archmotif.errors import InvalidArgument

        raise InvalidArgument(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    seen: dict[int, OpGraph] = {}
    for g in space:
        seen.setdefault(canonical_hash(g, detail=DEFAULT_DETAIL), g)
    distinct = list(seen.values())  # raw graphs: the encoders view them at DEFAULT_DETAIL
    cost: dict[str, float] = {"distinct": float(len(distinct))}
    epochs = {"stage1_epochs": 2, "stage2_epochs": 2} if quick else {}
    out: dict[str, Any] = {}
    encoders: dict[str, Encoder] = {}  # pretrained and random, shared by the rows
    head = {"steps": 20, "members": 2, "pretrain_steps": 20} if quick else {}
    for name in names:
        t, c = time.perf_counter(), time.process_time()
        if name in ("ours-contrastive", "ours-graph"):
            if "contrastive" not in encoders and encoder is not None:
                encoders["contrastive"] = Encoder.load(encoder, progress=False)
            elif "contrastive" not in encoders:
                # without the rewrite views: they teach the invariance to depth and to
                # operator variants that retrieval wants and accuracy contradicts
                no_rewrites = {"rewrite_depth": 0.0, "rewrite_swap": 0.0}
                enc = Encoder(detail=DEFAULT_DETAIL, **no_rewrites, **epochs, progress=False)
                encoders["contrastive"] = enc.fit(distinct, seed=0)
                cost["pretrain_wall_s"] = time.perf_counter() - t
                cost["pretrain_cpu_s"] = time.process_time() - c
            features = "graph" if name == "ours-graph" else "motifs"
            out[name] = Predictor(encoders["contrastive"], features=features, head="mlp", **head)
            out[name].pretrain(distinct)
        elif name in ("ours", "ours-mlp", "ours-trees", "ours-no-pretrain"):
            if "untrained" not in encoders:
                encoders["untrained"] = Encoder(
                    detail=DEFAULT_DETAIL, **UNTRAINED_ENCODER, progress=False
                ).fit(distinct, seed=0)
            t2, c2 = time.perf_counter(), time.process_time()
            settings = ROW_SETTINGS.get(name, {})
            out[name] = Predictor(encoders["untrained"], **{**head, **settings}).pretrain(distinct)
            if name == "ours":
                cost["surrogate_wall_s"] = time.perf_counter() - t2
                cost["surrogate_cpu_s"] = time.process_time() - c2
        elif name == "motif-bag-ridge":
            bag = MotifBag(detail=DEFAULT_DETAIL).fit(distinct)
            out[name] = FeatureRegressor(name, bag.embed, "ridge")
        elif name == "wl-ridge":
            wl = WLBaseline(detail=DEFAULT_DETAIL).fit(distinct)
            out[name] = FeatureRegressor(name, wl.embed, "ridge")
        elif name == "ophist-gbm":
            out[name] = FeatureRegressor(name, _op_histogram(space), "gbm")
        else:
            out[name] = GINRegressor(steps=10 if quick else 300)
        log(f"  prepared {name} ({time.perf_counter() - t:.1f} s)")
    return out, cost
