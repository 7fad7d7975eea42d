"""How :meth:`Index.search <archmotif.retrieval.index.Index.search>` answers: which of the
three methods runs, how a ``where`` filter is applied to each, and the exact numpy path.

Every method filters *before* the top-k, so ``min(k, qualifying)`` results come back:

- **numpy** (exact): one matmul per block of queries against every row, non-qualifying
  rows set to -inf; when at most half the rows qualify, the qualifying rows are gathered
  first and only they are multiplied (gathering costs about one more pass over them).
  Ties go to the lower row index, filtered or not.
- **faiss** (exact): the index's one ``IndexFlatIP`` (built on first use, kept); a filter
  is an ``IDSelectorBitmap``, or the same gather as numpy when few rows qualify, whichever
  ``benches/search.py`` measured faster (constants below).
- **ann** (approximate): the IVF index (:mod:`archmotif.retrieval.ann`) with the filter as
  an ``IDSelectorBitmap``. A filter leaves a fraction ``f`` of each list, so ``nprobe``
  is divided by ``f`` (capped at ``nlist``) to scan as many qualifying rows as an
  unfiltered search does, keeping its recall. When the qualifying rows are few enough
  that exact search over them reads fewer rows than that scan, exact search over them
  runs instead. A query row that still comes back short of ``k`` (possible when the lists
  scanned hold fewer than ``k`` qualifying rows) is answered by exact search.
- **auto**: ``ann`` when the index has an approximate index and faiss is installed;
  otherwise ``faiss`` exact for batches of at least ``FAISS_MIN_QUERIES`` queries on more
  than ``FAISS_MIN_ROWS`` rows (where its BLAS and C++ heap beat numpy's per-row
  partition), and numpy otherwise: one query is as fast in numpy at every size measured.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from archmotif.errors import RetrievalError
from archmotif.retrieval.ann import faiss_module, require_faiss

__all__ = ["FAISS_MIN_QUERIES", "FAISS_MIN_ROWS", "METHODS", "numpy_search", "run_search"]

METHODS = ("auto", "numpy", "faiss", "ann")
FAISS_MIN_QUERIES = 16
FAISS_MIN_ROWS = 50_000
_GATHER_FRACTION = 0.5  # gather the qualifying rows first when at most this share qualifies
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
    gather = keep is not None and len(keep) <= _GATHER_FRACTION * len(rows)
    base = rows[keep] if gather else rows
    scores = np.empty((len(q), k), dtype=np.float32)
    ids = np.empty((len(q), k), dtype=np.int64)
    for start in range(0, len(q), _BLOCK):
        sims = q[start : start + _BLOCK] @ base.T
        if keep is not None and not gather:
            sims[:, ~mask] = -np.inf
        for j, row in enumerate(sims):
            top = top_k(row, k)
            scores[start + j] = row[top]
            ids[start + j] = keep[top] if gather else top
    return scores, ids


def _faiss_exact(index: Any, q: np.ndarray, k: int, mask: np.ndarray | None):
    require_faiss("method='faiss'")
    if mask is not None and mask.sum() <= _GATHER_FRACTION * len(mask):
        faiss = faiss_module()
        keep = np.flatnonzero(mask)
        scores, local = faiss.knn(q, np.ascontiguousarray(index.embeddings[keep]), k,
                                  metric=faiss.METRIC_INNER_PRODUCT)  # fmt: skip
        return scores, keep[local]
    return index.exact_faiss().search(q, k, mask)


def _ann(index: Any, q: np.ndarray, k: int, mask: np.ndarray | None, count: int):
    ivf = index.ann
    if ivf is None:
        raise RetrievalError("method='ann' but the index has no approximate index; "
                             "call index.build_ann() (or archmotif index build --ann)")  # fmt: skip
    require_faiss("method='ann'")
    n = len(index)
    nprobe = min(ivf.nlist, math.ceil(ivf.nprobe * n / count))
    scanned = nprobe * n / ivf.nlist  # rows an IVF search reads, on average
    if mask is not None and 2 * count <= scanned:  # exact over the qualifying rows is cheaper
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
        has_faiss = faiss_module() is not None
        if index.ann is not None and has_faiss:
            method = "ann"
        elif has_faiss and len(q) >= FAISS_MIN_QUERIES and len(index) > FAISS_MIN_ROWS:
            method = "faiss"
        else:
            method = "numpy"
    if method == "numpy":
        return numpy_search(index.embeddings, q, k, mask)
    if method == "faiss":
        scores, ids = _faiss_exact(index, q, k, mask)
    else:
        scores, ids = _ann(index, q, k, mask, count)
    return scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)
