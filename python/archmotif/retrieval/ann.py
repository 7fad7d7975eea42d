"""faiss behind :class:`~archmotif.retrieval.index.Index`: the exact flat index, built once
and kept, and the approximate inverted-file index (:class:`IVF`) for 10^6 and more rows.

**Exact** (:class:`ExactFaiss`): one ``IndexFlatIP`` holding a copy of the rows, made on
the first faiss search and reused (building it on every call is what made faiss 18x
slower than numpy at 10^6 rows). A filter is an ``IDSelectorBitmap`` over the rows.

**Approximate** (:class:`IVF`): faiss ``IndexIVFFlat`` with inner product. Spherical
k-means on a sample gives ``nlist`` centroids; each row is stored in the list of its
nearest centroid; a query scans the ``nprobe`` lists nearest to it. ``nprobe`` is chosen
at build time as the smallest of 1, 2, 3, 4, 6, 8, 12, ... (steps of about sqrt 2) whose
recall against exact search, on a sample of stored rows used as queries (each one's own
row left out: a held-out row of the same collection), reaches the target (0.95 by
default). It is chosen for the top 10, 100 and 1000: a filter that keeps a share ``f``
of the rows (independently of where they lie) asks for the top ``k / f`` of all rows,
and a deeper top needs more lists. The measured recalls are kept with the index and
reported.

**In the index file** the IVF is two plain arrays, ``ann_centroids`` (float32 [nlist,
dim]) and ``ann_lists`` (int64 [count], each row's list), and its settings in the header.
No faiss-serialised bytes are stored: faiss's deserialiser trusts its input (a crafted
blob can make it allocate or read out of bounds), and a stranger's file must not be able
to crash the process. On load the arrays are checked (dtype, shape, finite, every list
id in range) and the faiss index is rebuilt from them and the stored rows, with the
stored assignment (``add_core``), so no k-means runs on load and the loaded index
answers exactly as the saved one did: at 10^6 x 128 this takes about a second (see
``benches/search.py``), against minutes to retrain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archmotif.errors import FormatError, RetrievalError

__all__ = ["IVF", "ExactFaiss", "faiss_module", "require_faiss"]


def faiss_module() -> Any:
    """The ``faiss`` module, or ``None`` when it is not installed."""
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def require_faiss(what: str) -> Any:
    faiss = faiss_module()
    if faiss is None:
        raise RetrievalError(f"{what} needs faiss, which is not installed (pip install faiss-cpu)")
    return faiss


def _selector(faiss: Any, mask: np.ndarray) -> tuple[Any, np.ndarray]:
    """An ``IDSelectorBitmap`` of ``mask``, and the bits it points at (keep them alive)."""
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)), bits


class ExactFaiss:
    """Exact top-k inner product with one ``IndexFlatIP``, built once from ``rows``."""

    def __init__(self, rows: np.ndarray) -> None:
        faiss = require_faiss("method='faiss'")
        self._faiss = faiss
        self._flat = faiss.IndexFlatIP(rows.shape[1])
        self._flat.add(np.ascontiguousarray(rows, dtype=np.float32))

    def search(
        self, q: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if mask is None:
            return ties_by_index(*self._flat.search(q, k))
        sel, _bits = _selector(self._faiss, mask)
        return ties_by_index(*self._flat.search(q, k, params=self._faiss.SearchParameters(sel=sel)))


def ties_by_index(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's results by score, equal scores by the lower item index, as numpy's
    exact search orders them (faiss orders ties its own way: two architectures of the
    same graph, such as resnet50 and wide_resnet50_2 at ``detail="op"``, came out in the
    other order)."""
    scores, ids = np.array(scores), np.array(ids)
    for r in range(scores.shape[0]):
        o = np.lexsort((ids[r], -scores[r]))
        scores[r], ids[r] = scores[r][o], ids[r][o]
    return scores, ids


