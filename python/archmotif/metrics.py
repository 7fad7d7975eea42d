"""Ranking metrics for architecture retrieval: MRR, average precision, NDCG and hit at k.

Every function takes ``relevances``, the 0/1 relevance of one query's ranked results,
best first (only the first ``k`` count; a list shorter than ``k`` means fewer results
were returned), and returns a float in [0, 1]. Relevance is binary.

Standard definitions (``variant="standard"``, the default):

- ``mrr``: ``1 / r`` for the rank ``r <= k`` of the first relevant result, else 0;
- ``hit``: 1 when a relevant result is among the first ``k``, else 0 (its mean over
  queries is the hit rate, or success@k);
- ``average_precision``: ``sum over relevant ranks r <= k of precision@r``, divided by
  ``min(num_relevant, k)`` (so a perfect top-k scores 1 even when more than ``k``
  items are relevant, and when fewer than ``k`` are);
- ``ndcg``: ``DCG@k / IDCG@k`` with gain 1 per relevant result, discount
  ``1 / log2(r + 1)``, and the ideal DCG of ``min(num_relevant, k)`` hits at ranks
  ``1..min(num_relevant, k)``.

``num_relevant`` is how many relevant items exist in the whole database (not only in
the returned results). When it is 0, AP and NDCG are 0 by definition (there is nothing
to find); the evaluation leaves such queries out rather than averaging these zeros in.

``variant="paper"`` reproduces the normalisers of the Neural Architecture Retrieval
code (``evaluator.py``; see ``docs`` / the research notes): AP divides by
``max(1, num_relevant)`` and NDCG by ``max(0.3, IDCG over all num_relevant items)``
(the ideal DCG not truncated at ``k``). MRR has no variant. In that code
``num_relevant`` counts the query itself; :func:`archmotif.retrieval.evaluate.evaluate`
passes it that way under ``variant="paper"``.

Bad input raises :class:`~archmotif.errors.RetrievalError` (a ``ValueError``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from archmotif.errors import RetrievalError

__all__ = ["VARIANTS", "average_precision", "hit", "mrr", "ndcg"]

VARIANTS = ("standard", "paper")


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise RetrievalError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _check_relevances(relevances: Sequence[int] | np.ndarray) -> np.ndarray:
    try:
        arr = np.asarray(relevances)
    except (ValueError, TypeError) as e:
        raise RetrievalError(f"relevances must be a 1-D sequence of 0/1 values: {e}") from None
    if arr.ndim != 1:
        raise RetrievalError(
            f"relevances must be 1-D (one value per ranked result), got {arr.shape}"
        )
    if arr.size and arr.dtype.kind not in "biuf":
        raise RetrievalError(f"relevances must be 0/1 numbers, got dtype {arr.dtype}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        bad = int(np.argmax(~np.isin(arr, (0, 1))))
        raise RetrievalError(
            f"relevances must be binary (0 or 1); result {bad} has relevance {arr[bad].item()!r}"
        )
    return arr.astype(bool, copy=False)


def _check_num_relevant(num_relevant: object, hits: int) -> int:
    if (
        isinstance(num_relevant, bool)
        or not isinstance(num_relevant, (int, np.integer))
        or num_relevant < 0
    ):
        raise RetrievalError(f"num_relevant must be a non-negative integer, got {num_relevant!r}")
    if num_relevant < hits:
        raise RetrievalError(
            f"num_relevant={num_relevant} but the ranking already holds {hits} relevant results"
        )
    return int(num_relevant)


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise RetrievalError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def mrr(relevances: Sequence[int] | np.ndarray, k: int) -> float:
    """Reciprocal rank of the first relevant result within the top ``k`` (0 if none)."""
    k = _check_k(k)
    rel = _check_relevances(relevances)[:k]
    hits = np.flatnonzero(rel)
    return float(1.0 / (hits[0] + 1)) if hits.size else 0.0


def hit(relevances: Sequence[int] | np.ndarray, k: int) -> float:
    """1.0 when a relevant result is within the top ``k``, else 0.0."""
    k = _check_k(k)
    return float(_check_relevances(relevances)[:k].any())


def average_precision(
    relevances: Sequence[int] | np.ndarray,
    num_relevant: int,
    k: int,
    *,
    variant: str = "standard",
) -> float:
    """AP@k: mean of precision@r over the relevant ranks ``r <= k``, normalised by
    ``min(num_relevant, k)`` (``max(1, num_relevant)`` under ``variant="paper"``)."""
    k = _check_k(k)
    full = _check_relevances(relevances)
    n_rel = _check_num_relevant(num_relevant, int(full.sum()))
    variant = _check_variant(variant)
    rel = full[:k]
    denom = max(1, n_rel) if variant == "paper" else min(n_rel, k)
    if denom == 0 or not rel.any():
        return 0.0
    ranks = np.flatnonzero(rel) + 1
    precision_at_hits = np.arange(1, ranks.size + 1) / ranks
    return float(precision_at_hits.sum() / denom)


def ndcg(
    relevances: Sequence[int] | np.ndarray,
    num_relevant: int,
    k: int,
    *,
    variant: str = "standard",
) -> float:
    """NDCG@k with binary gains and a ``log2(rank + 1)`` discount; the ideal DCG is
    truncated at ``k`` (under ``variant="paper"``: not truncated, and at least 0.3)."""
    k = _check_k(k)
    full = _check_relevances(relevances)
    n_rel = _check_num_relevant(num_relevant, int(full.sum()))
    variant = _check_variant(variant)
    rel = full[:k]
    if not rel.any():
        return 0.0
    dcg = float(_discounts(rel.size)[rel].sum())
    if variant == "paper":
        idcg = max(0.3, float(_discounts(n_rel).sum()))
    else:
        idcg = float(_discounts(min(n_rel, k)).sum())
    return dcg / idcg
