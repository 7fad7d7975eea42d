"""The corpus file: many ``OpGraph`` in one versioned ``.npz`` file, readable in
chunks so a corpus larger than memory can be mined.

Layout, version 4 (a zip of uncompressed ``.npy`` arrays, read with pickles
refused, so opening a stranger's file never executes code):

- ``header``: uint8, UTF-8 JSON ``{"format": "archmotif.corpus", "version": 4,
  "num_graphs": G, "op_names": [str], "attr_names": ["", str...], "attr_pairs":
  [[op id, attr id]], "meta"?: {...}}`` (``meta``: free JSON metadata of the whole
  corpus, e.g. a zoo build's failures; ``attr_pairs``: every (op, attributes) pair
  with attributes that a node holds, so the ``"attrs"`` view's vocabulary is known
  before any graph is read);
- ``ops``: int32 ``[sum N]``, every graph's nodes, as ids into the shared ``op_names``;
- ``node_offsets``: int64 ``[G + 1]``, graph ``g``'s nodes are ``ops[o[g]:o[g+1]]``;
- ``edges``: int64 ``[2, sum E]``, node ids local to each graph;
- ``edge_offsets``: int64 ``[G + 1]``;
- ``records``: uint8, one UTF-8 JSON object per graph, ``{"name": str, "labels":
  {str: str}, "node_names": null | [str], "flops"?: true}``, graph ``g``'s at
  ``records[r[g]:r[g+1]]`` with ``r`` = ``record_offsets``, int64 ``[G + 1]``;
- ``node_flops``: float64 ``[sum N]``, every node's FLOPs (``OpGraph.node_flops``;
  NaN where unknown), meaningful for the graphs whose record says ``"flops": true``;
- ``attrs``: int32 ``[sum N]``, every node's attribute string as an id into
  ``attr_names`` (``OpGraph.attrs``; 0, the empty string, for none): stored once, so
  both levels of detail load from one file (:mod:`archmotif.attributes`);
- optional (files written before they were kept lack them, and readers that predate
  them ignore them): ``node_shapes``, int32 ``[sum N]``, every node's output shape as
  an id into the header's ``shape_names`` (``["", str...]``; 0: unknown), meaningful
  for the graphs whose record says ``"shapes": true``, and ``node_params``, int64
  ``[sum N]``, for the graphs whose record says ``"params": true``
  (``OpGraph.node_shapes``, ``OpGraph.node_params``).

Version 3 had no ``attrs``, version 2 no ``node_flops`` either; version 1 kept names,
labels and node names as lists in the header. All are still read (graphs without
attributes, so both views are the plain one), never written.

``open_corpus(path, detail="attrs")`` reads graphs in the op-plus-attributes view, all
sharing one vocabulary (:attr:`CorpusReader.op_names`), and :meth:`CorpusReader.read_arrays`
gives their op ids in it, which is how a streamed mining run takes either view.

:func:`save_corpus` and :class:`CorpusWriter` write atomically; the writer takes
graphs a few at a time and keeps nothing but its temporary files, so a corpus of
any size can be written. :func:`open_corpus` reads graphs by index range with one
positioned read per array, so memory follows the range asked for, not the file
(``chunks`` iterates a file that way); :func:`load_corpus` reads it all. Every
read validates its graphs in one parallel call into the Rust core, and opening
a file checks each member's CRC-32 in a bounded streaming pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, overload

import numpy as np

from archmotif import _core
from archmotif.atomic import clean_stale, temp_affixes, write_atomic
from archmotif.attributes import PLAIN_DETAIL, check_detail, view_name
from archmotif.corpus_schema import bad_header_field, bad_record
from archmotif.errors import FormatError, GraphError, check_format
from archmotif.fileread import NpzReader, parse_json
from archmotif.graph import OpGraph
from archmotif.graph_meta import check_flops, check_params

__all__ = [
    "CORPUS_FORMAT",
    "CORPUS_VERSION",
    "CorpusReader",
    "CorpusWriter",
    "corpus_info",
    "load_corpus",
    "open_corpus",
    "save_corpus",
]

CORPUS_FORMAT = "archmotif.corpus"
CORPUS_VERSION = 4
_GRAPH_ARRAYS = ("header", "ops", "node_offsets", "edges", "edge_offsets")
_RECORD_ARRAYS = ("records", "record_offsets")
_DTYPES = {
    "header": np.uint8,
    "ops": np.int32,
    "node_offsets": np.int64,
    "edges": np.int64,
    "edge_offsets": np.int64,
    "records": np.uint8,
    "record_offsets": np.int64,
    "node_flops": np.float64,
    "attrs": np.int32,
    "node_shapes": np.int32,
    "node_params": np.int64,
}
_OPTIONAL_ARRAYS = ("node_shapes", "node_params")
_BLOCK = 1 << 24  # bytes per copy when a member is written from its temporary file


# -- writing ------------------------------------------------------------------------


class CorpusWriter:
    """Writes a corpus file graph by graph, in bounded memory::

        with CorpusWriter("big.npz", meta={"dataset": "mine"}) as w:
            for chunk in chunks:
                w.extend(chunk)

    Graphs go to temporary files next to ``path``; leaving the ``with`` block
    writes the corpus atomically and removes them. An exception inside the block
    (or :meth:`abort`) removes them and leaves ``path`` untouched.
    """

    def __init__(self, path: str | os.PathLike[str], *, meta: Mapping[str, Any] | None = None):
        self.path = os.fspath(path)
        self._meta = None
        if meta is not None:
            try:
                self._meta = json.loads(json.dumps(dict(meta)))
            except (TypeError, ValueError) as e:
                raise TypeError(f"corpus meta must be JSON-serialisable: {e}") from None
        directory = os.path.dirname(os.path.abspath(self.path))
        clean_stale(self.path)
        prefix, suffix = temp_affixes(self.path)
        try:
            self._dir: str | None = tempfile.mkdtemp(
                suffix=suffix + ".d", prefix=prefix, dir=directory
            )
        except OSError as e:  # name the corpus, not our temporary folder
            raise type(e)(e.errno, f"cannot write {self.path} ({e.strerror})") from None
        self._files = {
            k: open(os.path.join(self._dir, k), "wb")  # noqa: SIM115 (closed in close/abort)
            for k in ("ops", "src", "dst", "node_offsets", "edge_offsets", "records",
                      "record_offsets", "node_flops", "attrs", *_OPTIONAL_ARRAYS)
        }  # fmt: skip
        for k in ("node_offsets", "edge_offsets", "record_offsets"):
            self._files[k].write(np.zeros(1, np.int64).tobytes())
        self._vocab: dict[str, int] = {}
        self._attr_vocab: dict[str, int] = {"": 0}
        self._shape_vocab: dict[str, int] = {"": 0}
        self._attr_pairs: set[tuple[int, int]] = set()
        self._remaps: dict[int, tuple[tuple[str, ...], np.ndarray, dict[str, int]]] = {}
        self.num_graphs = 0
        self._nodes = self._edges = self._record_bytes = 0

    def _remap(self, names: tuple[str, ...], vocab: dict[str, int] | None = None) -> np.ndarray:
        vocab = self._vocab if vocab is None else vocab
        hit = self._remaps.get(id(names))
        if hit is not None and hit[0] is names and hit[2] is vocab:
            return hit[1]
        remap = np.array([vocab.setdefault(n, len(vocab)) for n in names], np.int32)
        if len(self._remaps) > 64:
            self._remaps.clear()
        self._remaps[id(names)] = (names, remap, vocab)
        return remap

    def _attrs(self, g: OpGraph, ops: np.ndarray) -> np.ndarray:
        """``g``'s attribute ids in the file's ``attr_names`` (zeros without attributes),
        noting each (op, attributes) pair it holds."""
        if g.attrs is None or not g.num_nodes:
            return np.zeros(g.num_nodes, np.int32)
        attrs = self._remap(g.attr_names, self._attr_vocab)[g.attrs]
        held = attrs != 0
        if held.any():
            codes = np.unique(ops[held].astype(np.int64) << 32 | attrs[held])
            self._attr_pairs.update((int(c) >> 32, int(c) & 0xFFFFFFFF) for c in codes)
        return attrs

    def add(self, graph: OpGraph) -> None:
        """Appends one graph."""
        self.extend([graph])

    def extend(self, graphs: Iterable[OpGraph]) -> None:
        """Appends graphs, in order."""
        if self._dir is None:
            raise ValueError("this corpus writer is closed")
        gs = list(graphs)
        for i, g in enumerate(gs):
            if not isinstance(g, OpGraph):
                raise TypeError(f"graphs[{i}] is {type(g).__name__}, not OpGraph")
        if not gs:
            return
        ops = [self._remap(g.op_names)[g.ops] if g.num_nodes else np.zeros(0, np.int32)
               for g in gs]  # fmt: skip
        records = [
            json.dumps(
                {"name": g.name, "labels": g.labels,
                 "node_names": None if g.node_names is None else list(g.node_names),
                 **({} if g.node_flops is None else {"flops": True}),
                 **({} if g.node_shapes is None else {"shapes": True}),
                 **({} if g.node_params is None else {"params": True})},
                separators=(",", ":"), ensure_ascii=False,
            ).encode()
            for g in gs
        ]  # fmt: skip
        flops = [np.full(g.num_nodes, np.nan) if g.node_flops is None else g.node_flops
                 for g in gs]  # fmt: skip
        attrs = [self._attrs(g, o) for g, o in zip(gs, ops, strict=True)]
        shapes = [np.zeros(g.num_nodes, np.int32) if g.node_shapes is None or not g.num_nodes
                  else self._remap(g.shape_names, self._shape_vocab)[g.node_shapes]
                  for g in gs]  # fmt: skip
        params = [np.zeros(g.num_nodes, np.int64) if g.node_params is None else g.node_params
                  for g in gs]  # fmt: skip
        f = self._files
        f["ops"].write(np.concatenate(ops).astype(np.int32, copy=False).tobytes())
        edges = np.concatenate([g.edges for g in gs], axis=1)
        f["src"].write(np.ascontiguousarray(edges[0], dtype=np.int64).tobytes())
        f["dst"].write(np.ascontiguousarray(edges[1], dtype=np.int64).tobytes())
        f["records"].write(b"".join(records))
        f["node_flops"].write(np.concatenate(flops).astype(np.float64, copy=False).tobytes())
        f["attrs"].write(np.concatenate(attrs).astype(np.int32, copy=False).tobytes())
        f["node_shapes"].write(np.concatenate(shapes).astype(np.int32, copy=False).tobytes())
        f["node_params"].write(np.concatenate(params).astype(np.int64, copy=False).tobytes())
        for key, sizes, start in (
            ("node_offsets", [g.num_nodes for g in gs], self._nodes),
            ("edge_offsets", [g.num_edges for g in gs], self._edges),
            ("record_offsets", [len(r) for r in records], self._record_bytes),
        ):
            ends = start + np.cumsum(np.asarray(sizes, dtype=np.int64))
            f[key].write(ends.tobytes())
        self._nodes += sum(g.num_nodes for g in gs)
        self._edges += sum(g.num_edges for g in gs)
        self._record_bytes += sum(len(r) for r in records)
        self.num_graphs += len(gs)

    def close(self) -> None:
        """Writes the corpus file (atomically) and removes the temporary files."""
        if self._dir is None:
            return
        try:
            for fh in self._files.values():
                fh.close()
            header: dict[str, Any] = {
                "format": CORPUS_FORMAT,
                "version": CORPUS_VERSION,
                "num_graphs": self.num_graphs,
                "op_names": list(self._vocab),
                "attr_names": list(self._attr_vocab),
                "attr_pairs": [list(p) for p in sorted(self._attr_pairs)],
                "shape_names": list(self._shape_vocab),
            }
            if self._meta is not None:
                header["meta"] = self._meta
            blob = json.dumps(header).encode()
            d = self._dir
            members: list[tuple[str, np.dtype[Any], tuple[int, ...], list[str] | bytes]] = [
                ("header", np.dtype(np.uint8), (len(blob),), blob),
                ("ops", np.dtype(np.int32), (self._nodes,), ["ops"]),
                ("node_offsets", np.dtype(np.int64), (self.num_graphs + 1,), ["node_offsets"]),
                ("edges", np.dtype(np.int64), (2, self._edges), ["src", "dst"]),
                ("edge_offsets", np.dtype(np.int64), (self.num_graphs + 1,), ["edge_offsets"]),
                ("records", np.dtype(np.uint8), (self._record_bytes,), ["records"]),
                ("record_offsets", np.dtype(np.int64), (self.num_graphs + 1,),
                 ["record_offsets"]),
                ("node_flops", np.dtype(np.float64), (self._nodes,), ["node_flops"]),
                ("attrs", np.dtype(np.int32), (self._nodes,), ["attrs"]),
                *((k, np.dtype(_DTYPES[k]), (self._nodes,), [k]) for k in _OPTIONAL_ARRAYS),
            ]  # fmt: skip

            def write(out: IO[bytes]) -> None:
                with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
                    for name, dtype, shape, parts in members:
                        with z.open(name + ".npy", "w", force_zip64=True) as m:
                            np.lib.format.write_array_header_2_0(
                                m, {"descr": np.lib.format.dtype_to_descr(dtype),
                                    "fortran_order": False, "shape": shape},
                            )  # fmt: skip
                            if isinstance(parts, bytes):
                                m.write(parts)
                                continue
                            for part in parts:
                                with open(os.path.join(d, part), "rb") as src:
                                    shutil.copyfileobj(src, m, _BLOCK)

            write_atomic(self.path, write)
        finally:
            self.abort()

    def abort(self) -> None:
        """Drops everything written so far; ``path`` is left as it was."""
        if self._dir is None:
            return
        for fh in self._files.values():
            with contextlib.suppress(OSError):
                fh.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def __enter__(self) -> CorpusWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.abort()


def save_corpus(
    graphs: Iterable[OpGraph],
    path: str | os.PathLike[str],
    *,
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Writes ``graphs`` to one corpus file at ``path`` (atomically), with ``meta``
    (JSON-serialisable metadata of the whole corpus) in its header."""
    graphs = list(graphs)
    for i, g in enumerate(graphs):
        if not isinstance(g, OpGraph):
            raise TypeError(f"graphs[{i}] is {type(g).__name__}, not OpGraph")
    with CorpusWriter(path, meta=meta) as w:
        for start in range(0, len(graphs), 4096):
            w.extend(graphs[start : start + 4096])