def _nlist_for(count: int) -> int:
    """About 2 sqrt(count) lists, a power of two, at least 1 and at most count / 39
    (faiss's k-means wants 39 points per centroid)."""
    want = 1 << max(0, round(np.log2(2 * np.sqrt(max(count, 1)))))
    return int(max(1, min(want, count // 39)))


def _is_depth(d: Any) -> bool:
    """``[depth, nprobe, recall]``: two ints and a number (no bools)."""
    return (
        isinstance(d, list)
        and len(d) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) for v in d[:2])
        and isinstance(d[2], (int, float))
        and not isinstance(d[2], bool)
    )


DEPTHS = (10, 100, 1000)  # recall is measured at these depths when nprobe is chosen
# A row of an IVF list costs about this many rows of numpy's exact matmul (benches/search.py:
# one thread, 128 wide); an IVF search scanning more than 1 / IVF_ROW_COST of the rows is
# slower than exact search, so tuning stops there and such searches run exactly.
IVF_ROW_COST = 1.8


class IVF:
    """The approximate index: ``centroids`` [nlist, dim], ``lists`` [count] (each row's
    list id) and ``depths``: for each depth D measured, ``(D, nprobe, recall@D)``, the
    smallest ``nprobe`` that reached the target recall of the top D (or ``nlist`` and the
    best recall measured, when no ``nprobe`` cheaper than exact search reached it: such
    searches run exactly). Depth 10 is the plain search; a filter that keeps a share ``f``
    of the rows needs the top ``k / f`` of them to be found, so it reads a deeper row."""

    def __init__(
        self, centroids: np.ndarray, lists: np.ndarray, depths: list[tuple[int, int, float]]
    ):
        self.centroids = centroids
        self.lists = lists
        self.depths = sorted((int(d), int(p), float(r)) for d, p, r in depths)
        self._ivf: Any = None

    @property
    def nprobe(self) -> int:
        """Lists scanned by an unfiltered top-10 search."""
        return self.depths[0][1]

    @property
    def recall(self) -> float:
        """recall@10 of an unfiltered search against exact, measured at build time."""
        return self.depths[0][2]

    def nprobe_for(self, depth: float) -> int | None:
        """``nprobe`` for a search that must find the top ``depth`` rows, or ``None``
        when that is deeper than any depth measured."""
        return next((p for d, p, _ in self.depths if d >= depth), None)

    @property
    def faster_than_exact(self) -> bool:
        """Whether an unfiltered top-10 search scans few enough rows to beat exact."""
        return IVF_ROW_COST * self.nprobe < self.nlist

    @property
    def attached(self) -> bool:
        """Whether the faiss index over the rows is built (on first search)."""
        return self._ivf is not None

    @property
    def nlist(self) -> int:
        return self.centroids.shape[0]

    def __repr__(self) -> str:
        return f"IVF(nlist={self.nlist}, nprobe={self.nprobe}, recall@10={self.recall:.3f})"

    @classmethod
    def train(
        cls,
        rows: np.ndarray,
        *,
        nlist: int | None = None,
        target_recall: float = 0.95,
        sample: int = 200,
        seed: int = 0,
    ) -> IVF:
        """Clusters ``rows`` (L2-normalised) into ``nlist`` lists (default about 2
        sqrt(count)) and picks ``nprobe`` per depth for ``target_recall`` (see the module
        docstring), on ``sample`` stored rows used as queries."""
        faiss = require_faiss("an approximate index")
        count, dim = rows.shape
        nlist = _nlist_for(count) if nlist is None else int(nlist)
        if not 1 <= nlist <= max(1, count):
            raise RetrievalError(f"nlist must be between 1 and the row count {count}, got {nlist}")
        if not 0.0 < target_recall <= 1.0:
            raise RetrievalError(f"target_recall must be in (0, 1], got {target_recall}")
        x = np.ascontiguousarray(rows, dtype=np.float32)
        km = faiss.Kmeans(dim, nlist, niter=10, seed=seed, spherical=True,
                          max_points_per_centroid=64)  # fmt: skip
        km.train(x)
        centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
        quantizer = faiss.IndexFlatIP(dim)
        quantizer.add(centroids)
        _, assign = quantizer.search(x, 1)
        ivf = cls(centroids, assign[:, 0].astype(np.int64), [(10, nlist, 1.0)])
        ivf.attach(x)
        ivf.depths = ivf._tune(x, target_recall, sample, seed)
        return ivf

    def _tune(self, x: np.ndarray, target: float, sample: int, seed: int):
        rng = np.random.default_rng(seed)
        who = rng.choice(len(x), size=min(sample, len(x)), replace=False)
        # depths a sample can measure: at least 10 (or all other rows), at most n / 4
        depths = [d for d in DEPTHS if d <= max(10, len(x) // 4)]
        depths = [min(d, len(x) - 1) for d in depths]
        if depths[0] < 1:
            return [(10, self.nlist, 1.0)]
        deepest = depths[-1]
        # each sampled row queries the others: its own row is dropped from both answers
        _, exact = ExactFaiss(x).search(x[who], deepest + 1)
        truth = [row[row != i][:deepest] for row, i in zip(exact, who, strict=True)]
        found: dict[int, tuple[int, float]] = {}
        recall_at: dict[int, float] = {}
        nprobe = 1
        while True:
            _, got = self.search(x[who], deepest + 1, nprobe=nprobe)
            mine = [row[(row != i) & (row >= 0)] for row, i in zip(got, who, strict=True)]
            for d in depths:
                if d in found:
                    continue
                hits = sum(
                    len(np.intersect1d(t[:d], g[:d])) for t, g in zip(truth, mine, strict=True)
                )
                recall_at[d] = hits / (d * len(who))
                if recall_at[d] >= target or nprobe >= self.nlist:
                    found[d] = (nprobe, recall_at[d])
            # 1, 2, 3, 4, 6, 8, 12, ...: doubling alone overshoots by up to 2x the cost
            step = min(nprobe + max(1, 2 ** (nprobe.bit_length() - 1) // 2), self.nlist)
            if len(found) < len(depths) and IVF_ROW_COST * step >= self.nlist:
                # past here exact search is faster: record nlist (searches run exactly)
                found.update({d: (self.nlist, recall_at[d]) for d in depths if d not in found})
            if len(found) == len(depths):
                return [(d, *found[d]) for d in depths]
            nprobe = step

    def attach(self, rows: np.ndarray) -> None:
        """Builds the faiss index over ``rows`` with the stored centroids and lists."""
        faiss = require_faiss("an approximate index")
        dim = rows.shape[1]
        quantizer = faiss.IndexFlatIP(dim)
        quantizer.add(self.centroids)
        ivf = faiss.IndexIVFFlat(quantizer, dim, self.nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.is_trained = True
        x = np.ascontiguousarray(rows, dtype=np.float32)
        lists = np.ascontiguousarray(self.lists, dtype=np.int64)
        ivf.add_core(len(x), faiss.swig_ptr(x), None, faiss.swig_ptr(lists))
        ivf.own_fields = True
        quantizer.this.disown()  # the IVF now owns (and frees) the quantizer
        self._ivf = ivf

    def search(
        self, q: np.ndarray, k: int, mask: np.ndarray | None = None, nprobe: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` of ``q`` among the rows (those in ``mask``), ids ``-1`` where fewer
        than ``k`` were found in the lists scanned."""
        if self._ivf is None:
            raise RetrievalError("the approximate index is not attached to its rows")
        faiss = faiss_module()
        params = faiss.SearchParametersIVF()
        params.nprobe = min(self.nlist, nprobe or self.nprobe)
        bits = None
        if mask is not None:
            params.sel, bits = _selector(faiss, mask)
        scores, ids = self._ivf.search(q, k, params=params)
        del bits
        return scores, ids

    # -- file -----------------------------------------------------------------

    def header(self) -> dict[str, Any]:
        return {"kind": "ivf", "nlist": self.nlist, "depths": [list(d) for d in self.depths]}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"ann_centroids": self.centroids, "ann_lists": self.lists}

    @classmethod
    def from_file(cls, p: str, info: Any, arrays: dict[str, np.ndarray], count: int, dim: int):
        """The IVF a file describes, every part checked first (FormatError naming ``p``)."""
        c, lists = arrays.get("ann_centroids"), arrays.get("ann_lists")
        depths = info.get("depths") if isinstance(info, dict) else None
        ok = (
            isinstance(info, dict)
            and info.get("kind") == "ivf"
            and isinstance(info.get("nlist"), int)
            and isinstance(depths, list)
            and len(depths) >= 1
            and all(_is_depth(d) for d in depths)
            and c is not None
            and lists is not None
        )
        if not ok:
            raise FormatError(f"{p}: the index's approximate-search entry is malformed")
        nlist = info["nlist"]
        if c.dtype != np.float32 or c.shape != (nlist, dim) or not np.isfinite(c).all():
            raise FormatError(f"{p}: ann_centroids has the wrong dtype or shape, or NaN")
        if lists.dtype != np.int64 or lists.shape != (count,):
            raise FormatError(f"{p}: ann_lists has the wrong dtype or shape")
        if count and (lists.min() < 0 or lists.max() >= nlist):
            raise FormatError(f"{p}: ann_lists names a list outside 0..{nlist - 1}")
        for depth, nprobe, _ in depths:
            if not (nlist >= 1 and 1 <= nprobe <= nlist and depth >= 1):
                raise FormatError(f"{p}: nprobe {nprobe} is outside 1..nlist ({nlist})")
        return cls(c, lists, [tuple(d) for d in depths])
