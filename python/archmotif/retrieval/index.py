"""``Index``: architecture embeddings + metadata in one local file, top-k cosine search,
and :func:`search`, from a model to its nearest architectures in one call.

Rows are L2-normalised on the way in, so cosine similarity is an inner product. Search
is exact (numpy, or faiss ``IndexFlatIP`` built once and kept) unless the index holds an
approximate IVF index (:meth:`Index.build_ann`); ``where=`` filters on metadata before the
top-k. :mod:`archmotif.retrieval.search_plan` says which method runs when and how each
filters; :mod:`archmotif.retrieval.constraints` what ``where`` accepts. Ties in score are
broken by the lower item index, by numpy and exact faiss alike (faiss's own order of
ties is undone; which items make the top k at a tie on its boundary can still differ).

**The index file** (``Index.save``, written atomically) is one ``.npz`` read with
``allow_pickle=False``:

- ``header``: UTF-8 JSON ``{"format": "archmotif.index", "version": 2, "count", "dim",
  "metadata": [{str: str}], "sha256": {array name: hex digest}, "encoder": null |
  {"kind": "ours" | "wl", "name": str}, "detail": "op" | "attrs"}`` (``detail``: the level
  of detail the graphs were embedded at, :mod:`archmotif.attributes`; files without it
  are ``"op"``);
- ``embeddings``: float32 ``[count, dim]``;
- ``encoder``: uint8, the bytes of the encoder's own file (``encoder.save(path)``);
- with an approximate index, ``ann_centroids`` and ``ann_lists`` and the header entry
  ``"ann": {"kind": "ivf", "nlist", "nprobe", "recall_at_10"}``: plain arrays, checked and
  rebuilt into faiss on load, never faiss's serialised bytes (:mod:`~archmotif.retrieval.ann`
  says why). Files without them are read as before, and older archmotif reads these
  files, ignoring the approximate index.

The encoder's *bytes* are stored, not a path to them, so an index file alone answers
``search(model, "index.npz")`` wherever it is copied. ``kind`` is a name in the fixed
registry of :mod:`archmotif.learn.registry` (version 1 files named the class by its
import path; the two paths archmotif wrote are still read, nothing else): a file chooses
among archmotif's encoders and never names code to import. The chosen class reads the
bytes with its own pickle-free ``load``. The archive is checked by
:class:`~archmotif.fileread.NpzReader` before anything is read; a corrupt, truncated,
foreign or newer file, or one whose arrays do not match their checksums, raises
:class:`~archmotif.FormatError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archmotif.atomic import write_atomic
from archmotif.attributes import DEFAULT_DETAIL, PLAIN_DETAIL, check_detail
from archmotif.errors import FormatError, RetrievalError, check_format
from archmotif.fileread import NpzReader, parse_json
from archmotif.graph import OpGraph
from archmotif.learn.registry import encoder_class, encoder_kind
from archmotif.retrieval.ann import IVF, ExactFaiss
from archmotif.retrieval.constraints import MetadataColumns, parse_where
from archmotif.retrieval.search_plan import METHODS, run_search

__all__ = [
    "INDEX_FORMAT", "INDEX_VERSION", "Hit", "Index", "check_index_detail", "embed_query", "search",
]  # fmt: skip

INDEX_FORMAT = "archmotif.index"
INDEX_VERSION = 2


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _as_matrix(x: Any, what: str, dim: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise RetrievalError(f"{what} must be a float array [n, d]: {e}") from None
    if a.ndim == 1 and dim is not None:
        a = a[None, :]
    if a.ndim != 2:
        raise RetrievalError(f"{what} must be 2-D [n, d], got shape {a.shape}")
    if dim is not None and a.shape[1] != dim:
        raise RetrievalError(f"{what} have dimension {a.shape[1]}, the index has {dim}")
    if not np.isfinite(a).all():
        raise RetrievalError(f"{what} hold NaN or infinite values")
    return a


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


@dataclass(frozen=True)
class Hit:
    """One search result: ``rank`` (1 = best), item ``index``, cosine ``score``, the item's
    ``name`` (``metadata["name"]``, or ``""``) and its ``metadata``."""

    rank: int
    index: int
    score: float
    name: str
    metadata: Mapping[str, str] = field(default_factory=dict)


class Index:
    """Embeddings (one row per architecture, L2-normalised here) with per-item metadata
    (dicts of str to str, e.g. ``name``, ``family``) and optionally the encoder that made
    them, so that :func:`search` can embed a new model the same way. ``detail`` is the
    level of detail the graphs were taken at: the encoder's (its ``detail``), or
    ``detail=`` for embeddings without an encoder (default
    :data:`~archmotif.attributes.DEFAULT_DETAIL`)."""

    def __init__(
        self,
        embeddings: Any,
        metadata: Sequence[Mapping[str, str]] | None = None,
        *,
        encoder: Any = None,
        detail: str | None = None,
    ) -> None:
        emb = _as_matrix(embeddings, "embeddings")
        self.detail = _detail_of(encoder, detail)
        meta = [{} for _ in range(len(emb))] if metadata is None else list(metadata)
        if len(meta) != len(emb):
            raise RetrievalError(f"{len(meta)} metadata entries for {len(emb)} embeddings")
        for i, m in enumerate(meta):
            if not isinstance(m, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in m.items()
            ):
                raise RetrievalError(f"metadata[{i}] must map str to str, got {m!r}")
        self.embeddings = _normalise(emb).astype(np.float32)
        self.embeddings.flags.writeable = False
        # read as columns on first use by ``where`` and treated as fixed from then on
        self.metadata: list[dict[str, str]] = [dict(m) for m in meta]
        self.encoder = encoder
        self.ann: IVF | None = None
        self._columns: MetadataColumns | None = None
        self._exact_faiss: ExactFaiss | None = None

    def __len__(self) -> int:
        return self.embeddings.shape[0]

    @property
    def dim(self) -> int:
        return self.embeddings.shape[1]

    def __repr__(self) -> str:
        enc = getattr(self.encoder, "name", None)
        ann = "" if self.ann is None else f", ann={self.ann!r}"
        return f"Index({len(self)} items, dim={self.dim}, encoder={enc!r}{ann})"

    @classmethod
    def build(
        cls,
        graphs: Sequence[OpGraph],
        encoder: Any,
        *,
        fit: bool = False,
        seed: int = 0,
        detail: str | None = None,
    ) -> Index:
        """Embeds ``graphs`` with ``encoder`` (fitting it on them first when ``fit``) and
        indexes them with their name and labels as metadata. The encoder takes the graphs
        at its own ``detail``; ``detail=``, when given, must be that one."""
        _detail_of(encoder, detail)
        graphs = list(graphs)
        if fit:
            encoder.fit(graphs, seed=seed)
        meta = [{"name": g.name, **g.labels} for g in graphs]
        return cls(encoder.embed(graphs), meta, encoder=encoder)

    def search(
        self, queries: Any, k: int = 10, *, where: Any = None, method: str = "auto"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` cosine search: ``(scores, indices)``, float32 and int64 arrays of shape
        ``[len(queries), min(k, qualifying items)]``, best first.

        ``where`` keeps only the items whose metadata meets it (see
        :mod:`archmotif.retrieval.constraints`: ``{"params": ("<=", 10e6)}`` or
        ``"params <= 10M and coarse == cnn"``), before the top-k: ``k`` results come back
        when ``k`` qualify, none when nothing does.

        ``method``: ``"numpy"`` and ``"faiss"`` are exact; ``"ann"`` is the approximate
        index made by :meth:`build_ann` (or stored in the file); ``"auto"`` uses the
        approximate index when there is one and faiss is installed, unless the filter
        leaves few enough items that exact search over them is as fast, and otherwise
        the faster exact one (see :mod:`archmotif.retrieval.search_plan`).
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise RetrievalError(f"k must be a positive integer, got {k!r}")
        if method not in METHODS:
            raise RetrievalError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        q = np.ascontiguousarray(_normalise(_as_matrix(queries, "queries", self.dim)))
        mask = self.columns.mask(parse_where(where))
        return run_search(self, q, int(k), mask, method)

    def hits(self, scores: Any, ids: Any) -> list[Hit]:
        """One query's ``scores`` and ``ids`` (a row of :meth:`search`) as ranked hits."""
        metas = [self.metadata[int(i)] for i in ids]
        return [
            Hit(rank, int(i), float(s), m.get("name", ""), m)
            for rank, (s, i, m) in enumerate(zip(scores, ids, metas, strict=True), start=1)
        ]

    @property
    def columns(self) -> MetadataColumns:
        """The metadata as columns, each read once on first use (see ``where``)."""
        if self._columns is None:
            self._columns = MetadataColumns(self.metadata)
        return self._columns

    def build_ann(
        self, *, nlist: int | None = None, target_recall: float = 0.95, seed: int = 0
    ) -> IVF:
        """Builds (and keeps, and :meth:`save` stores) the approximate index, choosing its
        ``nprobe`` for ``target_recall`` at 10 against exact search; returns it (its
        ``recall`` and ``nprobe`` say what was measured)."""
        self.ann = IVF.train(self.embeddings, nlist=nlist, target_recall=target_recall, seed=seed)
        return self.ann

    def exact_faiss(self) -> ExactFaiss:
        """The exact faiss index over the rows, built on first use and kept."""
        if self._exact_faiss is None:
            self._exact_faiss = ExactFaiss(self.embeddings)
        return self._exact_faiss

    # -- file -----------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the index (and the encoder's bytes, when it has one) to ``path``."""
        arrays: dict[str, np.ndarray] = {"embeddings": np.ascontiguousarray(self.embeddings)}
        enc_header = None
        if self.encoder is not None:
            enc_header = {
                "kind": encoder_kind(self.encoder),
                "name": str(getattr(self.encoder, "name", "")),
            }
            arrays["encoder"] = _encoder_bytes(self.encoder)
        if self.ann is not None:
            arrays.update(self.ann.arrays())
        header = {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "count": len(self),
            "dim": self.dim,
            "metadata": self.metadata,
            "sha256": {name: _digest(a) for name, a in arrays.items()},
            "encoder": enc_header,
            "ann": None if self.ann is None else self.ann.header(),
            "detail": self.detail,
        }
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        write_atomic(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Index:
        """Reads a file written by :meth:`save`; see the module docstring for what is
        checked. The stored encoder, if any, is rebuilt as :attr:`encoder`."""
        p = os.fspath(path)
        if not os.path.lexists(p):
            raise FileNotFoundError(
                f"{p}: no such index file (write one with Index.build(graphs, encoder, "
                f"fit=True).save({p!r}), or `archmotif index build CORPUS -o {p}`)"
            )
        with NpzReader(p, "index") as z:
            if "header" not in z.members or "embeddings" not in z.members:
                raise FormatError(f"{p}: not an archmotif index (missing header or embeddings)")
            h = _header(p, z.array("header"))
            emb = z.members["embeddings"]
            if emb.dtype != np.float32 or emb.shape != (h["count"], h["dim"]):
                raise FormatError(f"{p}: embeddings have the wrong dtype or shape")
            arrays = {name: z.array(name) for name in z.members}
        for name, digest in h["sha256"].items():
            if name not in arrays or _digest(arrays[name]) != digest:
                raise FormatError(f"{p}: array {name!r} is missing or fails its sha256 checksum")
        emb = arrays["embeddings"]
        if len(h["metadata"]) != h["count"]:
            raise FormatError(f"{p}: {len(h['metadata'])} metadata entries for {h['count']} items")
        encoder = None
        if h.get("encoder") is not None:
            encoder = _encoder_from_bytes(p, h["encoder"], arrays.get("encoder"))
        try:
            index = cls(emb, h["metadata"], encoder=encoder, detail=h.get("detail", PLAIN_DETAIL))
        except (RetrievalError, ValueError) as e:
            raise FormatError(f"{p}: {e}") from None
        # the stored rows were normalised when saved; normalising again would move them
        # by rounding, and a reloaded index must answer exactly as the saved one did
        emb.flags.writeable = False
        index.embeddings = emb
        if h.get("ann") is not None:
            index.ann = IVF.from_file(p, h["ann"], arrays, h["count"], h["dim"])
        return index


def _header(p: str, raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise FormatError(f"{p}: corrupt index header (not a byte array)")
    h = parse_json(raw.tobytes(), p, "index header")
    check_format(p, h, fmt=INDEX_FORMAT, newest=INDEX_VERSION, kind="index")
    ok = (
        _is_count(h.get("count"))
        and _is_count(h.get("dim"))
        and isinstance(h.get("metadata"), list)
        and isinstance(h.get("sha256"), dict)
    )
    if not ok:
        raise FormatError(f"{p}: index header lacks count, dim, metadata or sha256")
    return h


def _detail_of(encoder: Any, detail: str | None) -> str:
    """The level of detail of an index of ``encoder``'s embeddings: the encoder's own
    (``"op"`` for one without attributes support), which ``detail``, when given, must be;
    without an encoder, ``detail`` or :data:`~archmotif.attributes.DEFAULT_DETAIL`."""
    own = None if encoder is None else check_detail(getattr(encoder, "detail", PLAIN_DETAIL))
    if detail is None:
        return own or DEFAULT_DETAIL
    detail = check_detail(detail)
    if own is not None and own != detail:
        raise RetrievalError(
            f"detail={detail!r}, but the encoder takes graphs at detail={own!r}; "
            f"build the encoder with detail={detail!r}"
        )
    return detail


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _encoder_bytes(encoder: Any) -> np.ndarray:
    if not callable(getattr(encoder, "save", None)):
        raise RetrievalError(
            f"the index's encoder ({type(encoder).__name__}) has no save(path); "
            "build the Index without encoder= to save embeddings only"
        )
    with tempfile.TemporaryDirectory() as tmp:
        file = os.path.join(tmp, "encoder")
        encoder.save(file)
        with open(file, "rb") as f:
            return np.frombuffer(f.read(), dtype=np.uint8)


def _encoder_from_bytes(p: str, info: Any, data: np.ndarray | None) -> Any:
    if not isinstance(info, dict):
        raise FormatError(f"{p}: index header's encoder entry is not an object")
    cls = encoder_class(info.get("kind", info.get("class")), p)
    if data is None or data.dtype != np.uint8 or data.ndim != 1:
        raise FormatError(f"{p}: index header names an encoder but holds no encoder bytes")
    with tempfile.TemporaryDirectory() as tmp:
        file = os.path.join(tmp, "encoder")
        with open(file, "wb") as f:
            f.write(data.tobytes())
        try:
            return cls.load(file)
        except FormatError as e:
            raise FormatError(f"{p}: stored encoder is unreadable ({e})") from None


def _as_graph(query: Any) -> OpGraph:
    """An ``OpGraph`` from a graph, an ``nn.Module``, a model name or a file path."""
    if isinstance(query, OpGraph):
        return query
    if isinstance(query, (str, os.PathLike)):
        text = os.fspath(query)
        if os.path.isfile(text):
            if text.endswith(".onnx"):
                from archmotif.frontends.onnx import from_onnx

                return from_onnx(text)
            if text.endswith(".json"):
                return OpGraph.load(text)
            raise RetrievalError(f"{text}: a query file must be an ONNX (.onnx) or OpGraph .json")
        if text.endswith((".onnx", ".json")):
            raise FileNotFoundError(f"{text}: no such file")
    from archmotif.frontends.torch_export import trace  # imports torch

    return trace(query)


def check_index_detail(index: Index, detail: str | None) -> None:
    """Raises :class:`~archmotif.RetrievalError` when ``detail`` is given and is not the
    level of detail ``index`` was built at."""
    if detail is not None and check_detail(detail) != index.detail:
        raise RetrievalError(
            f"the index was built at detail={index.detail!r}, not {detail!r}; "
            f"search it at {index.detail!r} or build an index with detail={detail!r}"
        )


def embed_query(model_or_graph: Any, index: Index, encoder: Any = None) -> np.ndarray:
    """The ``[1, dim]`` embedding of a model, graph or file (as :func:`search` takes it)
    by ``encoder``, by default the encoder stored with ``index``."""
    enc = encoder if encoder is not None else index.encoder
    if enc is None:
        raise RetrievalError("the index stores no encoder; pass encoder= to embed the query")
    return np.asarray(enc.embed([_as_graph(model_or_graph)]), dtype=np.float32)


def search(
    model_or_graph: Any,
    index: Index | str | os.PathLike[str],
    k: int = 10,
    encoder: Any = None,
    *,
    where: Any = None,
    method: str = "auto",
    detail: str | None = None,
) -> list[Hit]:
    """The ``k`` architectures in ``index`` nearest to ``model_or_graph``, best first,
    among those whose metadata meets ``where`` (``{"params": ("<=", 10e6)}`` or
    ``"params <= 10M and coarse == cnn"``; see :meth:`Index.search`, also for ``method``).

    ``model_or_graph`` is an ``OpGraph``, an ``nn.Module`` (traced on the meta device), a
    model name (``"resnet50"``, ``"timm:convnext_tiny"``), or the path of an ONNX or
    OpGraph JSON file. ``index`` is an :class:`Index` or the path of an index file. The
    query is embedded by ``encoder``, by default the encoder stored with the index, at the
    index's level of detail (``detail=``, when given, must be the index's: an index of
    op-plus-attribute embeddings answers only queries taken the same way).
    """
    idx = index if isinstance(index, Index) else Index.load(index)
    check_index_detail(idx, detail)
    parse_where(where)  # a malformed where fails before the query is traced
    scores, ids = idx.search(embed_query(model_or_graph, idx, encoder), k, where=where,
                             method=method)  # fmt: skip
    return idx.hits(scores[0], ids[0])
