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
from archmotif.datasets import darts, load
from archmotif.errors import InvalidArgument, RetrievalError
from archmotif.experiments.methods import METHODS
from archmotif.experiments.retrieval_markdown import write_report
from archmotif.graph import OpGraph
from archmotif.retrieval.evaluate import EvalResult, evaluate

__all__ = ["METHODS", "load_dataset", "machine", "make_method", "run_report"]

_QUICK_EPOCH_ARGS = ("epochs", "stage1_epochs", "stage2_epochs", "motif_epochs", "graph_epochs")
QUICK_DARTS_GENOTYPES = 12


def make_method(name: str, *, quick: bool = False, detail: str = DEFAULT_DETAIL) -> Any:
    """A fresh embedder for a method name of :data:`METHODS`, taking graphs at ``detail``."""
    if name not in METHODS:
        raise InvalidArgument(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
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
    if name == "darts" and quick:
        return darts.generate(num_genotypes=QUICK_DARTS_GENOTYPES)
    return load(name)


def machine() -> str:
    """The machine a report ran on, in one line (CPU model, threads, OS), for its header."""
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
        machine=machine(),
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
