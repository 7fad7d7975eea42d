"""A mined corpus: :class:`Mined`, what :func:`archmotif.mine` returns, and its file
(:meth:`Mined.save`, :func:`load_mined`).

The file is one atomic write of the core's mined-corpus encoding
(``rust/core/src/saved.rs``: versioned, checksummed, every length and reference
checked on reading) holding the strategy, the parameters, the op names, the rules of
every level, the vocabulary, the macro graphs and the graphs, plus a JSON block of
what only Python knows (the level of detail; each graph's name, labels, node names,
FLOPs and attributes; for a streamed result, the corpus file and its chunks). A loaded
``Mined`` applies, gives contexts and macro graphs exactly as the one saved; a corrupt,
truncated, foreign or newer file raises :class:`~archmotif.FormatError` naming it.
Nothing in the file is code: no pickle, no class named by the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from archmotif import _core
from archmotif.atomic import write_atomic
from archmotif.attributes import DETAILS, PLAIN_DETAIL
from archmotif.errors import ArchmotifError, FormatError
from archmotif.fileread import parse_json, read_regular
from archmotif.graph import OpGraph
from archmotif.mining.inputs import as_graphs, global_ops, progress_bar
from archmotif.mining.motifs import MacroGraph, MotifVocabulary
from archmotif.mining.params import MiningParams, check_int, threads_of
from archmotif.mining.streaming import LazyMacroGraphs

__all__ = ["MINED_FORMAT", "Mined", "load_mined"]

MINED_FORMAT = "archmotif.mined"  # the format of the JSON block inside the file


class Mined:
    """The result of :func:`mine`: the vocabulary, one macro graph per input
    graph (in input order), contexts around instances, and :meth:`apply` to
    contract new graphs with the same vocabulary."""

    def __init__(
        self,
        core: Any,
        graphs: list[OpGraph],
        op_names: list[str],
        vocabulary: MotifVocabulary,
        macros: list[tuple[np.ndarray, ...]],
        strategy: str,
        params: MiningParams,
        detail: str,
    ) -> None:
        self._core = core
        self.detail = detail
        self._op_names = op_names
        self.graphs: Sequence[OpGraph] = graphs
        self.strategy = strategy
        self.params = params
        self.vocabulary = vocabulary
        self.macro_graphs: Sequence[MacroGraph] = [
            _macro(g, vocabulary, m) for g, m in zip(graphs, macros, strict=True)
        ]
        self.streamed = False

    @classmethod
    def _streamed(
        cls,
        core: Any,
        reader: Any,
        op_names: list[str],
        vocabulary: MotifVocabulary,
        bounds: list[tuple[int, int]],
        params: MiningParams,
        detail: str,
    ) -> Mined:
        """A result mined from a corpus file a chunk at a time: ``graphs`` is the
        open :class:`~archmotif.corpus.CorpusReader` and ``macro_graphs`` are
        computed a chunk at a time when read (see :mod:`archmotif.mining.streaming`)."""
        m = cls(core, [], op_names, vocabulary, [], "merge", params, detail)
        m.graphs = reader
        m.macro_graphs = LazyMacroGraphs(m, reader, bounds)
        m.streamed = True
        return m

    def context(self, graph_index: int, macro_node: int, hops: int = 1) -> OpGraph:
        """The context graph of one instance: its nodes plus every node within
        ``hops`` undirected steps, as an induced subgraph. ``node_names`` hold
        the original node ids; ``labels`` say where it came from."""
        hops = check_int("hops", hops, 0)
        n = len(self.macro_graphs)
        if isinstance(graph_index, bool) or not isinstance(graph_index, (int, np.integer)):
            raise TypeError(f"graph_index must be an int, got {type(graph_index).__name__}")
        if not 0 <= graph_index < n:
            raise IndexError(f"graph index {graph_index} out of range ({n} graphs)")
        mg = self.macro_graphs[graph_index]
        if not 0 <= macro_node < mg.num_nodes:
            raise IndexError(f"macro node {macro_node} out of range ({mg.num_nodes} macro nodes)")
        members = np.flatnonzero(mg.node_to_macro == macro_node).astype(np.uint32).tolist()
        g = self.graphs[graph_index]
        if self.streamed:  # the core holds no graphs: hand it this one
            _, ((ops, g_edges),) = global_ops([g], self._op_names)
            nodes, edges = _core.context_of(ops, g_edges, len(self._op_names), members, hops)
        else:
            nodes, edges = self._core.context(graph_index, members, hops)
        return OpGraph(
            g.ops[nodes], edges, op_names=g.op_names,
            name=f"{g.name}:context:{macro_node}",
            labels={"graph": str(graph_index), "macro_node": str(macro_node), "hops": str(hops)},
            node_names=[str(v) for v in nodes.tolist()],
        )  # fmt: skip

    def apply(
        self,
        graphs: OpGraph | Iterable[OpGraph],
        *,
        threads: int | None = None,
        progress: bool = True,
    ) -> list[MacroGraph]:
        """Contracts new graphs with this vocabulary (the mining rules replayed
        level by level), at the level of detail they were mined at. Motifs the
        vocabulary lacks get index -1."""
        gs = as_graphs(graphs, self.detail)
        names, arrays = global_ops(gs, self._op_names)
        cb, bar = progress_bar(progress, "apply")
        with bar:
            macros = self._core.apply(arrays, names, threads_of(threads), cb)
        return [_macro(g, self.vocabulary, m) for g, m in zip(gs, macros, strict=True)]

    def save(self, path: str | os.PathLike[str], *, graphs: bool = True) -> None:
        """Writes this result to ``path`` (atomically; see the module docstring), to be
        read back with :func:`load_mined`. With ``graphs=False`` the file holds the
        vocabulary and its rules only (what :meth:`apply` needs), not the graphs or
        their macro graphs. A streamed result never copies its corpus: the file names
        the corpus file, which :func:`load_mined` opens again."""
        data = self.to_bytes(graphs=graphs)
        write_atomic(path, lambda f: f.write(data))

    def to_bytes(self, *, graphs: bool = True) -> bytes:
        """The content of :meth:`save`'s file (for a container such as the encoder
        file); :meth:`from_bytes` reads it."""
        extra: dict[str, Any] = {"format": MINED_FORMAT, "version": 1, "detail": self.detail}
        if self.streamed:
            reader: Any = self.graphs
            extra["streamed"] = {
                "corpus": os.path.abspath(reader.path),
                "graphs": len(reader),
                "bounds": [list(b) for b in self.macro_graphs._bounds],  # type: ignore[attr-defined]
            }
        elif graphs:
            index = {n: i for i, n in enumerate(self._op_names)}
            extra["graphs"] = [_record(g, index) for g in self.graphs]
        blob = json.dumps(extra, allow_nan=False).encode()
        arrays = None
        if graphs and not self.streamed:
            _, arrays = global_ops(self.graphs, self._op_names)
        return bytes(self._core.save(blob, arrays))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Mined:
        """Reads a file written by :meth:`save` (see :func:`load_mined`)."""
        return load_mined(path)

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "<bytes>") -> Mined:
        """Reads what :meth:`to_bytes` gave; errors name ``source``."""
        return _decode(data, source)

    def __repr__(self) -> str:
        if self.streamed:
            return (
                f"Mined(strategy={self.strategy!r}, detail={self.detail!r}, "
                f"graphs={len(self.graphs)}, motifs={len(self.vocabulary)}, "
                f"streamed from {self.graphs.path!r})"  # type: ignore[attr-defined]
            )
        n = sum(g.num_nodes for g in self.graphs)
        m = sum(mg.num_nodes for mg in self.macro_graphs)
        red = n / m if m else 1.0
        return (
            f"Mined(strategy={self.strategy!r}, detail={self.detail!r}, graphs={len(self.graphs)}, "
            f"motifs={len(self.vocabulary)}, nodes {n} -> {m} macro nodes, reduction {red:.1f}x)"
        )


def _macro(g: OpGraph, vocab: MotifVocabulary, m: tuple[np.ndarray, ...]) -> MacroGraph:
    motifs, n2m, edges, weights = m
    return MacroGraph(graph=g, vocabulary=vocab, motifs=motifs, node_to_macro=n2m,
                      edges=edges, weights=weights)  # fmt: skip


def _record(g: OpGraph, index: dict[str, int]) -> dict[str, Any]:
    """What the file keeps of a graph besides its ops and edges (the core keeps those,
    numbered by the corpus's op names): its own op names, as indices into the corpus's,
    so that it reads back with the same op ids."""
    r: dict[str, Any] = {"name": g.name, "labels": dict(g.labels)}
    r["op_names"] = [index[n] for n in g.op_names]
    if g.node_names is not None:
        r["node_names"] = list(g.node_names)
    if g.node_flops is not None:  # JSON has no NaN: unknown is null
        r["node_flops"] = [None if f != f else f for f in g.node_flops.tolist()]
    if g.attrs is not None:
        r["attrs"], r["attr_names"] = g.attrs.tolist(), list(g.attr_names)
    if g.node_shapes is not None:
        r["node_shapes"], r["shape_names"] = g.node_shapes.tolist(), list(g.shape_names)
    if g.node_params is not None:
        r["node_params"] = g.node_params.tolist()
    return r


def load_mined(path: str | os.PathLike[str]) -> Mined:
    """Reads a :class:`Mined` written by :meth:`Mined.save`. A file that is corrupt,
    truncated, of another kind or of a newer version raises
    :class:`~archmotif.FormatError` naming it."""
    p = os.fspath(path)
    return _decode(read_regular(p, "a mined file"), p)


def _decode(data: bytes, p: str) -> Mined:
    try:
        (core, vocab, macros), arrays, blob, strategy, pairs = _core.load_mined(data)
    except FormatError as e:
        raise FormatError(f"{p}: {e}") from None
    extra = parse_json(blob, p, "mined file metadata")
    if not isinstance(extra, dict) or extra.get("format") != MINED_FORMAT:
        raise FormatError(f"{p}: mined file metadata is not archmotif's")
    try:
        params = MiningParams(**dict(pairs))
    except ArchmotifError as e:
        raise FormatError(f"{p}: bad mining parameters ({e})") from None
    detail = extra.get("detail", PLAIN_DETAIL)
    if detail not in DETAILS:
        raise FormatError(f"{p}: mined file metadata names detail {detail!r:.40}")
    names = list(core.op_names)
    vocabulary = MotifVocabulary._from_core(vocab, names)
    streamed = extra.get("streamed")
    if streamed is not None:
        return _load_streamed(p, core, names, vocabulary, params, detail, streamed)
    records = extra.get("graphs", [])
    if not isinstance(records, list) or len(records) != len(arrays):
        raise FormatError(
            f"{p}: mined file metadata lists {len(records)} graphs, not {len(arrays)}"
        )
    graphs = [_graph(p, k, ops, edges, names, r) for k, ((ops, edges), r)
              in enumerate(zip(arrays, records, strict=True))]  # fmt: skip
    return Mined(core, graphs, names, vocabulary, macros, strategy, params, detail)


def _graph(p: str, k: int, ops: np.ndarray, edges: np.ndarray, names: list[str], r: Any) -> OpGraph:
    if not isinstance(r, dict):
        raise FormatError(f"{p}: graph {k}'s record is not an object")
    own = r.get("op_names")
    if (
        not isinstance(own, list)
        or not all(type(i) is int and 0 <= i < len(names) for i in own)
        or len(set(own)) != len(own)
    ):
        raise FormatError(f"{p}: graph {k}'s op names are not distinct op name indices")
    local = np.full(len(names), -1, dtype=np.int32)
    local[own] = np.arange(len(own), dtype=np.int32)
    ops = local[ops] if len(ops) else ops.astype(np.int32)
    if len(ops) and ops.min() < 0:
        raise FormatError(f"{p}: graph {k} uses an op its op names lack")
    try:
        return OpGraph(ops, edges, op_names=[names[i] for i in own], name=r.get("name", ""),
                       labels=r.get("labels"), node_names=r.get("node_names"),
                       node_flops=r.get("node_flops"), attrs=r.get("attrs"),
                       attr_names=r.get("attr_names"), node_shapes=r.get("node_shapes"),
                       shape_names=r.get("shape_names"),
                       node_params=r.get("node_params"))  # fmt: skip
    except (ArchmotifError, TypeError, ValueError) as e:
        raise FormatError(f"{p}: graph {k}: {e}") from None


def _load_streamed(
    p: str,
    core: Any,
    names: list[str],
    vocabulary: MotifVocabulary,
    params: MiningParams,
    detail: str,
    s: Any,
) -> Mined:
    from archmotif.corpus import open_corpus

    if not isinstance(s, dict) or not isinstance(s.get("corpus"), str):
        raise FormatError(f"{p}: mined file metadata names no corpus file")
    reader = open_corpus(s["corpus"], detail=detail)
    bounds = s.get("bounds")
    ok = (
        isinstance(bounds, list)
        and all(isinstance(b, list) and len(b) == 2 and all(type(x) is int for x in b)
                for b in bounds)
        and [b[0] for b in bounds[1:]] == [b[1] for b in bounds[:-1]]
        and (not bounds or (bounds[0][0] == 0 and bounds[-1][1] == len(reader)))
    )  # fmt: skip
    if not ok or s.get("graphs") != len(reader):
        raise FormatError(
            f"{p}: the corpus file {s['corpus']} is not the one this result was mined from "
            "(its number of graphs or chunks differ)"
        )
    bounds = [tuple(b) for b in bounds]
    return Mined._streamed(core, reader, names, vocabulary, bounds, params, detail)
