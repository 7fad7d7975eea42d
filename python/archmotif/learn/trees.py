"""Gradient-boosted regression trees that save as plain arrays.

:class:`~archmotif.learn.predictor.Predictor`'s tree head. Fitting is scikit-learn's
histogram gradient boosting (:func:`fit_trees`); the fitted trees are then copied into
flat arrays (:class:`TreeEnsemble`), which predict with numpy alone and go into the
predictor's checked file as tensors, so a saved tree head loads without unpickling and
without scikit-learn. Only numerical splits are kept (the features are numbers), which is
all scikit-learn grows when no feature is declared categorical.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from archmotif.errors import LearnError

__all__ = ["MAX_NODES", "TreeEnsemble", "fit_trees"]

MAX_NODES = 10**7  # what a file may declare: far above any tree head fitted here


def fit_trees(x: np.ndarray, y: np.ndarray, *, seed: int) -> TreeEnsemble:
    """Histogram gradient boosting of ``y`` on ``x`` (scikit-learn's defaults, but leaves
    of ``max(2, min(20, n // 8))`` rows: its default 20 cannot split 20-40 labels at
    all), copied into a :class:`TreeEnsemble`."""
    try:
        from sklearn.ensemble import HistGradientBoostingRegressor
    except ImportError:
        raise LearnError("the tree head needs scikit-learn: pip install 'archmotif[gnn]'") from None
    leaf = max(2, min(20, len(y) // 8))
    gbm = HistGradientBoostingRegressor(min_samples_leaf=leaf, random_state=seed)
    return TreeEnsemble.from_sklearn(gbm.fit(x, y), x.shape[1])


class TreeEnsemble:
    """Regression trees as flat arrays over all trees: per node its split ``feature``
    (``-1`` at a leaf), ``threshold`` (a row goes left when its value is ``<=`` it, or
    when the value is NaN and ``nan_left``), ``left`` and ``right`` child (indices into
    the same arrays, always after the node) and leaf ``value``; ``roots`` holds each
    tree's first node. A prediction is ``baseline`` plus the leaf value each tree
    reaches."""

    def __init__(
        self,
        feature: np.ndarray,
        threshold: np.ndarray,
        nan_left: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        value: np.ndarray,
        roots: np.ndarray,
        baseline: float,
        dim: int,
    ) -> None:
        self.feature = np.asarray(feature, dtype=np.int64)
        self.threshold = np.asarray(threshold, dtype=np.float64)
        self.nan_left = np.asarray(nan_left, dtype=bool)
        self.left = np.asarray(left, dtype=np.int64)
        self.right = np.asarray(right, dtype=np.int64)
        self.value = np.asarray(value, dtype=np.float64)
        self.roots = np.asarray(roots, dtype=np.int64)
        self.baseline = float(baseline)
        self.dim = int(dim)
        self._check()

    def _check(self) -> None:
        n = len(self.feature)
        arrays = (self.threshold, self.nan_left, self.left, self.right, self.value)
        if not 0 < n <= MAX_NODES or any(a.shape != (n,) for a in arrays):
            raise ValueError("tree arrays of unequal or bad length")
        if self.roots.ndim != 1 or len(self.roots) == 0:
            raise ValueError("no trees")
        if (np.diff(self.roots) <= 0).any() or self.roots[0] != 0 or self.roots[-1] >= n:
            raise ValueError("tree roots out of order")
        if not (np.isfinite(self.value).all() and np.isfinite(self.baseline)):
            raise ValueError("a leaf value is not finite")
        inner = self.feature >= 0
        if (self.feature >= self.dim).any() or (self.feature < -1).any():
            raise ValueError(f"a split reads a feature outside 0..{self.dim - 1}")
        idx = np.arange(n)
        # each tree's nodes run from its root to the next root; children come after
        # their node inside that range, so every walk ends at a leaf
        stop = np.repeat(np.append(self.roots[1:], n), np.diff(np.append(self.roots, n)))
        for child in (self.left, self.right):
            ok = (child > idx) & (child < stop)
            if not ok[inner].all():
                raise ValueError("a child is not after its node in its tree")
        if np.isnan(self.threshold[inner]).any():
            raise ValueError("a split threshold is NaN")

    @classmethod
    def from_sklearn(cls, gbm: Any, dim: int) -> TreeEnsemble:
        """The trees of a fitted scikit-learn ``HistGradientBoostingRegressor``."""
        parts, roots, at = [], [], 0
        for (tree,) in gbm._predictors:  # one tree per iteration for a regressor
            nodes = tree.nodes
            if nodes["is_categorical"].any():
                raise LearnError("categorical splits are not supported")
            roots.append(at)
            parts.append(nodes)
            at += len(nodes)
        nodes = np.concatenate(parts)
        offset = np.repeat(np.array(roots), [len(p) for p in parts])
        leaf = nodes["is_leaf"].astype(bool)
        return cls(
            feature=np.where(leaf, -1, nodes["feature_idx"]),
            threshold=np.where(leaf, 0.0, nodes["num_threshold"]),
            nan_left=nodes["missing_go_to_left"].astype(bool) & ~leaf,
            left=np.where(leaf, 0, nodes["left"].astype(np.int64) + offset),
            right=np.where(leaf, 0, nodes["right"].astype(np.int64) + offset),
            value=np.where(leaf, nodes["value"], 0.0),
            roots=np.array(roots),
            baseline=float(np.asarray(gbm._baseline_prediction).ravel()[0]),
            dim=dim,
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """float64 ``[n]`` for the rows of ``x`` ``[n, dim]``: all trees walked at once,
        one level per step."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise LearnError(f"the tree head reads {self.dim} features, got shape {x.shape}")
        rows = np.arange(len(x))[:, None]
        at = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        while True:
            f = self.feature[at]
            inner = f >= 0
            if not inner.any():
                break
            v = x[rows, np.where(inner, f, 0)]
            go_left = np.where(np.isnan(v), self.nan_left[at], v <= self.threshold[at])
            at = np.where(inner, np.where(go_left, self.left[at], self.right[at]), at)
        return self.baseline + self.value[at].sum(axis=1)

    def to_payload(self) -> dict[str, Any]:
        """The arrays as tensors, for :mod:`archmotif.learn.encoder_file`."""
        return {
            "feature": torch.from_numpy(self.feature.astype(np.int32)),
            "threshold": torch.from_numpy(self.threshold),
            "nan_left": torch.from_numpy(self.nan_left.astype(np.uint8)),
            "left": torch.from_numpy(self.left.astype(np.int32)),
            "right": torch.from_numpy(self.right.astype(np.int32)),
            "value": torch.from_numpy(self.value),
            "roots": torch.from_numpy(self.roots.astype(np.int32)),
            "baseline": self.baseline,
            "dim": self.dim,
        }

    @classmethod
    def from_payload(cls, d: Any, dim: int) -> TreeEnsemble:
        """The ensemble :meth:`to_payload` wrote, checked (every walk ends at a leaf,
        every split reads one of ``dim`` features); anything else raises ``ValueError``."""
        if not isinstance(d, dict) or d.get("dim") != dim:
            raise ValueError(f"the tree head does not read the {dim} features")
        names = ("feature", "threshold", "nan_left", "left", "right", "value", "roots")
        arrays = [d.get(k) for k in names]
        if not all(isinstance(a, torch.Tensor) and a.ndim == 1 for a in arrays):
            raise ValueError("tree arrays missing")
        baseline = d.get("baseline")
        if isinstance(baseline, bool) or not isinstance(baseline, (int, float)):
            raise ValueError("bad tree baseline")
        return cls(*(a.numpy() for a in arrays), baseline=float(baseline), dim=dim)