# -- reading ------------------------------------------------------------------------


# archmotif's other .npz files, by the format their header names first: what each is,
# and what reads it (the hint when one is opened as a corpus)
_OTHER_FILES = {
    "archmotif.index": ("an index file", "search it with archmotif search QUERY --index {p}"),
    "archmotif.encoder": ("an encoder file", "archmotif.Encoder.load reads it"),
    "archmotif.predictor": ("a predictor file",
                            "predict with it: archmotif predict INPUT --predictor {p}"),
    "archmotif.encoder-checkpoint": ("an encoder checkpoint",
                                     "Encoder(checkpoint=...) resumes from it"),
    "archmotif.nar-baseline": ("a NAR baseline file", "NARBaseline.load reads it"),
    "archmotif.gnn-baseline": ("a GNN baseline file", "GNNBaseline.load reads it"),
    "archmotif.wl": ("a WL baseline file", "WLBaseline.load reads it"),
    "archmotif.motif-bag": ("a motif-bag file", "MotifBag.load reads it"),
}  # fmt: skip


def _other_archmotif_file(path: str, npz: NpzReader) -> str | None:
    """What archmotif file ``path`` (open as ``npz``) is when it is one of
    :data:`_OTHER_FILES` (read from the first KiB of its uint8 header member, nothing
    else), with what reads it; else None."""
    m = npz.members.get("header")
    if m is None or m.dtype != np.uint8:
        return None
    head = npz.read("header", count=min(1024, m.size)).tobytes()
    for fmt, (what, hint) in _OTHER_FILES.items():
        if b'{"format": "' + fmt.encode() + b'"' in head:
            return f"{what} ({fmt}): {hint.format(p=path)}"
    return None


