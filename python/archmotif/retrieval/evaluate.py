"""``evaluate``: MRR, MAP, NDCG and hit rate at k of one retrieval method on one labelled
set of graphs, under the transductive or the inductive protocol; ``evaluate_queries``:
the same metrics for outside queries (models the database never saw, such as
hand-written ones) against a database of graphs or a built index.

**What the method sees.** Before ``fit`` and ``embed``, every graph is replaced by a copy
with the same ops, attributes, edges, shapes and costs, a neutral name (``graph<i>``), no
node names and only the ``coarse`` label (when it has one): the relevance label (a fine
``family``, a DARTS ``genotype``) and the model name, which often spells the family,
never reach the method.

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
deterministic. Ties are real: two graphs of one structure embed alike under every
method here, so where one of them is relevant and the other not, which comes first is
the corpus order. :func:`evaluate_queries` says so per query (``tied_above``: how many
of the items ranked above its first relevant one score the same, within
:data:`TIE_TOLERANCE`). A query whose relevance class has no other member in the
database has nothing to retrieve and is left out of the averages (``num_queries``
counts the rest). Each metric is the mean over queries of :mod:`archmotif.metrics` at
each ``k``; under ``variant="paper"`` the number of relevant items counts the query
itself, as the paper's code does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from archmotif import metrics
from archmotif.errors import RetrievalError
from archmotif.graph import OpGraph

if TYPE_CHECKING:
    from archmotif.retrieval.index import Index

__all__ = [
    "PROTOCOLS",
    "TIE_TOLERANCE",
    "EvalResult",
    "evaluate",
    "evaluate_queries",
    "inductive_split",
    "rank",
]

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


# Cosines this close count as equal when a query's first relevant item is said to be tied
# with items ranked above it: rows of one structure can differ in the last bits of a
# float32 embedding (batch composition), far less than this.
TIE_TOLERANCE = 1e-6


def _blind(
    graphs: Sequence[OpGraph], *, prefix: str = "graph", keep: tuple[str, ...] = ("coarse",)
) -> list[OpGraph]:
    """Copies that keep the structure (operator attributes included: a method may take
    graphs at ``detail="attrs"``; each node's output shape, FLOPs and parameters, which
    the model's code gives as it gives its operators), are named ``<prefix><i>`` and keep
    only the labels in ``keep`` (see module doc)."""
    out = []
    for i, g in enumerate(graphs):
        labels = {k: g.labels[k] for k in keep if k in g.labels}
        out.append(OpGraph._trusted(g.ops, g.edges, g.op_names, f"{prefix}{i}", labels, None,
                                    g.node_flops, g.attrs, g.attr_names, g.node_shapes,
                                    g.shape_names, g.node_params))  # fmt: skip
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


def _unit_rows(z: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)


def _score(
    zq: np.ndarray,
    zdb: np.ndarray,
    relevant_of: Callable[[int], np.ndarray],
    exclude: Sequence[int | None],
    ks: tuple[int, ...],
    variant: str,
) -> tuple[dict[str, float], list[tuple[int, int | None, np.ndarray]]]:
    """The one scoring loop: query ``i`` (row ``zq[i]``) ranks the database rows ``zdb``
    (without row ``exclude[i]``, the query itself when it is in the database);
    ``relevant_of(i)`` is the 0/1 relevance of every database row to it. A query with
    nothing relevant to find is skipped. Returns the mean of each metric at each ``k``
    over the scored queries, and per scored query ``(i, rank of its first relevant
    item in the whole ranking, the top max(ks) rows, how many rows ranked above that
    item score the same as it within TIE_TOLERANCE)``. Under ``variant="paper"`` a
    query in the database counts itself among the relevant items, as the paper does."""
    sums = {f"{m}@{k}": 0.0 for m in ("MRR", "MAP", "NDCG", "HIT") for k in ks}
    ranked: list[tuple[int, int | None, np.ndarray, int]] = []
    for i in range(zq.shape[0]):
        relevant = np.asarray(relevant_of(i), dtype=bool)
        own = exclude[i]
        n_rel = int(relevant.sum()) - int(own is not None and relevant[own])
        if n_rel == 0:
            continue
        sims = zdb @ zq[i]
        order = rank(sims, exclude=own)
        rel_full = relevant[order]
        rel = rel_full[: max(ks)]
        gt = n_rel + 1 if variant == "paper" and own is not None else n_rel
        for k in ks:
            sums[f"MRR@{k}"] += metrics.mrr(rel, k)
            sums[f"MAP@{k}"] += metrics.average_precision(rel, gt, k, variant=variant)
            sums[f"NDCG@{k}"] += metrics.ndcg(rel, gt, k, variant=variant)
            sums[f"HIT@{k}"] += metrics.hit(rel, k)
        first = np.flatnonzero(rel_full)
        tied = 0
        if first.size:
            above = sims[order[: first[0]]]
            tied = int(np.count_nonzero(above - sims[order[first[0]]] <= TIE_TOLERANCE))
        ranked.append((i, int(first[0]) + 1 if first.size else None, order[: max(ks)], tied))
    used = max(1, len(ranked))
    return {key: value / used for key, value in sums.items()}, ranked


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
    z = _unit_rows(z)
    class_size = {c: int((classes == c).sum()) for c in set(classes.tolist())}
    q_list = queries.tolist()
    codes = np.unique(classes.astype(str), return_inverse=True)[1]  # int compares are cheap
    means, ranked = _score(z[queries], z, lambda i: codes == codes[q_list[i]], q_list, ks, variant)
    if not ranked:
        raise RetrievalError(f"no query has another graph of its {relevance!r} class to find")
    used = len(ranked)
    return EvalResult(
        method=name,
        protocol=protocol,
        relevance=relevance,
        variant=variant,
        seed=seed,
        ks=ks,
        metrics=means,
        num_graphs=len(graphs),
        num_classes=len(class_size),
        num_train=len(train),
        num_queries=used,
        fit_seconds=fit_s,
        embed_seconds=embed_s,
        dim=int(z.shape[1]),
    )


def evaluate_queries(
    method: Any,
    database: Sequence[OpGraph] | Index,
    queries: Sequence[OpGraph],
    targets: Sequence[Mapping[str, Collection[str]]],
    *,
    ks: Sequence[int] = (1, 5, 10),
    seed: int = 0,
    variant: str = "standard",
) -> dict[str, EvalResult]:
    """Outside queries against a database: each graph of ``queries`` ranks the whole
    database, and a database item is relevant to query ``i`` under a label key ``key``
    when its ``key`` label is one of ``targets[i][key]`` (several values, because one
    design can carry several library names). One :class:`EvalResult` per key of the
    targets, with MRR, MAP, NDCG and HIT (hit rate) at each ``k``.

    ``database`` is a list of graphs, on which ``method`` (an embedder) is fitted with
    the labels hidden as in :func:`evaluate`, or a built :class:`~archmotif.retrieval.index.Index`
    (labels from its metadata; ``method`` ``None`` embeds the queries with the index's
    encoder). ``method`` may also be a float array with one row per database graph
    followed by one per query. The queries are never fitted on and never show their
    labels or names to the method. A query with no relevant item in the database under a
    key is left out of that key's averages (``extra["left_out"]`` names it); for every
    scored query ``extra["queries"]`` holds its name, the rank of its first relevant item
    in the whole ranking, the top ``max(ks)`` database indices and ``tied_above``: how
    many of the items ranked above the first relevant one score the same as it (within
    :data:`TIE_TOLERANCE`; they precede it only by database order, so its rank could be
    as good as ``first_rank - tied_above``).
    """
    from archmotif.retrieval.index import Index

    queries = list(queries)
    if len(targets) != len(queries):
        raise RetrievalError(f"{len(targets)} targets for {len(queries)} queries")
    if not queries:
        raise RetrievalError("evaluate_queries needs at least one query")
    if variant not in metrics.VARIANTS:
        raise RetrievalError(f"variant must be one of {metrics.VARIANTS}, got {variant!r}")
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise RetrievalError(f"ks must be positive integers, got {ks!r}")
    blind_q = _blind(queries, prefix="query", keep=())
    fit_s = embed_s = 0.0
    if isinstance(database, Index):
        meta = database.metadata
        enc = method if method is not None else database.encoder
        if enc is None:
            raise RetrievalError("the index stores no encoder; pass method= to embed the queries")
        name = str(getattr(enc, "name", type(enc).__name__))
        t = time.perf_counter()
        zq = np.asarray(enc.embed(blind_q), dtype=np.float64)
        embed_s = time.perf_counter() - t
        zdb = np.asarray(database.embeddings, dtype=np.float64)
    else:
        graphs = list(database)
        meta = [dict(g.labels) for g in graphs]
        if isinstance(method, np.ndarray):
            z, name = np.asarray(method, dtype=np.float64), "precomputed"
        else:
            z, name, fit_s, embed_s = _embeddings(
                method, [*_blind(graphs), *blind_q], np.arange(len(graphs)), seed
            )
            z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or z.shape[0] != len(graphs) + len(queries):
            raise RetrievalError(
                f"{name} gave embeddings of shape {z.shape}; want "
                f"[{len(graphs)} database + {len(queries)} queries, d]"
            )
        zdb, zq = z[: len(graphs)], z[len(graphs) :]
    if zq.shape[0] != len(queries) or not (np.isfinite(zq).all() and np.isfinite(zdb).all()):
        raise RetrievalError(f"{name} gave {zq.shape[0]} query rows or non-finite values")
    zq, zdb = _unit_rows(zq), _unit_rows(zdb)
    out: dict[str, EvalResult] = {}
    for key in sorted({k for t in targets for k in t}):
        labels = np.array([m.get(key) for m in meta], dtype=object)
        wanted = [set(t.get(key, ())) for t in targets]
        means, ranked = _score(zq, zdb, lambda i: np.isin(labels, list(wanted[i])),  # noqa: B023
                               [None] * len(queries), ks, variant)  # fmt: skip
        scored = {i for i, *_ in ranked}
        out[key] = EvalResult(
            method=name, protocol="queries", relevance=key, variant=variant, seed=seed, ks=ks,
            metrics=means if ranked else {m: float("nan") for m in means},
            num_graphs=len(meta), num_classes=len(set(labels.tolist()) - {None}),
            num_train=0 if isinstance(database, Index) else len(meta), num_queries=len(ranked),
            fit_seconds=fit_s, embed_seconds=embed_s, dim=int(zdb.shape[1]),
            extra={
                "queries": [{"query": queries[i].name, "first_rank": r, "top": top.tolist(),
                             "tied_above": tied}
                            for i, r, top, tied in ranked],
                "left_out": [queries[i].name for i in range(len(queries)) if i not in scored],
            },
        )  # fmt: skip
    return out
