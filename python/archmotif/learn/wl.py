"""``WLBaseline``: "WL subtree TF-IDF + SVD", an unsupervised retrieval baseline on raw
operator graphs that needs no training loop and no torch.

1. **Weisfeiler-Lehman subtree features.** Each node starts with a label derived from
   its op *name* (a fixed blake2b hash, so features agree across corpora whatever their
   op numbering). Each of ``iterations`` rounds replaces a node's label by a hash of its
   label, the multiset of its predecessors' labels and, separately, the multiset of its
   successors' labels (edge direction counts). A graph's features are the labels of all
   its nodes over rounds ``0..iterations``, with counts. Multisets are hashed as a sum
   of mixed 64-bit labels (commutative, so neighbour order is irrelevant; a collision
   needs a 2^-64-scale accident), which keeps every round one vectorised numpy pass.
2. **Feature hashing** of the 64-bit labels into ``n_features`` columns.
3. **TF-IDF**: sublinear term frequency ``1 + log(count)`` (a 152-layer ResNet should
   look like a 50-layer one, not three times as much of it) times the smoothed inverse
   document frequency learnt by :meth:`WLBaseline.fit`; rows L2-normalised.
4. **Truncated SVD** of the fitted TF-IDF matrix (numpy only: the eigendecomposition of
   its smaller Gram matrix, or randomized subspace iteration from a fixed seed when both
   sides exceed ``EXACT_SVD_LIMIT``, as 15,625 NAS-Bench-201 networks do);
   :meth:`WLBaseline.embed` projects onto the top ``dim`` right singular vectors
   (zero-padded to ``dim`` columns when fewer graphs were fitted) and L2-normalises.
   Singular vector signs are fixed (largest entry positive), so the result is
   deterministic for a given input; ``seed`` is unused.

Isomorphic graphs get identical features and therefore identical embeddings.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence

import numpy as np

from archmotif.atomic import write_atomic
from archmotif.attributes import DEFAULT_DETAIL, PLAIN_DETAIL, check_detail, with_detail
from archmotif.errors import FormatError, InvalidArgument, RetrievalError, check_format
from archmotif.fileread import NpzReader, parse_json
from archmotif.graph import OpGraph

__all__ = ["WL_FORMAT", "WL_VERSION", "WLBaseline", "wl_features"]

WL_FORMAT = "archmotif.wl"
WL_VERSION = 1

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_PRED = np.uint64(0x5BD1E9955BD1E995)
_SUCC = np.uint64(0xC2B2AE3D27D4EB4F)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise (uint64 arithmetic wraps, as intended)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _op_label(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def wl_features(graph: OpGraph, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The WL subtree features of ``graph``: sorted unique 64-bit labels (uint64) over
    rounds ``0..iterations`` and how often each occurs (int64)."""
    table = np.array([_op_label(n) for n in graph.op_names], dtype=np.uint64)
    labels = table[graph.ops] if graph.num_nodes else np.zeros(0, dtype=np.uint64)
    src, dst = graph.edges
    rounds = [labels]
    for _ in range(iterations):
        mixed = _mix(labels)
        pred = np.zeros_like(labels)
        np.add.at(pred, dst, mixed[src])
        succ = np.zeros_like(labels)
        np.add.at(succ, src, mixed[dst])
        labels = _mix(_mix(_mix(labels) + (pred ^ _PRED)) + (succ ^ _SUCC))
        rounds.append(labels)
    return np.unique(np.concatenate(rounds), return_counts=True)


# Above this many rows and columns both, an exact eigendecomposition of either Gram
# matrix costs minutes (O(n^3)) and LAPACK was seen to crash on the 15,625 x 15,625 one
# of NAS-Bench-201: the top singular vectors are then found by randomized subspace
# iteration instead, which costs O(n * m * dim).
EXACT_SVD_LIMIT = 4096
_POWER_ITERATIONS = 6
_OVERSAMPLE = 16


def _top_right_singular(x: np.ndarray, dim: int) -> np.ndarray:
    """The top ``dim`` right singular vectors of ``x`` ``[n, m]`` whose singular value is
    not negligible, as columns ``[m, r]`` (``r <= dim``), in decreasing order. Exact
    through the smaller Gram matrix while it has at most ``EXACT_SVD_LIMIT`` rows;
    beyond, randomized subspace iteration (Halko, Martinsson & Tropp 2011) from a fixed
    seed, so the result is still a function of ``x`` alone."""
    n, m = x.shape
    if min(n, m) <= EXACT_SVD_LIMIT:
        if n <= m:  # through the n x n Gram matrix
            eigval, eigvec = np.linalg.eigh(x @ x.T)
            order = np.argsort(eigval)[::-1][:dim]
            sing = np.sqrt(np.clip(eigval[order], 0.0, None))
            keep = _not_negligible(sing)
            return (x.T @ eigvec[:, order[keep]]) / sing[keep]
        eigval, eigvec = np.linalg.eigh(x.T @ x)
        order = np.argsort(eigval)[::-1][:dim]
        keep = _not_negligible(np.sqrt(np.clip(eigval[order], 0.0, None)))
        return eigvec[:, order[keep]]
    k = min(dim + _OVERSAMPLE, n, m)
    omega = np.random.default_rng(0).standard_normal((m, k))
    q, _ = np.linalg.qr(x @ omega)
    for _ in range(_POWER_ITERATIONS):  # re-orthonormalised each half step (stable)
        p, _ = np.linalg.qr(x.T @ q)
        q, _ = np.linalg.qr(x @ p)
    _, sing, vt = np.linalg.svd(q.T @ x, full_matrices=False)
    keep = _not_negligible(sing[:dim])
    return vt[:dim][keep].T


