"""The NAS-Bench-201 few-label accuracy-prediction benchmark behind
``archmotif eval --task predict``.

The space: the 15,625 NAS-Bench-201 networks (:mod:`archmotif.datasets.nasbench201`) at
the op-plus-attributes level of detail (a 1x1 and a 3x3 convolution differ), labelled
with their CIFAR-10 accuracy (``cifar10_accuracy``, from analog-nasbench). For every
training size and seed, that many networks are drawn at random (``numpy`` generator of
the seed), each method is fitted on them and predicts all the other networks; Kendall's
tau-b and Spearman's rho between prediction and accuracy on those test networks are
recorded. Pretraining and every label-free feature fit see the whole space and never an
accuracy; only ``fit`` sees the labels of its training networks.

:func:`run_benchmark` returns the rows and writes the markdown report and its raw
``.json`` beside it (:mod:`archmotif.prediction.report_markdown`). ``quick`` (CI) takes
the first ``QUICK_SPACE`` networks, sizes 20 and 40, and 2 epochs per encoder stage.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from archmotif.atomic import write_atomic
from archmotif.errors import InvalidArgument
from archmotif.experiments.retrieval_report import machine
from archmotif.graph import OpGraph
from archmotif.prediction.methods import METHODS, make_methods

__all__ = ["SIZES", "load_space", "rank_correlations", "run_benchmark", "split", "twin_oracle"]

SIZES = (78, 156, 781, 1563)  # 0.5%, 1%, 5%, 10% of 15,625
QUICK_SPACE = 400
QUICK_SIZES = (20, 40)
TARGET = "cifar10_accuracy"


def load_space(limit: int | None = None) -> tuple[list[OpGraph], np.ndarray]:
    """The NAS-Bench-201 networks (the first ``limit``) and their CIFAR-10 accuracies."""
    from archmotif.datasets import nasbench201

    graphs = nasbench201.generate(limit)
    if not graphs or TARGET not in graphs[0].labels:
        raise ImportError(
            "NAS-Bench-201 accuracies need the analog-nasbench package "
            "(pip install 'archmotif[nas]')"
        )
    return graphs, np.array([float(g.labels[TARGET]) for g in graphs])


def split(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` training positions drawn at random from ``range(n)`` and the rest."""
    if not 2 <= size < n:
        raise InvalidArgument(f"a training size must be in [2, {n - 1}], got {size}")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:size]), np.sort(order[size:])


