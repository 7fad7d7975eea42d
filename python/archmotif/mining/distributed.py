"""Mining over a Dask cluster: ``archmotif.mine(graphs, client=client)``.

The corpus is cut into contiguous shards of about equal node counts, one Dask *actor*
per shard holding its graphs' partitions between rounds (``_core.MiningShard``);
:class:`DaskShards` makes them the shards of the one round coordinator
(:func:`archmotif.mining.rounds.run_rounds`), which sums and ranks their counts in the
core each round. At the end, shard results (bytes) are merged by the core
(``_core.assemble``): sums, minima and unions only.

Candidate ids are canonical, so the sum of shard counts is the count over the
whole corpus, and the result equals single-process :func:`archmotif.mine` on the
same input bit for bit: the same vocabulary (ids, counts, support, levels,
order) and the same macro graphs, whatever the number of shards or workers.
Only rule lists and counts of distinct candidates cross the network each round.

Given a corpus file's *path*, the coordinator never loads the corpus: every actor
reads its own range of graphs from the file (so the path must be readable on every
worker: a shared file system), hands back its vocabulary statistics without macro
graphs, and the result reads graphs and macro graphs lazily from the file, as a
streamed result does (:mod:`archmotif.mining.streaming`). Given graphs, they are sent
to the actors.

Works with any ``dask.distributed.Client``: a ``LocalCluster`` on one machine
or a scheduler address. Every worker needs archmotif installed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from archmotif import _core
from archmotif.corpus import CorpusReader, open_corpus
from archmotif.graph import OpGraph
from archmotif.mining.inputs import global_ops
from archmotif.mining.params import MiningParams
from archmotif.mining.rounds import CountLists, run_rounds

__all__ = ["DaskShards", "ShardActor", "mine_file_sharded", "mine_sharded"]


class ShardActor:
    """Lives on a Dask worker: one shard of the corpus being mined, given as graphs or
    as a range ``(path, detail, start, stop)`` of a corpus file the worker reads itself."""

    def __init__(
        self,
        graphs: list[OpGraph] | tuple[str, str, int, int],
        op_names: list[str],
        params: MiningParams,
        threads: Any,
    ) -> None:
        if isinstance(graphs, tuple):
            from archmotif.mining.streaming import read_chunk

            path, detail, start, stop = graphs
            with open_corpus(path, detail=detail) as reader:
                arrays = read_chunk(reader, op_names, start, stop)
        else:
            names, arrays = global_ops(graphs, op_names)
            if names != op_names:  # the coordinator's op names cover every graph
                raise ValueError("a shard holds op names the coordinator did not list")
        self._shard = _core.MiningShard(arrays, op_names, params.pairs(), threads=threads)
        self._macros = not isinstance(graphs, tuple)

    def count(self) -> CountLists:
        return self._shard.count()

    def apply(self, rules: list[int]) -> CountLists:
        return self._shard.apply(rules)

    def commit(self, rules: list[int]) -> None:
        self._shard.commit(rules)

    def finish(self) -> bytes:
        return self._shard.finish(self._macros)


class DaskShards:
    """The actors as the shards of :func:`~archmotif.mining.rounds.run_rounds`: each
    method calls every actor at once and waits for all."""

    def __init__(self, client: Any, pieces: Sequence[Any], names: list[str],
                 params: MiningParams, threads: int | None) -> None:  # fmt: skip
        futures = [
            client.submit(ShardActor, piece, names, params, threads, actor=True, pure=False)
            for piece in pieces
        ]
        self._actors = [f.result() for f in futures]

    def _each(self, method: str, *args: Any) -> list[Any]:
        calls = [getattr(a, method)(*args) for a in self._actors]
        return [c.result() for c in calls]

    def count(self) -> list[CountLists]:
        return self._each("count")

    def apply(self, rules: list[int]) -> list[CountLists]:
        return self._each("apply", rules)

    def commit(self, rules: list[int]) -> None:
        self._each("commit", rules)

    def finish(self) -> list[bytes]:
        return self._each("finish")


@contextlib.contextmanager
def _connected(client: Any) -> Iterator[Any]:
    """The client to use; one opened here from a scheduler address is closed after."""
    if not isinstance(client, str):
        yield client
        return
    from dask.distributed import Client

    with Client(client) as opened:
        yield opened


def _cuts(num_nodes: Sequence[int], n: int) -> list[tuple[int, int]]:
    """``n`` contiguous ranges of graphs of about equal node counts (at least one graph
    each; none for no graphs)."""
    if not len(num_nodes):
        return []
    n = max(1, min(n, len(num_nodes)))
    ends = np.cumsum(np.asarray(num_nodes, dtype=np.float64) + 1)
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, n) / n, side="left") + 1
    bounds = sorted({0, len(num_nodes), *(int(c) for c in cuts)})
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def mine_sharded(
    graphs: list[OpGraph],
    names: list[str],
    arrays: list[tuple[np.ndarray, np.ndarray]],
    *,
    client: Any,
    shards: int | None,
    params: MiningParams,
    threads: int | None,
    progress: Any,
) -> tuple[Any, dict[str, Any], list[tuple[np.ndarray, ...]]]:
    """Mines ``graphs`` (``arrays``: their ops in ``names``) on the cluster; returns
    what ``_core.mine`` returns."""
    with _connected(client) as client:
        if shards is None:
            shards = max(1, len(client.scheduler_info().get("workers", {})))
        sizes = [g.num_nodes for g in graphs]
        pieces = [list(graphs[a:b]) for a, b in _cuts(sizes, shards)]
        group = DaskShards(client, pieces, names, params, threads)
        levels = run_rounds(group, params, progress)
        return _core.assemble(group.finish(), arrays, names, levels, params.pairs(), threads)


def mine_file_sharded(
    reader: CorpusReader,
    names: list[str],
    *,
    client: Any,
    shards: int | None,
    params: MiningParams,
    threads: int | None,
    progress: Any,
) -> tuple[Any, dict[str, Any], list[tuple[int, int]]]:
    """Mines the corpus file of ``reader`` on the cluster, every actor reading its own
    range; returns the core (no graphs held), the vocabulary and the shard ranges."""
    with _connected(client) as client:
        if shards is None:
            shards = max(1, len(client.scheduler_info().get("workers", {})))
        # ranges of at most an equal share of the operators each (a few more ranges than
        # shards when graphs straddle the shares)
        bounds = list(reader.bounds(None, max(1, -(-reader.num_nodes // shards))))
        path = os.path.abspath(reader.path)
        pieces = [(path, reader.detail, a, b) for a, b in bounds]
        group = DaskShards(client, pieces, names, params, threads)
        levels = run_rounds(group, params, progress)
        results = group.finish()
        merged = [_core.merge_results(results)] if results else []
        core, vocab, _ = _core.assemble(merged, [], names, levels, params.pairs(), threads)
        return core, vocab, bounds
