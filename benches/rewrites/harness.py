"""The hand-written query benchmark: every query of :data:`~benches.rewrites.queries.QUERIES`
searches a corpus with every method, scored by
:func:`archmotif.retrieval.evaluate.evaluate_queries` (the retrieval report's methods,
made by :func:`archmotif.experiments.retrieval_report.make_method`, and its scoring loop).

Relevance: the query's fine families (``family`` label) and its coarse class
(``coarse``), each restricted to the labels the corpus holds, so that a corpus without
a design (the built-in set has no AlexNet) leaves that query out of the fine-family
averages instead of counting it as a miss; the report names such queries.

Each method is fitted once on the corpus per normalisation setting, never on the
queries. For every query the raw result keeps, per method, the rank of the first
relevant item (fine and coarse) and the top ten; for ours and the motif bag it also
keeps what the operators of the query and of the nearest graph of its family differ
in (:func:`op_difference`), the input the normalisation work needs.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from archmotif.attributes import DEFAULT_DETAIL
from archmotif.graph import OpGraph
from benches.rewrites.queries import QUERIES, Query, trace_queries

__all__ = ["DEFAULT_METHODS", "load_corpus", "op_difference", "run_benchmark", "targets_for"]

DEFAULT_METHODS = ("ours", "motif-bag", "wl", "gcn", "gat")
KS = (1, 5, 10)
_EXPLAINED = ("ours", "motif-bag")  # methods whose misses get an operator diff


def targets_for(queries: Sequence[Query], corpus: Sequence[OpGraph]) -> list[dict[str, set[str]]]:
    """Per query, ``{"family": ..., "coarse": ...}``: its labels that occur in ``corpus``
    (an empty set when none does)."""
    families = {g.labels.get("family") for g in corpus}
    coarse = {g.labels.get("coarse") for g in corpus}
    return [{"family": set(q.families) & families, "coarse": {q.coarse} & coarse} for q in queries]


def op_difference(query: OpGraph, other: OpGraph, top: int = 8) -> dict[str, Any]:
    """What the operator multisets of two graphs differ in: the operators only one of
    them has (with counts, commonest first), the share of ``query``'s nodes whose
    operator ``other`` also uses, and the shared operators whose shares of the nodes
    differ most (``(op, share in query, share in other)``, rounded to 0.001)."""
    a, b = Counter(query.op_counts()), Counter(other.op_counts())
    only_q = sorted(((op, n) for op, n in a.items() if op not in b), key=lambda t: (-t[1], t[0]))
    only_o = sorted(((op, n) for op, n in b.items() if op not in a), key=lambda t: (-t[1], t[0]))
    na, nb = max(1, sum(a.values())), max(1, sum(b.values()))
    shared = sum(n for op, n in a.items() if op in b) / na
    shares = sorted(((op, a[op] / na, b[op] / nb) for op in a if op in b),
                    key=lambda t: (-abs(t[1] - t[2]), t[0]))  # fmt: skip
    return {
        "only_query": only_q[:top],
        "only_other": only_o[:top],
        "shared": round(shared, 3),
        "shares": [(op, round(x, 3), round(y, 3)) for op, x, y in shares[:3]],
    }


def _method_rows(
    method: str, corpus: list[OpGraph], graphs: list[OpGraph], queries: Sequence[Query],
    targets: list[dict[str, set[str]]], seed: int, quick: bool, detail: str,
) -> dict[str, Any]:  # fmt: skip
    from archmotif.experiments.retrieval_report import make_method
    from archmotif.retrieval.evaluate import evaluate_queries

    np.random.seed(seed)
    res = evaluate_queries(make_method(method, quick=quick, detail=detail), corpus, graphs, targets,
                           ks=KS, seed=seed)  # fmt: skip
    fam, coarse = res["family"], res["coarse"]
    per_query: dict[str, dict[str, Any]] = {q.name: {} for q in queries}
    for key, r in (("family", fam), ("coarse", coarse)):
        for row in r.extra["queries"]:
            per_query[row["query"]][key] = row["first_rank"]
            if key == "family":
                per_query[row["query"]]["top"] = row["top"]
                per_query[row["query"]]["family_tied"] = row["tied_above"]
    if method in _EXPLAINED:
        by_name = {g.name: g for g in graphs}
        for q, t in zip(queries, targets, strict=True):
            row = per_query[q.name]
            if "top" not in row:
                continue
            top1 = corpus[row["top"][0]]
            row["top1"] = [top1.name, top1.labels.get("family", "")]
            if row["family"] > 5:
                nearest = _nearest_member(by_name[q.name], corpus, t["family"])
                row["nearest"] = nearest.name
                row["diff"] = op_difference(by_name[q.name], nearest)
    return {
        "method": method,
        "fit_seconds": fam.fit_seconds,
        "embed_seconds": fam.embed_seconds,
        "family": {k: fam.metrics[k] for k in sorted(fam.metrics)},
        "coarse": {k: coarse.metrics[k] for k in sorted(coarse.metrics)},
        "family_queries": fam.num_queries,
        "coarse_queries": coarse.num_queries,
        "left_out": fam.extra["left_out"],
        "queries": per_query,
    }


def _nearest_member(query: OpGraph, corpus: list[OpGraph], families: set[str]) -> OpGraph:
    """The corpus graph of one of ``families`` whose operator counts are closest to the
    query's (cosine), the natural one to compare spellings with."""
    members = [g for g in corpus if g.labels.get("family") in families]
    ops = sorted({op for g in [query, *members] for op in g.op_counts()})

    def vec(g: OpGraph) -> np.ndarray:
        c = g.op_counts()
        v = np.array([c.get(op, 0) for op in ops], dtype=np.float64)
        return v / max(np.linalg.norm(v), 1e-12)

    q = vec(query)
    return max(members, key=lambda g: float(vec(g) @ q))