def rank_correlations(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Kendall's tau-b and Spearman's rho of ``pred`` against ``truth``."""
    from scipy.stats import kendalltau, spearmanr

    tau = float(kendalltau(pred, truth).statistic)
    rho = float(spearmanr(pred, truth).statistic)
    return {"kendall_tau": tau, "spearman_rho": rho}


def twin_oracle(graphs: Sequence[OpGraph], y: np.ndarray) -> dict[str, float]:
    """How far structure can decide the labels: each network that has isomorphic twins
    (same canonical hash at the default detail) predicted by the mean label of its twins
    (itself left out). ``{"kendall_tau", "networks", "classes", "within_std"}``: tau over
    the networks with twins, their count, the isomorphism classes of the space, and the
    mean standard deviation of the labels within a class of two or more."""
    from archmotif.attributes import DEFAULT_DETAIL
    from archmotif.mining import canonical_hash

    hashes = [canonical_hash(g, detail=DEFAULT_DETAIL) for g in graphs]
    cls = np.unique(np.array([format(h, "x") for h in hashes]), return_inverse=True)[1]
    count = np.bincount(cls)
    total, sq = np.bincount(cls, weights=y), np.bincount(cls, weights=y * y)
    twins = count[cls] > 1
    others = (total[cls] - y) / np.maximum(count[cls] - 1, 1)
    spread = np.sqrt(np.maximum(sq / count - (total / count) ** 2, 0.0))[count > 1]
    tau = rank_correlations(others[twins], y[twins])["kendall_tau"] if twins.sum() > 2 else None
    return {
        "kendall_tau": float("nan") if tau is None else tau,
        "networks": int(twins.sum()),
        "classes": len(count),
        "within_std": float(spread.mean()) if spread.size else 0.0,
    }


def run_benchmark(
    methods: Sequence[str] = METHODS,
    sizes: Sequence[int] = SIZES,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    output: str | os.PathLike[str] = "prediction.md",
    *,
    quick: bool = False,
    encoder: str | os.PathLike[str] | None = None,
    command: str = "",
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Runs the grid (``encoder``: a pretrained encoder file for ``ours``, instead of
    pretraining here); writes ``output`` and ``<output stem>.json``; returns the rows
    ``{"method", "size", "seed", "kendall_tau", "spearman_rho", "fit_s", "predict_s"}``
    (``"error"`` instead of the figures for a run that raised)."""
    started = time.perf_counter()
    graphs, y = load_space(QUICK_SPACE if quick else None)
    sizes = QUICK_SIZES if quick else tuple(sizes)
    log(f"nasbench201: {len(graphs)} networks, accuracy {y.min():.2f}-{y.max():.2f}%")
    regressors, cost = make_methods(methods, graphs, quick=quick, encoder=encoder, log=log)
    meta = {
        "command": command,
        "networks": len(graphs),
        "distinct_graphs": int(cost["distinct"]),
        "sizes": list(sizes),
        "seeds": list(seeds),
        "quick": quick,
        "pretrain_wall_s": cost.get("pretrain_wall_s"),
        "pretrain_cpu_s": cost.get("pretrain_cpu_s"),
        "surrogate_wall_s": cost.get("surrogate_wall_s"),
        "surrogate_cpu_s": cost.get("surrogate_cpu_s"),
        "twins": twin_oracle(graphs, y),
        "encoder_file": None if encoder is None else os.fspath(encoder),
        "machine": machine(),
    }
    rows: list[dict[str, Any]] = []
    # seeds outside sizes: a run stopped early still has every size at the first seeds;
    # the report is rewritten after every split, marked partial until the grid is done
    for i, seed in enumerate(seeds):
        for size in sizes:
            train, test = split(len(graphs), size, seed)
            tr = [graphs[i] for i in train]
            te = [graphs[i] for i in test]
            for name in methods:
                model = regressors[name]
                rows.append(_one(name, model, tr, y[train], te, y[test], size, seed, log))
            done = i == len(seeds) - 1 and size == sizes[-1]
            _write(rows, output, {**meta, "partial": not done}, started)
    return rows


def _write(rows: list[dict[str, Any]], output: str | os.PathLike[str], meta: dict[str, Any],
           started: float) -> None:  # fmt: skip
    from archmotif.prediction.report_markdown import write_report

    meta = {
        **meta,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "total_s": time.perf_counter() - started,
    }
    out = os.fspath(output)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    raw = os.path.splitext(out)[0] + ".json"
    payload = json.dumps({"meta": meta, "rows": rows}, indent=1).encode()
    write_atomic(raw, lambda f: f.write(payload))
    write_report(rows, out, meta=meta)


def _one(
    name: str,
    model: Any,
    tr: list[OpGraph],
    ytr: np.ndarray,
    te: list[OpGraph],
    yte: np.ndarray,
    size: int,
    seed: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    head = {"method": name, "size": size, "seed": seed}
    try:
        t = time.perf_counter()
        model.fit(tr, ytr, seed=seed)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        pred = model.predict(te)
        predict_s = time.perf_counter() - t
    except Exception as e:  # one failing method must not sink the whole report
        log(f"  {name} size {size} seed {seed}: FAILED {type(e).__name__}: {e}")
        return {**head, "error": f"{type(e).__name__}: {e}"}
    r = rank_correlations(pred, yte)
    log(
        f"  {name} size {size} seed {seed}: tau {r['kendall_tau']:.3f} "
        f"rho {r['spearman_rho']:.3f} (fit {fit_s:.1f} s, predict {predict_s:.1f} s)"
    )
    return {**head, **r, "fit_s": fit_s, "predict_s": predict_s}