def _not_negligible(sing: np.ndarray) -> np.ndarray:
    return sing > 1e-8 * max(1.0, float(sing[0]) if sing.size else 1.0)


class WLBaseline:
    """WL subtree TF-IDF + SVD; see the module docstring. Implements the embedder
    interface of :mod:`archmotif.learn` (``name``, ``fit``, ``embed``)."""

    name = "wl"

    def __init__(
        self,
        *,
        iterations: int = 3,
        n_features: int = 2**14,
        dim: int = 128,
        detail: str = DEFAULT_DETAIL,
    ) -> None:
        # upper bounds too: a file's parameters come through here (see load)
        for arg, value, low, high in (
            ("iterations", iterations, 0, 64),
            ("n_features", n_features, 1, 2**24),
            ("dim", dim, 1, 4096),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise RetrievalError(f"{arg} must be an integer in [{low}, {high}], got {value!r}")
        self.iterations = iterations
        self.n_features = n_features
        self.dim = dim
        self.detail = check_detail(detail)
        self._idf: np.ndarray | None = None
        self._components: np.ndarray | None = None  # [dim, n_features], zero rows as padding

    def __repr__(self) -> str:
        state = "fitted" if self._idf is not None else "not fitted"
        return (
            f"WLBaseline(iterations={self.iterations}, n_features={self.n_features}, "
            f"dim={self.dim}, {state})"
        )

    def _counts(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        """Hashed raw feature counts, float64 ``[len(graphs), n_features]``."""
        out = np.zeros((len(graphs), self.n_features), dtype=np.float64)
        width = np.uint64(self.n_features)
        for i, g in enumerate(graphs):
            if not isinstance(g, OpGraph):
                raise TypeError(f"graphs[{i}] is {type(g).__name__}, not OpGraph")
            labels, counts = wl_features(g, self.iterations)
            np.add.at(out[i], (labels % width).astype(np.int64), counts)
        return out

    @staticmethod
    def _tfidf(counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
        tf = np.zeros_like(counts)
        nz = counts > 0
        tf[nz] = 1.0 + np.log(counts[nz])
        x = tf * idf
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)

    def fit(self, graphs: Sequence[OpGraph], *, seed: int = 0) -> WLBaseline:
        """Learns the IDF weights and the SVD basis from ``graphs`` (labels unused)."""
        graphs = with_detail(graphs, self.detail)
        if not graphs:
            raise RetrievalError("WLBaseline.fit needs at least one graph")
        counts = self._counts(graphs)
        df = (counts > 0).sum(axis=0)
        n = len(graphs)
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        x = self._tfidf(counts, idf)
        used = np.flatnonzero(df)  # columns no fitted graph has stay zero in the basis
        sub = _top_right_singular(x[:, used], self.dim)  # [len(used), r]
        basis = np.zeros((self.n_features, sub.shape[1]))
        basis[used] = sub
        flip = np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(basis.shape[1])])
        basis *= np.where(flip == 0, 1.0, flip)
        # float32, as saved, so a reloaded baseline embeds bit for bit the same
        components = np.zeros((self.dim, self.n_features), dtype=np.float32)
        components[: basis.shape[1]] = basis.T
        self._idf, self._components = idf, components
        return self

    def embed(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        """float32 ``[len(graphs), dim]``, rows L2-normalised (a graph sharing no
        feature with the fitted corpus gets a zero row)."""
        if self._idf is None or self._components is None:
            raise RetrievalError("WLBaseline.embed called before fit")
        graphs = with_detail(graphs, self.detail)
        if not graphs:
            return np.zeros((0, self.dim), dtype=np.float32)
        z = self._tfidf(self._counts(graphs), self._idf) @ self._components.T
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        z = np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
        return z.astype(np.float32)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the fitted baseline to one ``.npz`` file (atomically): a JSON header
        (format, version, parameters) and the ``idf`` and ``components`` arrays."""
        if self._idf is None or self._components is None:
            raise RetrievalError("WLBaseline.save called before fit")
        header = {
            "format": WL_FORMAT,
            "version": WL_VERSION,
            "iterations": self.iterations,
            "n_features": self.n_features,
            "dim": self.dim,
            "detail": self.detail,
        }
        arrays = {
            "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            "idf": self._idf,
            "components": self._components,
        }
        write_atomic(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WLBaseline:
        """Reads a file written by :meth:`save`; a corrupt, foreign or newer file raises
        :class:`~archmotif.FormatError` naming it."""
        p = os.fspath(path)
        with NpzReader(p, "WL baseline") as z:
            missing = {"header", "idf", "components"} - set(z.members)
            if missing:
                raise FormatError(f"{p}: not a WL baseline file (missing {sorted(missing)})")
            if z.members["header"].dtype != np.uint8 or len(z.members["header"].shape) != 1:
                raise FormatError(f"{p}: corrupt WL baseline header")
            h = parse_json(z.array("header").tobytes(), p, "WL baseline header")
            check_format(p, h, fmt=WL_FORMAT, newest=WL_VERSION, kind="WL baseline file",
                         versioned="WL baseline")  # fmt: skip
            try:
                model = cls(iterations=h["iterations"], n_features=h["n_features"], dim=h["dim"],
                            detail=h.get("detail", PLAIN_DETAIL))  # fmt: skip
            except (KeyError, RetrievalError, InvalidArgument) as e:
                raise FormatError(f"{p}: bad WL baseline parameters ({e})") from None
            # the declared sizes are checked against the members before they are read
            if z.members["idf"].shape != (model.n_features,) or z.members["components"].shape != (
                model.dim,
                model.n_features,
            ):
                raise FormatError(f"{p}: WL baseline arrays have the wrong shape")
            idf, components = z.array("idf"), z.array("components")
        model._idf = idf.astype(np.float64)
        model._components = components.astype(np.float32)
        return model
