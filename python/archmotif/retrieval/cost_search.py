"""Search under a cost: the nearest architectures per cost bucket, and the front of
architectures not dominated on (similarity, cost).

Both read the cost from a numeric metadata field (``params`` today; ``flops`` and
``memory`` once the zoo records them) through the same columns and ``where`` as
:meth:`Index.search <archmotif.retrieval.index.Index.search>`, so they filter the same way
and raise the same :class:`~archmotif.RetrievalError` for a field that is missing or not
numeric. Items without a cost are left out of both.

- :func:`cost_buckets`: the qualifying items' cost range cut into ``count`` log-spaced
  buckets (LayerNAS's cost buckets: each bucket a constant ratio wide, so a 10M and a
  10B model are not put in one), and the ``k`` nearest in each (an exact or approximate
  search with the bucket's bounds added to ``where``). Empty buckets are kept, with no
  hits, so the edges read as one scale.
- :func:`pareto_front`: the items for which no other item is both at least as similar
  and at most as costly (and better in one): scanning by cost upwards, each item on the
  front is more similar than every cheaper one. Exact: it scores every qualifying item.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from archmotif.errors import RetrievalError
from archmotif.retrieval.constraints import Condition, parse_where
from archmotif.retrieval.index import Hit, Index

__all__ = ["CostBucket", "cost_buckets", "pareto_front", "scored_costs"]


@dataclass(frozen=True)
class CostBucket:
    """Items with ``low <= cost < high`` (the last bucket includes ``high``), nearest first."""

    field: str
    low: float
    high: float
    hits: list[Hit]


def _query(index: Index, query: Any) -> np.ndarray:
    q = np.asarray(query, dtype=np.float32)
    if q.ndim == 2 and q.shape[0] != 1:
        raise RetrievalError(f"cost search takes one query vector, got {q.shape[0]}")
    return q.reshape(1, -1)


def _check_cost(index: Index, field: str) -> None:
    """A cost is a numeric metadata field of the index (said as such, not as the
    ``where`` condition the cost searches filter with)."""
    cols = index.columns
    if field not in cols.numeric_fields():
        what = "no field" if field not in cols.fields else "no numeric field"
        numeric = ", ".join(cols.numeric_fields()) or "none"
        raise RetrievalError(f"{what} {field!r} in this index to use as a cost; "
                             f"numeric fields: {numeric}")  # fmt: skip


def scored_costs(
    index: Index, query: Any, field: str, *, where: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids, scores, costs)`` of every item that meets ``where`` and has a numeric
    ``field``: the cosine similarity of each to ``query``, exactly."""
    _check_cost(index, field)
    conditions = (*parse_where(where), Condition(field, ">", float("-inf")))
    mask = index.columns.mask(conditions)
    assert mask is not None
    ids = np.flatnonzero(mask)
    q = _query(index, query)
    norm = np.linalg.norm(q)
    scores = (index.embeddings[ids] @ (q[0] / norm if norm > 0 else q[0])).astype(np.float32)
    return ids, scores, index.columns.numeric(field)[ids]


def cost_buckets(
    index: Index, query: Any, field: str, *, count: int = 6, k: int = 3, where: Any = None,
    method: str = "auto",
) -> list[CostBucket]:  # fmt: skip
    """The ``k`` nearest items to ``query`` in each of ``count`` log-spaced cost buckets
    of ``field`` (over the items that meet ``where``)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise RetrievalError(f"count must be a positive integer, got {count!r}")
    _check_cost(index, field)
    base = parse_where(where)
    mask = index.columns.mask((*base, Condition(field, ">", float("-inf"))))
    assert mask is not None
    costs = index.columns.numeric(field)[mask]
    if len(costs) == 0:
        return []
    low, high = float(costs.min()), float(costs.max())
    if low > 0:  # log-spaced; a zero or negative cost falls back to even spacing
        edges = np.geomspace(low, high, count + 1) if high > low else np.array([low, high])
    else:
        edges = np.linspace(low, high, count + 1) if high > low else np.array([low, high])
    edges[0], edges[-1] = low, high  # exact ends despite rounding in geomspace
    out = []
    for b, (lo, hi) in enumerate(itertools.pairwise(edges)):
        top = "<=" if b == len(edges) - 2 else "<"  # the last bucket holds the top cost
        bounds = (Condition(field, ">=", float(lo)), Condition(field, top, float(hi)))
        scores, ids = index.search(_query(index, query), k, where=(*base, *bounds), method=method)
        out.append(CostBucket(field, float(lo), float(hi), index.hits(scores[0], ids[0])))
    return out


def pareto_front(index: Index, query: Any, field: str, *, where: Any = None) -> list[Hit]:
    """The items not dominated on (higher similarity, lower ``field``), cheapest first;
    ``rank`` numbers them along the front."""
    ids, scores, costs = scored_costs(index, query, field, where=where)
    # by cost upwards; at equal cost the most similar first, then the lower index
    order = np.lexsort((ids, -scores, costs))
    front, best = [], -np.inf
    for j in order:
        if scores[j] > best:
            front.append(j)
            best = scores[j]
    return index.hits(scores[front], ids[front])
