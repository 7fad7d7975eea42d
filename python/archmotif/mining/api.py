"""``mine()``, ``contract()`` and ``canonical_hash()``: the Python face of the Rust
mining engine. All graph work runs in the core with the GIL released; this
module only maps op names to shared ids and wraps results.

Op names, not op ids, define motifs: a motif's canonical id depends only on its
op names and edges, so ids agree across corpora, runs, machines and thread
counts, and change only with a major version of archmotif.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np

from archmotif import _core
from archmotif.errors import GraphError, InvalidArgument, LimitError
from archmotif.graph import OpGraph
from archmotif.mining.motifs import MacroGraph, MotifVocabulary

__all__ = [
    "MAX_THREADS",
    "MINING_PARAMS",
    "STRATEGIES",
    "Mined",
    "canonical_hash",
    "check_mining_params",
    "contract",
    "mine",
]

STRATEGIES = ("merge", "nar")


def _as_graphs(graphs: OpGraph | Iterable[OpGraph] | str | os.PathLike[str]) -> list[OpGraph]:
    if isinstance(graphs, OpGraph):
        return [graphs]
    if isinstance(graphs, (str, os.PathLike)):
        from archmotif.corpus import load_corpus

        return load_corpus(graphs)
    out = list(graphs)
    for i, g in enumerate(out):
        if not isinstance(g, OpGraph):
            raise TypeError(f"graphs[{i}] is {type(g).__name__}, not OpGraph")
    return out


def _global_ops(
    graphs: Sequence[OpGraph], base: Sequence[str] = ()
) -> tuple[list[str], list[tuple[np.ndarray, np.ndarray]]]:
    """One op vocabulary for all graphs (``base`` first, then new names sorted)
    and every graph's ops remapped into it."""
    names = list(base)
    known = set(names)
    names += sorted({n for g in graphs for n in g.op_names} - known)
    index = {n: i for i, n in enumerate(names)}
    arrays = []
    for g in graphs:
        remap = np.array([index[n] for n in g.op_names], dtype=np.int32)
        ops = remap[g.ops] if g.num_nodes else np.zeros(0, dtype=np.int32)
        arrays.append((np.ascontiguousarray(ops), np.ascontiguousarray(g.edges)))
    return names, arrays


def _progress(enabled: bool, desc: str) -> tuple[Callable[[int, int], None] | None, Any]:
    if not enabled:
        return None, nullcontext()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, nullcontext()
    bar = tqdm(desc=desc, unit="graph", disable=None, leave=False)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    return update, bar


