"""Mining over a Dask cluster: ``archmotif.mine(graphs, client=client)``.

The corpus is cut into contiguous shards, one Dask *actor* per shard holding
its graphs' partitions between rounds (``archmotif._core.MiningShard``). Each
round, every shard counts its candidate merges; the coordinator (this process)
sums the counts and ranks them in the core (``_core.rank``), sends the ranked
rules back, and every shard applies them. At the end, shard results (bytes) are
merged by the core (``_core.assemble``): sums, minima and unions only.

Candidate ids are canonical, so the sum of shard counts is the count over the
whole corpus, and the result equals single-process :func:`archmotif.mine` on the
same input bit for bit: the same vocabulary (ids, counts, support, levels,
order) and the same macro graphs, whatever the number of shards or workers.
Only rule lists and counts of distinct candidates cross the network each round.

Works with any ``dask.distributed.Client``: a ``LocalCluster`` on one machine
or a scheduler address. Every worker needs archmotif installed.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from archmotif import _core
from archmotif.graph import OpGraph
from archmotif.mining.inputs import global_ops
from archmotif.mining.params import MiningParams

__all__ = ["mine_sharded"]

CountLists = tuple[list[int], list[int], list[int]]


class ShardActor:
    """Lives on a Dask worker: one shard of the corpus being mined."""

    def __init__(
        self, graphs: list[OpGraph], op_names: list[str], params: MiningParams, threads: Any
    ) -> None:
        names, arrays = global_ops(graphs, op_names)
        if names != op_names:  # the coordinator's op names cover every graph
            raise ValueError("a shard holds op names the coordinator did not list")
        self._shard = _core.MiningShard(arrays, op_names, params.pairs(), threads=threads)

    def count(self) -> CountLists:
        return self._shard.count()

    def apply(self, rules: list[int]) -> CountLists:
        return self._shard.apply(rules)

    def commit(self, rules: list[int]) -> None:
        self._shard.commit(rules)

    def finish(self) -> bytes:
        return self._shard.finish()


@contextlib.contextmanager
def _connected(client: Any) -> Iterator[Any]:
    """The client to use; one opened here from a scheduler address is closed after."""
    if not isinstance(client, str):
        yield client
        return
    from dask.distributed import Client

    with Client(client) as opened:
        yield opened


def _shards(graphs: Sequence[OpGraph], n: int) -> list[list[OpGraph]]:
    """Contiguous shards of about equal node counts (at least one graph each)."""
    n = max(1, min(n, len(graphs)))
    sizes = np.array([g.num_nodes + 1 for g in graphs], dtype=np.float64)
    ends = np.cumsum(sizes)
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, n) / n, side="left") + 1
    bounds = sorted({0, len(graphs), *(int(c) for c in cuts)})
    return [list(graphs[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def _rank(counts: Sequence[CountLists], params: MiningParams) -> list[int]:
    return _core.rank(list(counts), params.pairs())


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
    """The coordinator loop; returns what ``_core.mine`` returns."""
    with _connected(client) as client:
        if shards is None:
            shards = max(1, len(client.scheduler_info().get("workers", {})))
        pieces = _shards(graphs, shards) if graphs else []
        futures = [
            client.submit(ShardActor, piece, names, params, threads, actor=True, pure=False)
            for piece in pieces
        ]
        actors = [f.result() for f in futures]

        def each(method: str, *args: Any) -> list[Any]:
            calls = [getattr(a, method)(*args) for a in actors]
            return [c.result() for c in calls]

        levels: list[list[int]] = []
        for _ in range(params.max_levels):
            rules = _rank(each("count"), params)
            while True:
                applied = each("apply", rules)
                keep = _rank(applied, params)
                if len(keep) == len(rules):
                    break
                kept = set(keep)
                rules = [r for r in rules if r in kept]
            if all(not ids for ids, _, _ in applied):
                break
            each("commit", rules)
            levels.append(rules)
            if progress is not None:
                progress(len(levels), params.max_levels)
        results = each("finish")
        return _core.assemble(results, arrays, names, levels, params.pairs(), threads)
