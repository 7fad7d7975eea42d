"""The retrieval report: every method on every dataset under both protocols, written as
markdown with one plot, so the comparison with the paper regenerates from one command.

``run_report(datasets, methods, protocols, seeds, output)`` evaluates each combination
with :func:`~archmotif.retrieval.evaluate.evaluate` (relevance = the ``family`` label:
the fine family on real-world sets, the genotype on DARTS), then writes ``output``
(markdown: sizes, seeds, machine, wall times, the exact command, one table per dataset x
protocol, the paper's published numbers as reference rows) and ``<output stem>.png``
(MAP@20 and NDCG@20 per method). A method that raises during the run is reported as
failed, with its error, and the others still run.

Method names map to classes (:data:`METHODS`); a class that does not exist yet raises
:class:`~archmotif.errors.RetrievalError` naming it (or, with ``skip_missing``, the
method is left out and the report says so; likewise a dataset that cannot be loaded).
``quick`` shrinks the run for CI: a DARTS set of 12 genotypes (60 graphs) and, for the
trained methods, the constructor's ``epochs``-like arguments set to 2 when it has them.
"""

from __future__ import annotations

import importlib
import inspect
import os
import platform
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from archmotif.attributes import DEFAULT_DETAIL
from archmotif.errors import RetrievalError
from archmotif.graph import OpGraph
from archmotif.retrieval.evaluate import EvalResult, evaluate

__all__ = ["METHODS", "PAPER", "load_dataset", "make_method", "run_report"]

# name -> (module, class, constructor arguments)
METHODS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ours": ("archmotif.learn.encoder", "Encoder", {}),
    "ours-unsup": ("archmotif.learn.encoder", "Encoder", {"use_labels": False}),
    "ours-dense": ("archmotif.learn.encoder", "Encoder", {"bag_weight": 0.0}),
    "nar": ("archmotif.learn.baselines", "NARBaseline", {}),
    "gcn": ("archmotif.learn.baselines", "GNNBaseline", {"conv": "gcn"}),
    "gat": ("archmotif.learn.baselines", "GNNBaseline", {"conv": "gat"}),
    "wl": ("archmotif.learn.wl", "WLBaseline", {}),
    "motif-bag": ("archmotif.learn.motif_bag", "MotifBag", {}),
}

# Pei et al., ICLR 2024, Tables 1-2 (@20, @50, @100). Their data, labels and protocol
# differ from ours (see the research notes): reference only, not comparable.
PAPER: dict[str, dict[str, dict[str, tuple[float, float, float]]]] = {
    "real": {
        "GCN": {"MRR": (0.737, 0.745, 0.774), "MAP": (0.598, 0.560, 0.510),
                "NDCG": (0.686, 0.672, 0.628)},
        "GAT": {"MRR": (0.756, 0.776, 0.787), "MAP": (0.542, 0.541, 0.538),
                "NDCG": (0.610, 0.598, 0.511)},
        "NAR": {"MRR": (0.825, 0.826, 0.826), "MAP": (0.593, 0.577, 0.545),
                "NDCG": (0.705, 0.692, 0.678)},
    },
    "nas": {
        "GCN": {"MRR": (1.0, 1.0, 1.0), "MAP": (0.927, 0.854, 0.858),
                "NDCG": (0.953, 0.902, 0.906)},
        "GAT": {"MRR": (1.0, 1.0, 1.0), "MAP": (0.941, 0.899, 0.901),
                "NDCG": (0.961, 0.933, 0.935)},
        "NAR": {"MRR": (1.0, 1.0, 1.0), "MAP": (0.952, 0.932, 0.935),
                "NDCG": (0.969, 0.960, 0.958)},
    },
}  # fmt: skip
_QUICK_EPOCH_ARGS = ("epochs", "stage1_epochs", "stage2_epochs", "motif_epochs", "graph_epochs")
QUICK_DARTS_GENOTYPES = 12


def make_method(name: str, *, quick: bool = False, detail: str = DEFAULT_DETAIL) -> Any:
    """A fresh embedder for a method name of :data:`METHODS`, taking graphs at ``detail``."""
    if name not in METHODS:
        raise RetrievalError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    module_name, cls_name, kwargs = METHODS[name]
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as e:
        raise RetrievalError(
            f"method {name!r} needs {module_name}.{cls_name}, which is not available ({e})"
        ) from None
    kwargs = {**kwargs, "detail": detail}
    if quick:
        params = inspect.signature(cls).parameters
        kwargs.update({p: 2 for p in _QUICK_EPOCH_ARGS if p in params})
    return cls(**kwargs)