def _check_int(name: str, value: Any, lo: int, hi: int = 2**63 - 1) -> int:
    """``value`` as an int in ``[lo, hi]``; anything else raises :class:`InvalidArgument`
    (the core takes 64-bit integers: a wider one must not reach it as an OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name} must be an integer >= {lo}, got {value!r}")
    if not lo <= value <= hi:
        v = int(value)
        shown = f"{v:,}" if abs(v) < 10**30 else f"an integer of {len(str(v))} digits"
        raise InvalidArgument(
            f"{name} must be an integer >= {lo}"
            + (f" and <= {hi:,}" if hi < 2**63 - 1 else " that fits in 64 bits")
            + f", got {shown}"
        )
    return int(value)


# Peak memory of mining, per node and per edge, with margin over what benches/README.md
# measures (about 280 bytes per node at 10^7 nodes, the graph itself included).
_BYTES_PER_NODE = 400
_BYTES_PER_EDGE = 64


def _available_memory() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), in bytes; None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _check_memory(graphs: Sequence[OpGraph], max_memory: int | str | None) -> None:
    """Raises LimitError when mining ``graphs`` would need more than ``max_memory``
    bytes by the documented estimate (``"auto"``: the memory available now)."""
    nodes = sum(g.num_nodes for g in graphs)
    edges = sum(g.num_edges for g in graphs)
    _check_memory_of(nodes, edges, max_memory)


def _check_memory_of(nodes: int, edges: int, max_memory: int | str | None) -> None:
    """:func:`_check_memory` for a corpus of ``nodes`` and ``edges``."""
    if max_memory is None:
        return
    if max_memory == "auto":
        budget = _available_memory()
        if budget is None:
            return
        what = "the memory available"
    elif isinstance(max_memory, (int, np.integer)) and not isinstance(max_memory, bool):
        if max_memory <= 0:
            raise ValueError(f"max_memory must be positive bytes, 'auto' or None, got {max_memory}")
        budget, what = int(max_memory), f"max_memory={int(max_memory):,} bytes"
    else:
        raise ValueError(f"max_memory must be positive bytes, 'auto' or None, got {max_memory!r}")
    need = nodes * _BYTES_PER_NODE + edges * _BYTES_PER_EDGE
    if need > budget:
        raise LimitError(
            f"mining {nodes:,} nodes and {edges:,} edges needs about {_size(need)}, "
            f"more than {what} ({_size(budget)}); mine fewer graphs at once, "
            "shard them over a Dask cluster, or raise max_memory"
        )


# The mining parameters and their bounds: the one argument check of mine(), and the
# schema of the parameters an encoder file may carry (nothing else: never a client, a
# path or a callable).
MINING_PARAMS = {
    "min_count": (1, 2**63 - 1),
    "min_support": (1, 2**63 - 1),
    "max_motif_nodes": (2, 4096),
    "max_levels": (0, 2**63 - 1),
}


def check_mining_params(**params: Any) -> dict[str, int]:
    """``params`` checked against :data:`MINING_PARAMS` (names and bounds); an unknown
    name or a value out of bounds raises :class:`InvalidArgument` naming it."""
    unknown = sorted(set(params) - set(MINING_PARAMS))
    if unknown:
        raise InvalidArgument(
            f"unknown mining parameter(s) {', '.join(unknown)}; "
            f"the mining parameters are {', '.join(MINING_PARAMS)}"
        )
    return {k: _check_int(k, v, *MINING_PARAMS[k]) for k, v in params.items()}


# A documented bound, the same on every machine (results never depend on the thread
# count, so nothing needs more): threads=10**4 would start ten thousand OS threads.
MAX_THREADS = 256


def _threads(threads: int | None) -> int | None:
    if threads is None:
        env = os.environ.get("RAYON_NUM_THREADS")
        if not (env and env.isdigit() and int(env) > 0):
            return None
        return _check_int("RAYON_NUM_THREADS", int(env), 1, MAX_THREADS)
    return _check_int("threads", threads, 1, MAX_THREADS)


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
    ) -> None:
        self._core = core
        self._op_names = op_names
        self.graphs: Sequence[OpGraph] = graphs
        self.strategy = strategy
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
    ) -> Mined:
        """A result mined from a corpus file a chunk at a time: ``graphs`` is the
        open :class:`~archmotif.corpus.CorpusReader` and ``macro_graphs`` are
        computed a chunk at a time when read (see :mod:`archmotif.mining.streaming`)."""
        from archmotif.mining.streaming import LazyMacroGraphs

        m = cls(core, [], op_names, vocabulary, [], "merge")
        m.graphs = reader
        m.macro_graphs = LazyMacroGraphs(m, reader, bounds)
        m.streamed = True
        return m

    def context(self, graph_index: int, macro_node: int, hops: int = 1) -> OpGraph:
        """The context graph of one instance: its nodes plus every node within
        ``hops`` undirected steps, as an induced subgraph. ``node_names`` hold
        the original node ids; ``labels`` say where it came from."""
        hops = _check_int("hops", hops, 0)
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
            _, ((ops, g_edges),) = _global_ops([g], self._op_names)
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
        level by level). Motifs the vocabulary lacks get index -1."""
        gs = _as_graphs(graphs)
        names, arrays = _global_ops(gs, self._op_names)
        cb, bar = _progress(progress, "apply")
        with bar:
            macros = self._core.apply(arrays, names, _threads(threads), cb)
        return [_macro(g, self.vocabulary, m) for g, m in zip(gs, macros, strict=True)]

    def view(self, index: int = 0, path: Any = None, *, open_browser: bool | None = None) -> Any:
        """Writes the HTML viewer of graph ``index`` (see :func:`archmotif.viz.view`):
        to ``path``, or to a temporary file opened in the web browser. Returns the path."""
        from archmotif.viz import view

        return view(self, path, index=index, open_browser=open_browser)

    def __repr__(self) -> str:
        if self.streamed:
            return (
                f"Mined(strategy={self.strategy!r}, graphs={len(self.graphs)}, "
                f"motifs={len(self.vocabulary)}, streamed from {self.graphs.path!r})"  # type: ignore[attr-defined]
            )
        n = sum(g.num_nodes for g in self.graphs)
        m = sum(mg.num_nodes for mg in self.macro_graphs)
        red = n / m if m else 1.0
        return (
            f"Mined(strategy={self.strategy!r}, graphs={len(self.graphs)}, "
            f"motifs={len(self.vocabulary)}, nodes {n} -> {m} macro nodes, reduction {red:.1f}x)"
        )


def _macro(g: OpGraph, vocab: MotifVocabulary, m: tuple[np.ndarray, ...]) -> MacroGraph:
    motifs, n2m, edges, weights = m
    return MacroGraph(graph=g, vocabulary=vocab, motifs=motifs, node_to_macro=n2m,
                      edges=edges, weights=weights)  # fmt: skip


