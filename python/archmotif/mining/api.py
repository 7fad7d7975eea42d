"""``mine()``, ``contract()`` and ``canonical_hash()``: the Python face of the Rust
mining engine. All graph work runs in the core with the GIL released; this
module checks arguments, picks the mode (here, on a Dask cluster, streamed from a
file) and wraps results in a :class:`~archmotif.mining.mined.Mined`.

Op names, not op ids, define motifs: a motif's canonical id depends only on its
op names and edges, so ids agree across corpora, runs, machines and thread
counts, and change only with a major version of archmotif.

``detail`` (``"attrs"``, the default :data:`~archmotif.attributes.DEFAULT_DETAIL`, or
``"op"``) picks the level of detail every graph is taken at (:mod:`archmotif.attributes`):
at ``"attrs"`` a 1x1 and a 3x3 convolution are different ops (``convolution[k1]``,
``convolution[k3]``); at ``"op"`` the ids are the ones archmotif always gave. A graph
without attributes is the same at both levels.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from archmotif import _core
from archmotif.attributes import DEFAULT_DETAIL, check_detail
from archmotif.errors import GraphError, InvalidArgument, LimitError
from archmotif.graph import OpGraph
from archmotif.mining.inputs import as_graphs, global_ops, progress_bar
from archmotif.mining.mined import Mined
from archmotif.mining.motifs import MacroGraph, MotifVocabulary
from archmotif.mining.params import (
    MAX_THREADS,
    MINING_PARAMS,
    MiningParams,
    check_int,
    check_mining_params,
    threads_of,
)

__all__ = [
    "MAX_THREADS",
    "MINING_PARAMS",
    "STRATEGIES",
    "Mined",
    "MiningParams",
    "canonical_hash",
    "check_mining_params",
    "contract",
    "mine",
]

STRATEGIES = ("merge", "nar")


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
            raise InvalidArgument(
                f"max_memory must be positive bytes, 'auto' or None, got {max_memory}"
            )
        budget, what = int(max_memory), f"max_memory={int(max_memory):,} bytes"
    else:
        raise InvalidArgument(
            f"max_memory must be positive bytes, 'auto' or None, got {max_memory!r}"
        )
    need = nodes * _BYTES_PER_NODE + edges * _BYTES_PER_EDGE
    if need > budget:
        raise LimitError(
            f"mining {nodes:,} nodes and {edges:,} edges needs about {_size(need)}, "
            f"more than {what} ({_size(budget)}); mine fewer graphs at once, "
            "shard them over a Dask cluster, or raise max_memory"
        )


def mine(
    graphs: OpGraph | Iterable[OpGraph] | str | os.PathLike[str],
    *,
    strategy: str = "merge",
    params: MiningParams | None = None,
    threads: int | None = None,
    progress: bool = True,
    max_memory: int | str | None = "auto",
    client: Any = None,
    shards: int | None = None,
    chunk_nodes: int | None = None,
    chunk_graphs: int | None = None,
    detail: str = DEFAULT_DETAIL,
    **mining_params: int,
) -> Mined:
    """Mines the motifs that repeat across ``graphs`` and contracts every graph.

    The mining parameters are those of :class:`MiningParams` (``min_count=2``,
    ``min_support=1``, ``max_motif_nodes=32``, ``max_levels=8``), given by name
    (``mine(graphs, min_count=3)``) or as ``params=MiningParams(...)`` (names given
    as well replace its values); the result keeps them as ``Mined.params``.
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
    mining here; given a corpus path, the workers read their pieces from the file
    themselves (a shared file system) and the result reads it lazily, so this
    process never holds the corpus; see :mod:`archmotif.mining.distributed`
    (``strategy="merge"`` only).

    ``chunk_nodes`` or ``chunk_graphs`` (with ``graphs`` a corpus path) streams
    the file instead of loading it: chunks of at most that many operators or
    graphs are read, mined and dropped, round after round, so peak memory follows
    the chunk, not the corpus, with exactly the result of loading it all;
    ``graphs`` and ``macro_graphs`` of the result are then read lazily from the
    file. See :mod:`archmotif.mining.streaming` (``strategy="merge"`` only).

    ``detail="attrs"`` (the default) mines the op-plus-attributes view of every graph
    (:meth:`OpGraph.view`; a corpus file gives it without tracing again): the result's
    ``graphs`` are those views, and :meth:`Mined.apply` views new graphs the same way;
    ``detail="op"`` mines the plain ops, attributes ignored.
    """
    detail = check_detail(detail)
    if strategy not in STRATEGIES:
        raise InvalidArgument(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if params is None:
        p = MiningParams.of(**mining_params)
    elif isinstance(params, MiningParams):
        p = dataclasses.replace(params, **check_mining_params(**mining_params))
    else:
        raise InvalidArgument(f"params must be a MiningParams, got {type(params).__name__}")
    if chunk_nodes is not None or chunk_graphs is not None:
        return _mine_streamed(
            graphs, strategy=strategy, client=client, params=p, threads=threads,
            progress=progress, max_memory=max_memory,
            chunk_nodes=chunk_nodes, chunk_graphs=chunk_graphs, detail=detail,
        )  # fmt: skip
    if client is not None and isinstance(graphs, (str, os.PathLike)):
        return _mine_file_on_cluster(graphs, strategy=strategy, client=client, shards=shards,
                                     params=p, threads=threads, progress=progress,
                                     detail=detail)  # fmt: skip
    gs = as_graphs(graphs, detail)
    _check_memory(gs, max_memory)
    names, arrays = global_ops(gs)
    if client is not None:
        if strategy != "merge":
            raise InvalidArgument(
                f"mining on a Dask cluster supports strategy='merge', not {strategy!r}"
            )
        from archmotif.mining.distributed import mine_sharded

        if shards is not None:
            shards = check_int("shards", shards, 1)
        cb, bar = progress_bar(progress, "mine (dask)")
        with bar:
            core, vocab, macros = mine_sharded(
                gs, names, arrays, client=client, shards=shards, params=p,
                threads=threads_of(threads), progress=cb,
            )  # fmt: skip
        vocabulary = MotifVocabulary._from_core(vocab, names)
        return Mined(core, gs, names, vocabulary, macros, strategy, p, detail)
    cb, bar = progress_bar(progress, f"mine ({strategy})")
    with bar:
        core, vocab, macros = _core.mine(
            arrays, names, strategy, p.pairs(), threads_of(threads), cb
        )
    vocabulary = MotifVocabulary._from_core(vocab, names)
    return Mined(core, gs, names, vocabulary, macros, strategy, p, detail)


def _mine_file_on_cluster(
    path: str | os.PathLike[str],
    *,
    strategy: str,
    client: Any,
    shards: int | None,
    params: MiningParams,
    threads: int | None,
    progress: bool,
    detail: str,
) -> Mined:
    """A corpus file mined on a Dask cluster whose workers read it themselves (see
    :mod:`archmotif.mining.distributed`): the result reads the file lazily."""
    from archmotif.corpus import open_corpus
    from archmotif.mining.distributed import mine_file_sharded

    if strategy != "merge":
        raise InvalidArgument(
            f"mining on a Dask cluster supports strategy='merge', not {strategy!r}"
        )
    if shards is not None:
        shards = check_int("shards", shards, 1)
    reader = open_corpus(path, detail=detail)
    names = sorted(reader.op_names)
    cb, bar = progress_bar(progress, "mine (dask)")
    with bar:
        core, vocab, bounds = mine_file_sharded(
            reader, names, client=client, shards=shards, params=params,
            threads=threads_of(threads), progress=cb,
        )  # fmt: skip
    vocabulary = MotifVocabulary._from_core(vocab, names)
    return Mined._streamed(core, reader, names, vocabulary, bounds, params, detail)


def _mine_streamed(
    graphs: Any,
    *,
    strategy: str,
    client: Any,
    params: MiningParams,
    threads: int | None,
    progress: bool,
    max_memory: int | str | None,
    chunk_nodes: int | None,
    chunk_graphs: int | None,
    detail: str,
) -> Mined:
    from archmotif.corpus import CorpusReader, open_corpus
    from archmotif.mining.streaming import mine_streamed

    if strategy != "merge":
        raise InvalidArgument(f"streamed mining supports strategy='merge', not {strategy!r}")
    if client is not None:
        raise InvalidArgument("stream a corpus (chunk_nodes/chunk_graphs) or use client=, not both")
    if chunk_nodes is not None:
        chunk_nodes = check_int("chunk_nodes", chunk_nodes, 1)
    if chunk_graphs is not None:
        chunk_graphs = check_int("chunk_graphs", chunk_graphs, 1)
    if isinstance(graphs, CorpusReader) and graphs.detail == detail:
        reader = graphs
    elif isinstance(graphs, CorpusReader):  # the same file, read at this detail
        reader = open_corpus(graphs.path, verify=False, detail=detail)
    elif isinstance(graphs, (str, os.PathLike)):
        reader = open_corpus(graphs, detail=detail)
    else:
        raise TypeError(
            "chunk_nodes/chunk_graphs stream a corpus file: pass its path (or an "
            f"open_corpus reader), not {type(graphs).__name__}"
        )
    names = sorted(reader.op_names)
    bounds = list(reader.bounds(chunk_graphs, chunk_nodes))
    cb, bar = progress_bar(progress, "mine (streamed)")
    with bar:
        core, vocab, _ = mine_streamed(
            reader, names, bounds, params=params, threads=threads_of(threads), progress=cb,
            check=lambda nodes, edges: _check_memory_of(nodes, edges, max_memory),
        )  # fmt: skip
    vocabulary = MotifVocabulary._from_core(vocab, names)
    return Mined._streamed(core, reader, names, vocabulary, bounds, params, detail)


def canonical_hash(graph: OpGraph, *, detail: str = DEFAULT_DETAIL) -> int:
    """The canonical 128-bit id of ``graph``: equal for two graphs exactly when
    they are isomorphic, respecting op names and edge direction (up to a
    negligible chance of a 128-bit hash collision), at ``detail`` (``"attrs"``: the
    op names carry the attributes, :meth:`OpGraph.view`). Stable across runs,
    machines and node orders; changes only with a major version. Raises
    :class:`~archmotif.LimitError` for a graph of more than 4,096 nodes or a
    search past its fixed work budget (well under a second); Ctrl-C interrupts it."""
    if not isinstance(graph, OpGraph):
        raise TypeError(f"canonical_hash expects an OpGraph, got {type(graph).__name__}")
    graph = graph.view(detail)
    return int(_core.canonical_hash(graph._ops, graph._edges, list(graph.op_names)))


def contract(
    graph: OpGraph, partition: Sequence[int] | np.ndarray, *, detail: str = DEFAULT_DETAIL
) -> MacroGraph:
    """Contracts ``graph`` (at ``detail``) by a user partition (an integer group per
    node). Each group becomes a macro node carrying the canonical id of its induced
    subgraph; the macro graph's vocabulary holds the distinct groups' motifs.
    A group that is not convex raises :class:`~archmotif.GraphError` naming it."""
    graph = graph.view(detail)
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
