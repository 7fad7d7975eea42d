"""The one round coordinator of sharded mining, and the shard interface it drives.

A corpus mined in pieces is mined in rounds, one vocabulary level per round:

1. every shard counts its candidate merges (:meth:`Shards.count`);
2. the core sums the counts and ranks the frequent ones (``_core.rank``);
3. every shard applies the ranked rules (:meth:`Shards.apply`) and reports the merges
   it kept; the core settles the round (``_core.settle``): the rules that stay frequent
   once applied and, only when a rule that fell below the thresholds had claimed a
   merge somewhere, that they must be applied again (a rule that claimed nothing
   changed nothing: the pass stands for the rules that stay);
4. every shard keeps the round (:meth:`Shards.commit`). A round that applies nothing
   ends mining; every shard then hands back its result (:meth:`Shards.finish`), which
   the core merges (``_core.assemble``).

:func:`run_rounds` is that loop, written once. Three implementations of :class:`Shards`
run it: :class:`LocalShards` (shards in this process), ``DaskShards`` (one Dask actor
per shard, :mod:`archmotif.mining.distributed`) and ``StreamedShards`` (the chunks of a
corpus file, each kept on disk between rounds, :mod:`archmotif.mining.streaming`).
Every decision (what is frequent, in which order, what a result merges to) is the
core's, so every implementation gives the result of ``_core.mine`` on the whole corpus
bit for bit; the core's own ``drive`` (``rust/core/src/shard.rs``) is the same loop
over shards in one process, the reference the tests compare against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from archmotif import _core
from archmotif.mining.params import MiningParams

__all__ = ["CountLists", "LocalShards", "Shards", "rank", "run_rounds"]

# One shard's counts: (candidate ids, occurrences, graphs with one), sorted by id.
CountLists = tuple[list[int], list[int], list[int]]


class Shards(Protocol):
    """A corpus cut into shards, driven round by round by :func:`run_rounds`. Each
    method acts on every shard and returns one :data:`CountLists` per shard (or any
    grouping of them: only their sum matters)."""

    def count(self) -> Sequence[CountLists]:
        """Starts a round: the candidate merges, counted."""
        ...

    def apply(self, rules: list[int]) -> Sequence[CountLists]:
        """Applies ``rules`` (best first); the merges kept, counted like candidates,
        and, counted zero, each rule whose every claimed merge was undone."""
        ...

    def commit(self, rules: list[int]) -> None:
        """Keeps the last :meth:`apply` as the next level, made of ``rules`` (the
        rules that stayed: the last pass applied these and, maybe, rules that
        claimed nothing)."""
        ...

    def finish(self) -> list[bytes]:
        """Ends mining: every shard's encoded result, in corpus order."""
        ...


def rank(counts: Sequence[CountLists], params: MiningParams) -> list[int]:
    """The ids frequent enough under ``params`` in the sum of ``counts``, best first
    (the core sums and ranks)."""
    return list(_core.rank(list(counts), params.pairs()))


def run_rounds(
    shards: Shards,
    params: MiningParams,
    progress: Callable[[int, int], None] | None = None,
) -> list[list[int]]:
    """Drives ``shards`` through every round (see the module docstring); returns the
    rules of each level. ``progress(levels, max_levels)`` follows the levels."""
    levels: list[list[int]] = []
    for _ in range(params.max_levels):
        rules = rank(shards.count(), params)
        if not rules:  # applying nothing keeps nothing: the round ends mining
            break
        again = True
        while again and rules:
            rules, again = _core.settle(list(shards.apply(rules)), rules, params.pairs())
        if not rules:  # every rule that stays kept a merge: nothing was applied
            break
        shards.commit(rules)
        levels.append(rules)
        if progress is not None:
            progress(len(levels), params.max_levels)
    return levels


class LocalShards:
    """Shards held in this process (``_core.MiningShard``), each over a contiguous run
    of the corpus's graphs (``arrays``, op ids into ``names``)."""

    def __init__(
        self,
        arrays: list[tuple[np.ndarray, np.ndarray]],
        names: list[str],
        bounds: Sequence[tuple[int, int]],
        params: MiningParams,
        threads: int | None = None,
    ) -> None:
        self._shards = [
            _core.MiningShard(arrays[a:b], names, params.pairs(), threads=threads)
            for a, b in bounds
        ]

    def count(self) -> list[CountLists]:
        return [s.count() for s in self._shards]

    def apply(self, rules: list[int]) -> list[CountLists]:
        return [s.apply(rules) for s in self._shards]

    def commit(self, rules: list[int]) -> None:
        for s in self._shards:
            s.commit(rules)

    def finish(self) -> list[bytes]:
        return [s.finish() for s in self._shards]