class CorpusReader(Sequence[OpGraph]):
    """An open corpus file: graphs read by index or range, a chunk at a time.

    ``reader[i]``, ``reader[a:b]`` and :meth:`read` read just those graphs (one
    positioned read per array); :meth:`chunks` walks the file in pieces of at most
    ``max_graphs`` graphs or ``max_nodes`` operators. All graphs read from one
    reader share one ``op_names`` tuple; with ``detail="attrs"`` they are read in the
    op-plus-attributes view (:mod:`archmotif.attributes`) and ``op_names`` is its
    vocabulary. Use it as a context manager, or
    :meth:`close` it. A corrupt, truncated, foreign or newer file raises
    :class:`~archmotif.FormatError` naming it; the archive itself is checked by
    :class:`~archmotif.fileread.NpzReader` before anything is read.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, verify: bool = True, detail: str = PLAIN_DETAIL
    ) -> None:
        self.path = os.fspath(path)
        self.detail = check_detail(detail)
        self._npz: NpzReader | None = None
        self._npz = NpzReader(self.path, "corpus", verify=verify)
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        p = self.path
        npz = self._npz_open()
        names = npz.members
        missing = [k for k in _GRAPH_ARRAYS if k not in names]
        if missing:
            other = _other_archmotif_file(p, npz)
            if other is not None:
                raise FormatError(f"{p}: not an archmotif corpus but {other}")
            raise FormatError(f"{p}: not an archmotif corpus (missing {', '.join(missing)})")
        if self._dtype("header") != np.uint8 or len(self._shape("header")) != 1:
            raise FormatError(f"{p}: corpus arrays have the wrong dtype or shape")
        h = self._header(self._whole("header"))
        self.version: int = h["version"]
        self.num_graphs: int = h["num_graphs"]
        self.op_names: tuple[str, ...] = tuple(h["op_names"])
        self.attr_names: tuple[str, ...] = tuple(h.get("attr_names", ("",)))
        self.shape_names: tuple[str, ...] = tuple(h.get("shape_names", ("",)))
        self.meta: dict[str, Any] = h.get("meta", {})
        if self.detail == "attrs":
            self._view_vocabulary(h.get("attr_pairs", []))
        self._v1 = h if self.version == 1 else None
        self._check_shapes()
        for key, total in (
            ("node_offsets", self._len("ops")),
            ("edge_offsets", self._len("edges")),
            ("record_offsets", self._len("records") if self._v1 is None else None),
        ):
            if total is None:
                continue
            ends = self._read(key, 0, 1), self._read(key, self.num_graphs, 1)
            if int(ends[0][0]) != 0 or int(ends[1][0]) != total:
                raise FormatError(f"{p}: corpus {key.split('_')[0]} offsets are inconsistent")

    def _view_vocabulary(self, attr_pairs: list[list[int]]) -> None:
        """The ``"attrs"`` view's vocabulary: every op alone, then every (op, attributes)
        pair the header lists; ``op_names`` becomes it."""
        pairs = [(o, 0) for o in range(len(self.op_names))] + [(o, a) for o, a in attr_pairs]
        codes = np.array([o << 32 | a for o, a in pairs], dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        names: dict[str, int] = {}
        ids = np.empty(len(pairs), dtype=np.int32)
        for i, (o, a) in enumerate(pairs):  # a pair named like a plain op shares its id
            ids[i] = names.setdefault(view_name(self.op_names[o], self.attr_names[a]), len(names))
        self._view_codes, self._view_ids = codes[order], ids[order]
        self.op_names = tuple(names)

    def _viewed(self, ops: np.ndarray, attrs: np.ndarray) -> np.ndarray:
        """Op ids of the ``"attrs"`` view for file op ids ``ops`` with ``attrs``."""
        codes = ops.astype(np.int64) << 32 | attrs.astype(np.int64)
        pos = np.searchsorted(self._view_codes, codes)
        pos = np.minimum(pos, len(self._view_codes) - 1)
        found = self._view_codes[pos] == codes if len(self._view_codes) else codes != codes
        if not found.all():
            node = int(np.argmin(found))
            raise FormatError(
                f"{self.path}: a node holds op {int(ops[node])} with attributes "
                f"{int(attrs[node])}, a pair the header does not list"
            )
        return self._view_ids[pos]

    def _npz_open(self) -> NpzReader:
        if self._npz is None:
            raise ValueError(f"{self.path}: this corpus reader is closed")
        return self._npz

    # -- raw array access ------------------------------------------------------------

    def _shape(self, key: str) -> tuple[int, ...]:
        return self._npz_open().members[key].shape

    def _len(self, key: str) -> int:
        shape = self._shape(key)
        return shape[-1] if shape else 0

    def _read(self, key: str, start: int, count: int, row: int | None = None) -> np.ndarray:
        """Elements ``start:start+count`` of a 1-D member (of ``row`` for 2-D)."""
        return self._npz_open().read(key, start, count, row)

    def _whole(self, key: str) -> np.ndarray:
        return self._npz_open().array(key)

    def _header(self, raw: np.ndarray) -> dict[str, Any]:
        p = self.path
        h = parse_json(raw.tobytes(), p, "corpus header")
        v = check_format(p, h, fmt=CORPUS_FORMAT, newest=CORPUS_VERSION, kind="corpus")
        bad = bad_header_field(h)
        if bad:
            raise FormatError(f"{p}: corrupt corpus header ({bad})")
        if v >= 2 and any(k not in self._npz_open().members for k in _RECORD_ARRAYS):
            raise FormatError(f"{p}: not an archmotif corpus (missing records)")
        if v >= 3 and "node_flops" not in self._npz_open().members:
            raise FormatError(f"{p}: not an archmotif corpus (missing node_flops)")
        if v >= 4 and "attrs" not in self._npz_open().members:
            raise FormatError(f"{p}: not an archmotif corpus (missing attrs)")
        return h

    def _check_shapes(self) -> None:
        """The arrays' dtypes and shapes agree with the header (their contents are
        checked by the core as graphs are read)."""
        g_count = self.num_graphs
        keys = _GRAPH_ARRAYS + (_RECORD_ARRAYS if self._v1 is None else ())
        ok = all(self._dtype(k) == _DTYPES[k] for k in keys)
        ok = ok and len(self._shape("ops")) == 1 and len(self._shape("header")) == 1
        ok = ok and len(self._shape("edges")) == 2 and self._shape("edges")[0] == 2
        offsets = ["node_offsets", "edge_offsets"] + (
            ["record_offsets"] if self._v1 is None else []
        )
        ok = ok and all(self._shape(k) == (g_count + 1,) for k in offsets)
        if self.version >= 3:
            ok = ok and self._dtype("node_flops") == np.float64
            ok = ok and self._shape("node_flops") == self._shape("ops")
        if self.version >= 4:
            ok = ok and self._dtype("attrs") == np.int32
            ok = ok and self._shape("attrs") == self._shape("ops")
            for k in _OPTIONAL_ARRAYS:
                if k in self._npz_open().members:
                    ok = (
                        ok and self._dtype(k) == _DTYPES[k] and self._shape(k) == self._shape("ops")
                    )
        if self._v1 is None:
            ok = ok and len(self._shape("records")) == 1
        else:
            ok = ok and all(len(self._v1[k]) == g_count for k in ("names", "labels", "node_names"))
        if not ok:
            raise FormatError(f"{self.path}: corpus arrays have the wrong dtype or shape")

    def _dtype(self, key: str) -> np.dtype[Any]:
        return self._npz_open().members[key].dtype

    # -- graphs ------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.num_graphs

    @overload
    def __getitem__(self, i: int) -> OpGraph: ...
    @overload
    def __getitem__(self, i: slice) -> list[OpGraph]: ...
    def __getitem__(self, i: int | slice) -> OpGraph | list[OpGraph]:
        if isinstance(i, slice):
            start, stop, step = i.indices(self.num_graphs)
            if step == 1:
                return self.read(start, max(start, stop))
            return [self.read(j, j + 1)[0] for j in range(start, stop, step)]
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"corpus indices must be integers or slices, not {type(i).__name__}")
        j = int(i) + (self.num_graphs if i < 0 else 0)
        if not 0 <= j < self.num_graphs:
            raise IndexError(f"graph index {i} out of range ({self.num_graphs} graphs)")
        return self.read(j, j + 1)[0]

    def __iter__(self) -> Iterator[OpGraph]:
        for chunk in self.chunks():
            yield from chunk

    def _offsets(self, key: str, start: int, stop: int, total: int) -> np.ndarray:
        off = self._read(key, start, stop - start + 1)
        if off.size and (off[0] < 0 or off[-1] > total or np.any(np.diff(off) < 0)):
            raise FormatError(f"{self.path}: corpus {key.split('_')[0]} offsets are inconsistent")
        return off

    def read_arrays(
        self, start: int, stop: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Graphs ``start`` to ``stop - 1`` as the file holds them, not validated:
        ``(ops, node_offsets, edges, edge_offsets)`` with offsets from 0 (op ids index
        :attr:`op_names`, in this reader's view). For bulk consumers that validate
        themselves, such as the mining core; :meth:`read` builds checked ``OpGraph``
        objects."""
        return self._arrays(start, stop)[:4]

    def _arrays(
        self, start: int, stop: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`read_arrays` and, for the plain view of a version 4 file, the
        attribute ids of those nodes."""
        if not 0 <= start <= stop <= self.num_graphs:
            raise IndexError(f"graph range {start}:{stop} out of range ({self.num_graphs} graphs)")
        noff = self._offsets("node_offsets", start, stop, self._len("ops"))
        eoff = self._offsets("edge_offsets", start, stop, self._len("edges"))
        n0, e0 = int(noff[0]), int(eoff[0])
        ops = self._read("ops", n0, int(noff[-1]) - n0)
        ne = int(eoff[-1]) - e0
        edges = np.empty((2, ne), dtype=np.int64)
        edges[0] = self._read("edges", e0, ne, row=0)
        edges[1] = self._read("edges", e0, ne, row=1)
        attrs = None
        if self.version >= 4:
            attrs = self._read("attrs", n0, ops.shape[0])
            if self.detail == "attrs":
                ops, attrs = self._viewed(ops, attrs), None
        elif self.detail == "attrs":
            ops = self._viewed(ops, np.zeros_like(ops))  # no attributes: the plain view
        return ops, noff - n0, edges, eoff - e0, attrs

    def read(self, start: int, stop: int) -> list[OpGraph]:
        """Graphs ``start`` to ``stop - 1``, validated; memory follows their size."""
        p = self.path
        ops, noff, edges, eoff, attrs = self._arrays(start, stop)
        if (
            attrs is not None
            and attrs.size
            and (int(attrs.min()) < 0 or int(attrs.max()) >= len(self.attr_names))
        ):
            raise FormatError(f"{p}: corpus attribute ids are out of range")
        try:
            kept = _core.validate_graphs(ops, noff, edges, eoff, len(self.op_names), first=start)
        except GraphError as e:
            raise GraphError(f"{p}: {e}") from None
        except ValueError as e:
            raise FormatError(f"{p}: {e}") from None
        records = self._records(start, stop)
        n0 = int(self._read("node_offsets", start, 1)[0]) if records else 0
        flops, shapes, params = (
            self._optional(key, n0, int(noff[-1])) if any(r[i] for r in records) else None
            for i, key in ((3, "node_flops"), (4, "node_shapes"), (5, "node_params"))
        )
        if (
            shapes is not None
            and shapes.size
            and (int(shapes.min()) < 0 or int(shapes.max()) >= len(self.shape_names))
        ):
            raise FormatError(f"{p}: corpus shape ids are out of range")
        graphs = []
        for k, (name, labels, nn, has_flops, has_shapes, has_params) in enumerate(records):
            g = start + k
            e = edges[:, eoff[k] : eoff[k + 1]]
            if kept[k] is not None:
                e = e[:, kept[k]]
            n = int(noff[k + 1] - noff[k])
            if nn is not None and len(nn) != n:
                raise FormatError(f"{p}: graph {g} has {len(nn)} node names for {n} nodes")
            nf = None
            if has_flops and flops is not None:
                try:
                    nf = check_flops(flops[noff[k] : noff[k + 1]], n)
                except GraphError as err:
                    raise FormatError(f"{p}: graph {g}: {err}") from None
            a = None if attrs is None else attrs[noff[k] : noff[k + 1]]
            ns, sn, npar = None, (), None
            if has_shapes and shapes is not None:
                used, ns = np.unique(shapes[noff[k] : noff[k + 1]], return_inverse=True)
                ns = ns.reshape(-1).astype(np.int32)  # the graph's own table, not the file's
                sn = tuple(self.shape_names[i] for i in used.tolist())
            if has_params and params is not None:
                try:
                    npar = check_params(params[noff[k] : noff[k + 1]], n)
                except GraphError as err:
                    raise FormatError(f"{p}: graph {g}: {err}") from None
            graphs.append(
                OpGraph._trusted(ops[noff[k] : noff[k + 1]], np.ascontiguousarray(e),
                                 self.op_names, name, labels, nn, nf,
                                 a if a is not None and a.any() else None, self.attr_names,
                                 ns, sn, npar)
            )  # fmt: skip
        return graphs

    def _optional(self, key: str, start: int, count: int) -> np.ndarray:
        """Elements of a member that records say is there (a FormatError if it is not)."""
        if key not in self._npz_open().members:
            raise FormatError(f"{self.path}: not an archmotif corpus (missing {key})")
        return self._read(key, start, count)

    def _records(
        self, start: int, stop: int
    ) -> list[tuple[str, dict[str, str], tuple[str, ...] | None, bool, bool, bool]]:
        """(name, labels, node names, has node FLOPs, has shapes, has parameters) of
        graphs ``start`` to ``stop - 1``."""
        if self._v1 is not None:
            h = self._v1
            return [
                (
                    str(h["names"][g]),
                    {str(k): str(v) for k, v in h["labels"][g].items()},
                    None if h["node_names"][g] is None else tuple(h["node_names"][g]),
                    False,
                    False,
                    False,
                )
                for g in range(start, stop)
            ]
        roff = self._offsets("record_offsets", start, stop, self._len("records"))
        blob = self._read("records", int(roff[0]), int(roff[-1] - roff[0])).tobytes()
        roff = roff - roff[0]
        out = []
        for k in range(stop - start):
            r = parse_json(blob[roff[k] : roff[k + 1]], self.path, f"record of graph {start + k}")
            bad = bad_record(r)
            if bad:
                raise FormatError(f"{self.path}: corrupt record of graph {start + k} ({bad})")
            nn = r.get("node_names")
            has_flops = self.version >= 3 and r.get("flops") is True
            v4 = self.version >= 4
            out.append(
                (
                    r["name"],
                    dict(r["labels"]),
                    None if nn is None else tuple(nn),
                    has_flops,
                    v4 and r.get("shapes") is True,
                    v4 and r.get("params") is True,
                )
            )
        return out

    def records(self) -> Iterator[tuple[str, dict[str, str]]]:
        """(name, labels) of every graph, in order, read a chunk at a time."""
        for start in range(0, self.num_graphs, 65536):
            for name, labels, *_ in self._records(start, min(self.num_graphs, start + 65536)):
                yield name, labels

    def bounds(
        self, max_graphs: int | None = None, max_nodes: int | None = None
    ) -> Iterator[tuple[int, int]]:
        """The ``(start, stop)`` ranges :meth:`chunks` reads: consecutive, each at most
        ``max_graphs`` graphs and ``max_nodes`` operators (a graph larger than
        ``max_nodes`` is a chunk on its own). Default: 1,000 graphs."""
        if max_graphs is None and max_nodes is None:
            max_graphs = 1000
        for name, v in (("max_graphs", max_graphs), ("max_nodes", max_nodes)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive int or None, got {v!r}")
        g_count, total = self.num_graphs, self._len("ops")
        start, block_at, block = 0, 0, np.zeros(0, np.int64)
        while start < g_count:
            stop = g_count if max_graphs is None else min(g_count, start + max_graphs)
            if max_nodes is not None:
                if not block_at <= start < block_at + len(block) - 1:
                    block_at = start
                    block = self._offsets("node_offsets", start, min(g_count, start + 65536),
                                          total)  # fmt: skip
                last = min(stop, block_at + len(block) - 1)
                base = block[start - block_at]
                ends = block[start - block_at + 1 : last - block_at + 1] - base
                fit = int(np.searchsorted(ends, max_nodes, side="right"))
                stop = start + max(1, fit) if fit < len(ends) else last
            yield start, stop
            start = stop

    def chunks(
        self, max_graphs: int | None = None, max_nodes: int | None = None
    ) -> Iterator[list[OpGraph]]:
        """The corpus in consecutive lists of graphs (see :meth:`bounds`)."""
        for start, stop in self.bounds(max_graphs, max_nodes):
            yield self.read(start, stop)

    @property
    def num_nodes(self) -> int:
        return self._len("ops")

    @property
    def num_edges(self) -> int:
        return self._len("edges")

    def close(self) -> None:
        npz, self._npz = getattr(self, "_npz", None), None
        if npz is not None:
            npz.close()

    def __enter__(self) -> CorpusReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        return (
            f"CorpusReader({self.path!r}, graphs={self.num_graphs}, nodes={self.num_nodes}, "
            f"version={self.version})"
        )


def open_corpus(
    path: str | os.PathLike[str], *, verify: bool = True, detail: str = PLAIN_DETAIL
) -> CorpusReader:
    """Opens a corpus file for reading by index, range or chunk (see
    :class:`CorpusReader`), its graphs at ``detail`` (``"op"`` or ``"attrs"``).
    ``verify`` checks every member's CRC-32 first (one streaming pass over the file
    in bounded memory)."""
    return CorpusReader(path, verify=verify, detail=detail)


def load_corpus(path: str | os.PathLike[str], *, detail: str = PLAIN_DETAIL) -> list[OpGraph]:
    """Reads a whole corpus file written by :func:`save_corpus`, its graphs at
    ``detail`` (``"op"``: with their attributes, plain op names; ``"attrs"``: the
    op-plus-attributes view). A corrupt, truncated, foreign or newer file raises
    :class:`~archmotif.FormatError` naming it; a graph that fails validation raises
    :class:`~archmotif.GraphError` naming the file and the graph."""
    with CorpusReader(path, detail=detail) as r:
        return r.read(0, r.num_graphs)


def corpus_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A summary of a corpus file without building its graphs: ``num_graphs``,
    ``num_nodes``, ``num_edges``, ``num_ops`` (distinct op names), ``version``,
    ``label_counts`` (per label key, how many graphs carry each value; numeric-looking
    keys such as ``params`` are left out), ``meta`` and ``size_bytes``."""
    with CorpusReader(path) as r:
        label_counts: dict[str, dict[str, int]] = {}
        for _, labels in r.records():
            for k, v in labels.items():
                label_counts.setdefault(k, {})
                label_counts[k][v] = label_counts[k].get(v, 0) + 1
        label_counts = {
            k: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
            for k, c in label_counts.items()
            if not all(v.replace(".", "", 1).isdigit() for v in c)
        }
        return {
            "path": r.path,
            "version": r.version,
            "num_graphs": r.num_graphs,
            "num_nodes": r.num_nodes,
            "num_edges": r.num_edges,
            "num_ops": len(r.op_names),
            "label_counts": label_counts,
            "meta": r.meta,
            "size_bytes": os.path.getsize(r.path),
        }
