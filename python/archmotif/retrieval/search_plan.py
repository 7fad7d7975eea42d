"""How :meth:`Index.search <archmotif.retrieval.index.Index.search>` answers: which of the
three methods runs, how a ``where`` filter is applied to each, and the exact numpy path.

Every method filters *before* the top-k, so ``min(k, qualifying)`` results come back.
The constants below are what ``benches/search.py`` measured (one thread, 128 wide,
10^5 and 10^6 rows; table in ``benches/README.md``):

- **numpy** (exact): one matmul per block of queries against every row, then the top-k
  of the qualifying rows' scores; when few rows qualify, the qualifying rows are gathered first and
  only they are multiplied. The crossover moves with size (:func:`_gathers`): at 10^5
  rows gathering 10% is 3x faster than masking and 50% 2x slower; at 10^6 rows, where
  every gathered row misses the cache, 1% is 26-40x faster and 10% about even (between
  1.6x faster and 1.15x slower across runs).
  Ties go to the lower row index, filtered or not.
- **faiss** (exact): the index's one ``IndexFlatIP`` (built on first use, kept); a filter
  is an ``IDSelectorBitmap``, or the same gather under the same rule (the selector
  still visits every row).
- **ann** (approximate): the IVF index (:mod:`archmotif.retrieval.ann`) with the filter as
  an ``IDSelectorBitmap``. A filter keeping a share ``f`` asks for the top ``k / f``, so
  ``nprobe`` is the one measured for that depth. Exact search runs instead when it reads
  fewer rows than the IVF would (an IVF row costs ``IVF_ROW_COST`` numpy rows), or when
  the depth is beyond those measured. A query row that comes back short of ``k`` (the
  lists scanned held fewer than ``k`` qualifying rows) is answered by exact search.
- **auto**: ``ann`` when the index has an approximate index and faiss is installed, and
  numpy otherwise. Exact faiss is never chosen by itself: with its flat index kept it is
  level with numpy at one query (0.9-1.0x) and slower in batches of 64 (about 4x).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archmotif.errors import RetrievalError
from archmotif.retrieval.ann import IVF_ROW_COST, faiss_module, require_faiss

__all__ = ["METHODS", "numpy_search", "run_search"]

METHODS = ("auto", "numpy", "faiss", "ann")


def _gather_cost(n: int) -> float:
    """What gathering one row costs, in rows of the full matmul (measured at one thread:
    3 at 10^5 rows, whose 51 MB mostly stay in cache; 11 at 10^6, where each gathered row
    is a cache and TLB miss)."""
    return 3.0 if n <= 200_000 else 11.0


def _gathers(n: int, count: int) -> bool:
    """Whether gathering ``count`` of ``n`` rows and multiplying them beats the full
    matmul with non-qualifying rows masked: at most 25% qualify at 10^5, 8% at 10^6."""
    return count * (1.0 + _gather_cost(n)) <= n


_BLOCK = 1024  # query rows per matmul block, bounding memory at _BLOCK x rows floats


def _empty(nq: int) -> tuple[np.ndarray, np.ndarray]:
    return np.empty((nq, 0), dtype=np.float32), np.empty((nq, 0), dtype=np.int64)


def top_k(row: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest entries, best first, ties to the lower index."""
    if k < len(row):
        kth = np.partition(row, len(row) - k)[len(row) - k]
        cand = np.flatnonzero(row >= kth)  # every tie at the cut-off, in index order
    else:
        cand = np.arange(len(row))
    order = np.argsort(-row[cand], kind="stable")
    return cand[order[:k]]


def numpy_search(
    rows: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` (``k`` at most the qualifying count) by numpy matmul."""
    keep = None if mask is None else np.flatnonzero(mask)
    gather = keep is not None and _gathers(len(rows), len(keep))
    base = rows[keep] if gather else rows
    scores = np.empty((len(q), k), dtype=np.float32)
    ids = np.empty((len(q), k), dtype=np.int64)
    for start in range(0, len(q), _BLOCK):
        sims = q[start : start + _BLOCK] @ base.T
        if keep is not None and not gather:
            # the qualifying scores alone: setting the others to -inf instead left
            # np.partition with 90% equal values, 8x slower than the whole matmul at 10^6
            sims = sims[:, keep]
        for j, row in enumerate(sims):
            top = top_k(row, k)
            scores[start + j] = row[top]
            ids[start + j] = top if keep is None else keep[top]
    return scores, ids


def _faiss_exact(index: Any, q: np.ndarray, k: int, mask: np.ndarray | None):
    require_faiss("method='faiss'")
    if mask is not None and _gathers(len(mask), int(mask.sum())):
        faiss = faiss_module()
        keep = np.flatnonzero(mask)
        scores, local = faiss.knn(q, np.ascontiguousarray(index.embeddings[keep]), k,
                                  metric=faiss.METRIC_INNER_PRODUCT)  # fmt: skip
        return scores, keep[local]
    return index.exact_faiss().search(q, k, mask)


def _exact_cost(n: int, count: int) -> float:
    """An exact search over ``count`` of ``n`` rows, in rows of the full matmul."""
    return count * (1.0 + _gather_cost(n)) if _gathers(n, count) else float(n)


def _ann(index: Any, q: np.ndarray, k: int, mask: np.ndarray | None, count: int):
    ivf = index.ann
    if ivf is None:
        raise RetrievalError("method='ann' but the index has no approximate index; "
                             "call index.build_ann() (or archmotif index build --ann)")  # fmt: skip
    require_faiss("method='ann'")
    n = len(index)
    nprobe = ivf.nprobe_for(max(k, 10) * n / count)
    if nprobe is None or IVF_ROW_COST * nprobe * n / ivf.nlist >= _exact_cost(n, count):
        return numpy_search(index.embeddings, q, k, mask)
    if not ivf.attached:
        ivf.attach(index.embeddings)
    scores, ids = ivf.search(q, k, mask=mask, nprobe=nprobe)
    short = np.flatnonzero((ids < 0).any(axis=1))
    if len(short):
        scores[short], ids[short] = numpy_search(index.embeddings, q[short], k, mask)
    return scores, ids


def run_search(
    index: Any, q: np.ndarray, k: int, mask: np.ndarray | None, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of the normalised queries ``q`` among ``index``'s rows in ``mask``."""
    count = len(index) if mask is None else int(mask.sum())
    k = min(k, count)
    if k == 0:
        return _empty(len(q))
    if method == "auto":
        method = "ann" if index.ann is not None and faiss_module() is not None else "numpy"
    if method == "numpy":
        return numpy_search(index.embeddings, q, k, mask)
    if method == "faiss":
        scores, ids = _faiss_exact(index, q, k, mask)
    else:
        scores, ids = _ann(index, q, k, mask, count)
    return scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)