def mine(
    graphs: OpGraph | Iterable[OpGraph] | str | os.PathLike[str],
    *,
    strategy: str = "merge",
    min_count: int = 2,
    min_support: int = 1,
    max_motif_nodes: int = 32,
    max_levels: int = 8,
    threads: int | None = None,
    progress: bool = True,
    max_memory: int | str | None = "auto",
    client: Any = None,
    shards: int | None = None,
    chunk_nodes: int | None = None,
    chunk_graphs: int | None = None,
) -> Mined:
    """Mines the motifs that repeat across ``graphs`` and contracts every graph.

    A candidate is frequent when it has at least ``min_count`` non-overlapping
    occurrences in the corpus and occurs in at least ``min_support`` graphs.
    ``strategy="merge"`` (default) grows motifs by merging adjacent fragments in
    rounds, one vocabulary level per round, keeping every fragment convex so each
    macro graph of a DAG is a DAG; ``strategy="nar"`` is the segmentation of
    Neural Architecture Retrieval (Pei et al., 2024), our baseline.
    ``threads`` (or ``RAYON_NUM_THREADS``) sets parallelism; results do not
    depend on it. Ctrl-C interrupts within a second with ``KeyboardInterrupt``.
    ``max_memory`` (bytes; ``"auto"``: the memory available now; ``None``: no check)
    bounds the estimated peak (400 bytes per node + 64 per edge): a corpus over it
    raises :class:`~archmotif.LimitError` before any work instead of the process
    being killed.

    ``graphs`` may also be the path of a corpus file. ``client`` (a
    ``dask.distributed.Client`` or a scheduler address) mines on a Dask cluster
    in ``shards`` pieces (default: one per worker) with exactly the result of
    mining here; see :mod:`archmotif.mining.distributed` (``strategy="merge"`` only).

    ``chunk_nodes`` or ``chunk_graphs`` (with ``graphs`` a corpus path) streams
    the file instead of loading it: chunks of at most that many operators or
    graphs are read, mined and dropped, round after round, so peak memory follows
    the chunk, not the corpus, with exactly the result of loading it all;
    ``graphs`` and ``macro_graphs`` of the result are then read lazily from the
    file. See :mod:`archmotif.mining.streaming` (``strategy="merge"`` only).
    """
    if strategy not in STRATEGIES:
        raise InvalidArgument(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    params = check_mining_params(
        min_count=min_count, min_support=min_support,
        max_motif_nodes=max_motif_nodes, max_levels=max_levels,
    )  # fmt: skip
    min_count, min_support = params["min_count"], params["min_support"]
    max_motif_nodes, max_levels = params["max_motif_nodes"], params["max_levels"]
    if chunk_nodes is not None or chunk_graphs is not None:
        return _mine_streamed(
            graphs, strategy=strategy, client=client, min_count=min_count,
            min_support=min_support, max_motif_nodes=max_motif_nodes, max_levels=max_levels,
            threads=threads, progress=progress, max_memory=max_memory,
            chunk_nodes=chunk_nodes, chunk_graphs=chunk_graphs,
        )  # fmt: skip
    gs = _as_graphs(graphs)
    _check_memory(gs, max_memory)
    names, arrays = _global_ops(gs)
    if client is not None:
        if strategy != "merge":
            raise ValueError(
                f"mining on a Dask cluster supports strategy='merge', not {strategy!r}"
            )
        from archmotif.mining.distributed import mine_sharded

        if shards is not None:
            shards = _check_int("shards", shards, 1)
        cb, bar = _progress(progress, "mine (dask)")
        with bar:
            core, vocab, macros = mine_sharded(
                gs, names, arrays, client=client, shards=shards, min_count=min_count,
                min_support=min_support, max_motif_nodes=max_motif_nodes, max_levels=max_levels,
                threads=_threads(threads), progress=cb,
            )  # fmt: skip
        return Mined(core, gs, names, MotifVocabulary._from_core(vocab, names), macros, strategy)
    cb, bar = _progress(progress, f"mine ({strategy})")
    with bar:
        core, vocab, macros = _core.mine(
            arrays, names, strategy, min_count, min_support, max_motif_nodes, max_levels,
            _threads(threads), cb,
        )  # fmt: skip
    return Mined(core, gs, names, MotifVocabulary._from_core(vocab, names), macros, strategy)


def _mine_streamed(
    graphs: Any,
    *,
    strategy: str,
    client: Any,
    min_count: int,
    min_support: int,
    max_motif_nodes: int,
    max_levels: int,
    threads: int | None,
    progress: bool,
    max_memory: int | str | None,
    chunk_nodes: int | None,
    chunk_graphs: int | None,
) -> Mined:
    from archmotif.corpus import CorpusReader, open_corpus
    from archmotif.mining.streaming import mine_streamed

    if strategy != "merge":
        raise ValueError(f"streamed mining supports strategy='merge', not {strategy!r}")
    if client is not None:
        raise ValueError("stream a corpus (chunk_nodes/chunk_graphs) or use client=, not both")
    if chunk_nodes is not None:
        chunk_nodes = _check_int("chunk_nodes", chunk_nodes, 1)
    if chunk_graphs is not None:
        chunk_graphs = _check_int("chunk_graphs", chunk_graphs, 1)
    if isinstance(graphs, CorpusReader):
        reader = graphs
    elif isinstance(graphs, (str, os.PathLike)):
        reader = open_corpus(graphs)
    else:
        raise TypeError(
            "chunk_nodes/chunk_graphs stream a corpus file: pass its path (or an "
            f"open_corpus reader), not {type(graphs).__name__}"
        )
    names = sorted(reader.op_names)
    bounds = list(reader.bounds(chunk_graphs, chunk_nodes))
    cb, bar = _progress(progress, "mine (streamed)")
    with bar:
        core, vocab, _ = mine_streamed(
            reader, names, bounds, min_count=min_count,
            min_support=min_support, max_motif_nodes=max_motif_nodes, max_levels=max_levels,
            threads=_threads(threads), progress=cb,
            check=lambda nodes, edges: _check_memory_of(nodes, edges, max_memory),
        )  # fmt: skip
    vocabulary = MotifVocabulary._from_core(vocab, names)
    return Mined._streamed(core, reader, names, vocabulary, bounds)


def canonical_hash(graph: OpGraph) -> int:
    """The canonical 128-bit id of ``graph``: equal for two graphs exactly when
    they are isomorphic, respecting op names and edge direction (up to a
    negligible chance of a 128-bit hash collision). Stable across runs,
    machines and node orders; changes only with a major version. Raises
    :class:`~archmotif.LimitError` for a graph of more than 4,096 nodes or a
    search past its fixed work budget (well under a second); Ctrl-C interrupts it."""
    if not isinstance(graph, OpGraph):
        raise TypeError(f"canonical_hash expects an OpGraph, got {type(graph).__name__}")
    return int(_core.canonical_hash(graph._ops, graph._edges, list(graph.op_names)))


def contract(graph: OpGraph, partition: Sequence[int] | np.ndarray) -> MacroGraph:
    """Contracts ``graph`` by a user partition (an integer group per node).
    Each group becomes a macro node carrying the canonical id of its induced
    subgraph; the macro graph's vocabulary holds the distinct groups' motifs.
    A group that is not convex raises :class:`~archmotif.GraphError` naming it."""
    part = np.asarray(partition)
    if part.ndim != 1 or (part.size and part.dtype.kind not in "iu"):
        raise GraphError(f"partition must be a 1-D integer array, got {part.dtype} {part.shape}")
    if part.shape[0] != graph.num_nodes:
        raise GraphError(f"partition has {part.shape[0]} entries for {graph.num_nodes} nodes")
    part = np.ascontiguousarray(part, dtype=np.int64)
    names = list(graph.op_names)
    (_, n2m, edges, weights), ids, _groups, forms = _core.contract(
        graph._ops, graph._edges, names, part
    )
    distinct = sorted(set(ids))
    first = {mid: ids.index(mid) for mid in distinct}
    forms_d = {
        "ids": distinct,
        "ops": forms["ops"], "edges": forms["edges"],
        "op_offsets": forms["op_offsets"], "edge_offsets": forms["edge_offsets"],
    }  # fmt: skip
    # forms are per macro node: keep the first of each distinct id, in id order
    sel = [first[mid] for mid in distinct]
    forms_d["op_offsets"], forms_d["ops"] = _select(forms["ops"], forms["op_offsets"], sel)
    forms_d["edge_offsets"], forms_d["edges"] = _select(
        forms["edges"], forms["edge_offsets"], sel, axis=1
    )
    forms_d["count"] = [ids.count(mid) for mid in distinct]
    forms_d["support"] = [1] * len(distinct)
    vocab = MotifVocabulary._from_core(forms_d, names)
    index = {mid: i for i, mid in enumerate(distinct)}
    motifs = np.array([index[mid] for mid in ids], dtype=np.int32)
    return MacroGraph(graph=graph, vocabulary=vocab, motifs=motifs, node_to_macro=n2m,
                      edges=edges, weights=weights, _motif_ids=list(ids))  # fmt: skip


def _select(flat: np.ndarray, off: np.ndarray, sel: list[int], axis: int = 0):
    parts = [np.take(flat, np.arange(off[i], off[i + 1]), axis=axis) for i in sel]
    sizes = [p.shape[axis] for p in parts]
    new_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if not parts:
        shape = (2, 0) if axis == 1 else (0,)
        return new_off, np.zeros(shape, dtype=flat.dtype)
    return new_off, np.concatenate(parts, axis=axis)