def load_corpus(dataset: str, normalize: bool | None, *, quick: bool = False):
    """``(graphs, state)``: the corpus as the retrieval report loads it, with
    ``normalize`` passed to :func:`archmotif.datasets.load` when that accepts it (and not
    ``None``), and a word on what was searched: whether its graphs change under
    normalisation (``"raw"``) or not (``"normalised"``), or ``"as stored"`` when this
    archmotif cannot normalise."""
    from archmotif import datasets
    from archmotif.experiments.retrieval_report import load_dataset

    if normalize is not None and "normalize" in inspect.signature(datasets.load).parameters:
        graphs = datasets.load(dataset, normalize=normalize)
    else:
        graphs = load_dataset(dataset, quick=quick)
    try:
        from archmotif.normalize import normalize_many  # type: ignore[import-not-found]
    except ImportError:
        return graphs, "as stored"
    sample = graphs[:: max(1, len(graphs) // 20)]
    same = all(a.num_nodes == b.num_nodes and a.op_counts() == b.op_counts()
               for a, b in zip(sample, normalize_many(sample), strict=True))  # fmt: skip
    return graphs, "normalised" if same else "raw"


def run_benchmark(
    dataset: str = "zoo",
    methods: Sequence[str] = DEFAULT_METHODS,
    normalize: Sequence[bool | None] = (None,),
    *,
    details: Sequence[str] = (DEFAULT_DETAIL,),
    seed: int = 0,
    quick: bool = False,
    queries: Sequence[Query] = QUERIES,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Runs every method for every normalisation setting (``None``: trace as
    ``archmotif.trace`` does by default, without passing the switch) and returns the
    raw result that :func:`benches.rewrites.report.write` turns into the report, one run
    per normalisation setting and level of detail (``details``: every method takes the
    graphs at it, :mod:`archmotif.attributes`). The corpus is loaded once per
    setting, with the same ``normalize`` (:func:`load_corpus`)."""
    t0 = time.perf_counter()
    runs = []
    for norm in normalize:
        corpus, corpus_state = load_corpus(dataset, norm, quick=quick)
        targets = targets_for(queries, corpus)
        log(f"{dataset} ({corpus_state}): {len(corpus)} graphs; "
            f"{sum(bool(t['family']) for t in targets)} of {len(queries)} queries have their "
            "family in it")  # fmt: skip
        t = time.perf_counter()
        graphs = trace_queries(queries, normalize=norm)
        log(f"normalize={norm}: traced {len(graphs)} queries in {time.perf_counter() - t:.1f} s")
        for detail in details:
            rows = []
            for m in methods:
                try:
                    row = _method_rows(m, corpus, graphs, queries, targets, seed, quick, detail)
                except Exception as e:  # one failing method must not sink the others
                    log(f"  {m}: FAILED {type(e).__name__}: {e}")
                    rows.append({"method": m, "error": f"{type(e).__name__}: {e}"})
                    continue
                f, c = row["family"], row["coarse"]
                log(f"  {m} ({detail}): family MRR@10 {f['MRR@10']:.3f} hit@5 {f['HIT@5']:.3f}, "
                    f"coarse hit@5 {c['HIT@5']:.3f} (fit {row['fit_seconds']:.1f} s)")  # fmt: skip
                rows.append(row)
            runs.append({"normalize": norm, "detail": detail, "corpus": corpus_state,
                         "query_nodes": {g.name: g.num_nodes for g in graphs},
                         "methods": rows})  # fmt: skip
    return {
        "dataset": dataset,
        "corpus_graphs": len(corpus),
        "seed": seed,
        "quick": quick,
        "queries": [
            {
                "name": q.name,
                "model": q.factory,
                "inputs": q.inputs,
                "families": list(q.families),
                "coarse": q.coarse,
                "note": q.note,
                "targets": sorted(t["family"]),
            }
            for q, t in zip(queries, targets, strict=True)
        ],
        "corpus_names": [g.name for g in corpus],
        "corpus_families": [g.labels.get("family", "") for g in corpus],
        "runs": runs,
        "seconds": round(time.perf_counter() - t0, 1),
    }