def load_dataset(name: str, *, quick: bool = False) -> list[OpGraph]:
    """A dataset by name or corpus path (``archmotif.datasets.load``); under ``quick``
    the DARTS set has ``QUICK_DARTS_GENOTYPES`` genotypes (5 depths each) instead of 100."""
    from archmotif import datasets

    if name == "darts" and quick:
        from archmotif.datasets import darts

        return darts.generate(num_genotypes=QUICK_DARTS_GENOTYPES)
    return datasets.load(name)


def _paper_key(dataset: str) -> str:
    return "nas" if "darts" in dataset or "nas" in dataset else "real"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPU threads, {platform.system()} {platform.release()}"


def run_report(
    datasets: Sequence[str],
    methods: Sequence[str],
    protocols: Sequence[str],
    seeds: Sequence[int],
    output: str | os.PathLike[str],
    *,
    quick: bool = False,
    skip_missing: bool = False,
    variant: str = "standard",
    command: str = "",
    log: Callable[[str], None] = print,
    detail: str = DEFAULT_DETAIL,
) -> list[dict[str, Any]]:
    """Runs the grid and writes the markdown report and its plot; returns one row per
    (dataset, protocol, method, seed): the :class:`EvalResult` as a dict plus
    ``dataset`` and ``detail`` (every method takes the graphs at ``detail``), or
    ``{"dataset", "protocol", "method", "seed", "detail", "error"}``."""
    from archmotif.retrieval.report_markdown import write_report

    missing: dict[str, str] = {}
    for m in methods:
        try:
            make_method(m, quick=quick, detail=detail)
        except RetrievalError as e:
            if not skip_missing:
                raise
            missing[m] = str(e)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    sizes: dict[str, dict[str, int]] = {}
    for ds in datasets:
        t = time.perf_counter()
        try:
            graphs = load_dataset(ds, quick=quick)
        except (ImportError, FileNotFoundError) as e:
            if not skip_missing:
                raise RetrievalError(f"dataset {ds!r} is not available ({e})") from None
            missing[f"dataset {ds}"] = str(e)
            log(f"{ds}: not available ({e}); left out")
            continue
        classes = {g.labels.get("family") for g in graphs}
        sizes[ds] = {
            "graphs": len(graphs),
            "classes": len(classes),
            "nodes": sum(g.num_nodes for g in graphs),
        }
        log(f"{ds}: {len(graphs)} graphs, {len(classes)} classes ({time.perf_counter() - t:.1f} s)")
        for protocol in protocols:
            for m in methods:
                if m in missing:
                    continue
                for seed in seeds:
                    rows.append(_one(ds, graphs, m, protocol, seed, quick, variant, log, detail))
    write_report(
        rows,
        output,
        sizes=sizes,
        missing=missing,
        seeds=list(seeds),
        variant=variant,
        quick=quick,
        command=command,
        machine=_machine(),
        total_seconds=time.perf_counter() - started,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return rows


def _one(
    ds: str,
    graphs: list[OpGraph],
    method: str,
    protocol: str,
    seed: int,
    quick: bool,
    variant: str,
    log: Callable[[str], None],
    detail: str = DEFAULT_DETAIL,
) -> dict[str, Any]:
    head = {"dataset": ds, "protocol": protocol, "method": method, "seed": seed,
            "detail": detail}  # fmt: skip
    try:
        np.random.seed(seed)  # for any method that draws from numpy's global generator
        res: EvalResult = evaluate(
            make_method(method, quick=quick, detail=detail), graphs, protocol=protocol, seed=seed,
            variant=variant,
        )  # fmt: skip
    except Exception as e:  # one failing method must not sink the whole report
        log(f"  {ds} {protocol} {method} seed {seed}: FAILED {type(e).__name__}: {e}")
        return {**head, "error": f"{type(e).__name__}: {e}"}
    m = res.metrics
    log(
        f"  {ds} {protocol} {method} seed {seed}: MAP@20 {m['MAP@20']:.3f} "
        f"NDCG@20 {m['NDCG@20']:.3f} MRR@20 {m['MRR@20']:.3f} "
        f"(fit {res.fit_seconds:.1f} s, embed {res.embed_seconds:.1f} s)"
    )
    return {**head, **res.to_dict(), "method": method, "detail": detail}
