"""``evaluate``: MRR, MAP and NDCG at k of one retrieval method on one labelled set of
graphs, under the transductive or the inductive protocol.

**What the method sees.** Before ``fit`` and ``embed``, every graph is replaced by a copy
with the same ops and edges, a neutral name (``graph<i>``), no node names and only the
``coarse`` label (when it has one): the relevance label (a fine ``family``, a DARTS
``genotype``) and the model name, which often spells the family, never reach the method.

**Protocols.**

- ``"transductive"`` (the paper's): ``fit`` on all graphs; every graph queries all the
  others (leave-one-out).
- ``"inductive"``: a stratified split per relevance class, drawn with ``seed``: a class of
  ``m >= 2`` members puts ``round(m * (1 - train_fraction))`` of them (at least 1, at most
  ``m - 1``) in the held-out part, so each class has members on both sides; a class of
  one member stays in the training part. ``fit`` sees only the training part; ``embed``
  runs on all graphs; the queries are the held-out graphs, and each searches **every
  other graph** (training part and the rest of the held-out part). Every class is seen in
  training: this measures generalisation to new architectures of known families.

**Ranking.** Database items are ranked by cosine similarity (embeddings are
L2-normalised here) with ties broken by the lower graph index, so the ranking is
deterministic. A query whose relevance class has no other member in the database has
nothing to retrieve and is left out of the averages (``num_queries`` counts the rest).
Each metric is the mean over queries of :mod:`archmotif.metrics` at each ``k``; under
``variant="paper"`` the number of relevant items counts the query itself, as the
paper's code does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from archmotif import metrics
from archmotif.errors import RetrievalError
from archmotif.graph import OpGraph

__all__ = ["PROTOCOLS", "EvalResult", "evaluate", "inductive_split", "rank"]

PROTOCOLS = ("transductive", "inductive")


@dataclass
class EvalResult:
    """The outcome of :func:`evaluate`. ``metrics`` maps ``"MRR@20"``, ``"MAP@20"``,
    ``"NDCG@20"``, ... to the mean over queries; times are wall-clock seconds."""

    method: str
    protocol: str
    relevance: str
    variant: str
    seed: int
    ks: tuple[int, ...]
    metrics: dict[str, float]
    num_graphs: int
    num_classes: int
    num_train: int
    num_queries: int
    fit_seconds: float
    embed_seconds: float
    dim: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _blind(graphs: Sequence[OpGraph]) -> list[OpGraph]:
    """Copies that keep the structure and only the ``coarse`` label (see module doc)."""
    out = []
    for i, g in enumerate(graphs):
        labels = {"coarse": g.labels["coarse"]} if "coarse" in g.labels else {}
        out.append(OpGraph._trusted(g.ops, g.edges, g.op_names, f"graph{i}", labels, None))
    return out


def inductive_split(
    classes: Sequence[str], *, train_fraction: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(train, held_out)`` graph indices (sorted int64 arrays) of the stratified split
    described in the module docstring."""
    if not 0.0 < train_fraction < 1.0:
        raise RetrievalError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    rng = np.random.default_rng(seed)
    cls = np.asarray(classes, dtype=object)
    held: list[int] = []
    for c in sorted(set(classes)):
        members = np.flatnonzero(cls == c)
        if len(members) < 2:
            continue
        n_out = min(len(members) - 1, max(1, round(len(members) * (1.0 - train_fraction))))
        held += rng.permutation(members)[:n_out].tolist()
    held_arr = np.array(sorted(held), dtype=np.int64)
    train = np.setdiff1d(np.arange(len(cls), dtype=np.int64), held_arr)
    return train, held_arr


def rank(scores: np.ndarray, exclude: int | None = None) -> np.ndarray:
    """Database indices by decreasing score, ties to the lower index, ``exclude`` left
    out (the query itself)."""
    order = np.argsort(-scores, kind="stable")
    return order if exclude is None else order[order != exclude]


def _embeddings(method: Any, blind: list[OpGraph], fit_on: np.ndarray, seed: int):
    if isinstance(method, np.ndarray):
        return method, "precomputed", 0.0, 0.0
    for attr in ("fit", "embed"):
        if not callable(getattr(method, attr, None)):
            raise RetrievalError(
                f"method must be an embedder (name, fit, embed) or an array; "
                f"{type(method).__name__} has no {attr}()"
            )
    name = str(getattr(method, "name", type(method).__name__))
    t = time.perf_counter()
    method.fit([blind[i] for i in fit_on], seed=seed)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    z = method.embed(blind)
    return z, name, fit_s, time.perf_counter() - t


def evaluate(
    method: Any,
    graphs: Sequence[OpGraph],
    *,
    relevance: str = "family",
    protocol: str = "transductive",
    ks: Sequence[int] = (20, 50, 100),
    seed: int = 0,
    train_fraction: float = 0.5,
    variant: str = "standard",
) -> EvalResult:
    """Evaluates ``method`` (an embedder, or a precomputed float array ``[n, d]`` with one
    row per graph) on ``graphs``, whose ``labels[relevance]`` define relevance: two
    graphs are relevant to each other when those labels are equal. See the module
    docstring for the protocols and the ranking."""
    graphs = list(graphs)
    if protocol not in PROTOCOLS:
        raise RetrievalError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if variant not in metrics.VARIANTS:
        raise RetrievalError(f"variant must be one of {metrics.VARIANTS}, got {variant!r}")
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise RetrievalError(f"ks must be positive integers, got {ks!r}")
    if len(graphs) < 2:
        raise RetrievalError(f"evaluation needs at least 2 graphs, got {len(graphs)}")
    missing = [i for i, g in enumerate(graphs) if relevance not in g.labels]
    if missing:
        raise RetrievalError(
            f"{len(missing)} graphs lack the relevance label {relevance!r} "
            f"(first: graph {missing[0]} {graphs[missing[0]].name!r})"
        )
    classes = np.array([g.labels[relevance] for g in graphs], dtype=object)
    if protocol == "transductive":
        train = np.arange(len(graphs), dtype=np.int64)
        queries = train
    else:
        train, queries = inductive_split(classes, train_fraction=train_fraction, seed=seed)
    z, name, fit_s, embed_s = _embeddings(method, _blind(graphs), train, seed)
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] != len(graphs) or not np.isfinite(z).all():
        raise RetrievalError(
            f"{name} returned embeddings of shape {z.shape} (want [{len(graphs)}, d], finite)"
        )
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    z = np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
    sums = {f"{m}@{k}": 0.0 for m in ("MRR", "MAP", "NDCG") for k in ks}
    used = 0
    class_size = {c: int((classes == c).sum()) for c in set(classes.tolist())}
    for q in queries.tolist():
        n_rel = class_size[classes[q]] - 1  # every other graph is in the database
        if n_rel == 0:
            continue
        used += 1
        order = rank(z @ z[q], exclude=q)[: max(ks)]
        rel = classes[order] == classes[q]
        gt = n_rel + 1 if variant == "paper" else n_rel
        for k in ks:
            sums[f"MRR@{k}"] += metrics.mrr(rel, k)
            sums[f"MAP@{k}"] += metrics.average_precision(rel, gt, k, variant=variant)
            sums[f"NDCG@{k}"] += metrics.ndcg(rel, gt, k, variant=variant)
    if used == 0:
        raise RetrievalError(f"no query has another graph of its {relevance!r} class to find")
    return EvalResult(
        method=name,
        protocol=protocol,
        relevance=relevance,
        variant=variant,
        seed=seed,
        ks=ks,
        metrics={key: value / used for key, value in sums.items()},
        num_graphs=len(graphs),
        num_classes=len(class_size),
        num_train=len(train),
        num_queries=used,
        fit_seconds=fit_s,
        embed_seconds=embed_s,
        dim=int(z.shape[1]),
    )
