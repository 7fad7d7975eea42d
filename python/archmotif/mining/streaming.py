"""Mining a corpus file larger than memory: ``archmotif.mine(path, chunk_nodes=N)``.

The file is read a chunk at a time (:meth:`archmotif.corpus.CorpusReader.bounds`);
:class:`StreamedShards` makes the chunks the shards of the one round coordinator
(:func:`archmotif.mining.rounds.run_rounds`). No chunk stays in memory: between
rounds, each chunk's mining state (its partitions, what it created and the candidate
merges it counted for the next round, in the core's checksummed encoding,
``_core.MiningShard.suspend``) waits in a temporary file, with a fingerprint of the
chunk's arrays: a chunk validated in the first pass is rebuilt, not validated again, in
the next ones, and a chunk whose bytes changed since is a ``FormatError``. One
mining engine (``_core.MiningEngine``: the forms and candidate unions
canonicalised so far, which the kept candidates index) is shared by the chunks in
turn. A round is one pass: each chunk is read, resumed from its state with its
candidates (counted before the state was written), the ranked rules applied and committed,
the next round's candidates counted, and its new state written beside
the old one; the old one goes when the coordinator commits the round (the round is
redone from the old states only when a rule that fell below the thresholds had
claimed a merge somewhere, ``_core.settle``; a rule that claimed nothing changed
nothing, so the pass stands). So every round reads
and writes each chunk once, where replaying every level decided so far cost about
``L²`` level passes for ``L`` levels. One last pass folds every chunk's vocabulary
statistics into one running result (``_core.merge_results``) without macro graphs.

Peak memory is one chunk's graphs and mining state, plus the candidate counts of one
round (distinct candidates, which stop growing with the corpus, summed in the core as
they come), plus the shared engine and the vocabulary; never the corpus. The state
files take up to about 35 bytes per operator (partitions and candidates), in the
system's temporary folder (``TMPDIR``). The result equals
:func:`archmotif.mine` on the whole file bit for bit: the same vocabulary (ids,
counts, support, levels, order) and, read back lazily, the same macro graphs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from archmotif import _core
from archmotif.corpus import CorpusReader
from archmotif.graph import OpGraph
from archmotif.mining.params import MiningParams
from archmotif.mining.rounds import CountLists, run_rounds

__all__ = ["LazyMacroGraphs", "StreamedShards", "mine_streamed", "read_chunk"]


def read_chunk(
    reader: CorpusReader,
    names: list[str],
    start: int,
    stop: int,
    check: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Graphs ``start`` to ``stop - 1`` of ``reader`` in the file's layout, ``(ops,
    node_offsets, edges, edge_offsets)``, with op ids into ``names`` (which must hold
    every op name of the file): what ``_core.MiningShard`` takes, straight from the
    file (the core validates the graphs itself, so no OpGraph is built, nor an array
    per graph). ``check(nodes, edges)`` sees the chunk's size first."""
    index = {n: i for i, n in enumerate(names)}
    remap = np.array([index[n] for n in reader.op_names], dtype=np.int32)
    ops, noff, edges, eoff = reader.read_arrays(start, stop)
    if check is not None:
        check(len(ops), edges.shape[1])
    ops = remap[ops] if len(remap) else ops
    return (np.ascontiguousarray(ops, dtype=np.int32), np.ascontiguousarray(noff, dtype=np.int64),
            np.ascontiguousarray(edges, dtype=np.int64),
            np.ascontiguousarray(eoff, dtype=np.int64))  # fmt: skip


class StreamedShards:
    """The chunks ``bounds`` of a corpus file as the shards of the round coordinator,
    each kept on disk between rounds (see the module docstring). Use as a context
    manager: leaving it removes the state files."""

    def __init__(
        self,
        reader: CorpusReader,
        names: list[str],
        bounds: Sequence[tuple[int, int]],
        params: MiningParams,
        threads: int | None,
        check: Callable[[int, int], None] | None = None,
    ) -> None:
        self._reader, self._names, self._bounds = reader, names, list(bounds)
        # The shared engine is a cache of canonical forms and candidate unions; the
        # rules a pass commits into it before the round is settled are never read
        # (the result's engine is built from the settled levels, ``_core.assemble``).
        self._params, self._threads, self._check = params, threads, check
        self._engine = _core.MiningEngine(names)
        self._dir = tempfile.mkdtemp(prefix="archmotif-stream-")
        self._level = 0
        self._states: list[str | None] = [None] * len(self._bounds)  # None: not started
        self._next: list[str] = []  # the states the last apply wrote, one level up
        self._counted: CountLists | None = None  # this level's counts, if a pass made them
        self._next_counted: CountLists | None = None

    def __enter__(self) -> StreamedShards:
        return self

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def _shards(self) -> Iterator[tuple[int, Any]]:
        """Every chunk as a shard resumed at this level, one at a time."""
        for k, (start, stop) in enumerate(self._bounds):
            arrays = read_chunk(self._reader, self._names, start, stop, self._check)
            state = None
            if self._states[k] is not None:
                with open(self._states[k], "rb") as f:  # type: ignore[arg-type]
                    state = f.read()
            shard = _core.MiningShard(arrays, self._names, self._params.pairs(),
                                      threads=self._threads, engine=self._engine,
                                      state=state)  # fmt: skip
            del arrays, state
            yield k, shard

    def _write(self, shard: Any, k: int, level: int) -> str:
        path = os.path.join(self._dir, f"{k}.{level}")
        with open(path, "wb") as f:
            f.write(shard.suspend())
        return path

    def count(self) -> list[CountLists]:
        if self._counted is None:
            total = _core.CountSum()
            for k, shard in self._shards():
                total.add(shard.count())
                self._states[k] = self._write(shard, k, self._level)
            self._counted = total.lists()
        return [self._counted]

    def apply(self, rules: list[int]) -> list[CountLists]:
        applied, counted = _core.CountSum(), _core.CountSum()
        count_next = self._level + 1 < self._params.max_levels
        self._drop(self._next)
        self._next = []
        for k, shard in self._shards():
            shard.prepare()  # this level's counts were taken when it was written
            applied.add(shard.apply(rules))
            shard.commit(rules)  # into a new state file: this level's stays till commit
            if count_next:
                counted.add(shard.count())
            self._next.append(self._write(shard, k, self._level + 1))
        self._next_counted = counted.lists() if count_next else None
        return [applied.lists()]

    def commit(self, rules: list[int]) -> None:
        self._drop([p for p in self._states if p is not None])
        self._states, self._next = list(self._next), []
        self._counted, self._level = self._next_counted, self._level + 1

    def finish(self) -> list[bytes]:
        """Every chunk's vocabulary statistics (no macro graphs), folded into one."""
        self._drop(self._next)
        folded = None
        for _, shard in self._shards():
            result = shard.finish(False)
            folded = result if folded is None else _core.merge_results([folded, result])
        return [] if folded is None else [folded]

    @staticmethod
    def _drop(paths: Sequence[str]) -> None:
        for p in paths:
            os.remove(p)


def mine_streamed(
    reader: CorpusReader,
    names: list[str],
    bounds: list[tuple[int, int]],
    *,
    params: MiningParams,
    threads: int | None,
    progress: Callable[[int, int], None] | None,
    check: Callable[[int, int], None] | None = None,
) -> tuple[Any, dict[str, Any], list[list[int]]]:
    """The round coordinator over the chunks ``bounds`` (``reader.bounds(...)``);
    returns the core (no graphs held), the vocabulary and each level's rules.
    ``check(nodes, edges)`` sees each chunk's size first."""
    with StreamedShards(reader, names, bounds, params, threads, check) as shards:
        levels = run_rounds(shards, params, progress)
        results = shards.finish()
    core, vocab, _ = _core.assemble(results, [], names, levels, params.pairs(), threads)
    return core, vocab, levels


class LazyMacroGraphs(Sequence[Any]):
    """The macro graphs of a streamed corpus, computed a chunk at a time when
    read (the vocabulary applied to the chunk's graphs) and not kept, except
    for the last chunk read."""

    def __init__(self, mined: Any, reader: CorpusReader, bounds: list[tuple[int, int]]) -> None:
        self._mined = mined
        self._reader = reader
        self._bounds = bounds
        self._starts = np.array([a for a, _ in bounds], dtype=np.int64)
        self._cached: tuple[int, list[Any]] | None = None

    def __len__(self) -> int:
        return len(self._reader)

    def _chunk(self, k: int) -> list[Any]:
        if self._cached is None or self._cached[0] != k:
            start, stop = self._bounds[k]
            graphs: list[OpGraph] = self._reader.read(start, stop)
            self._cached = (k, self._mined.apply(graphs, progress=False))
        return self._cached[1]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"indices must be integers or slices, not {type(i).__name__}")
        j = int(i) + (len(self) if i < 0 else 0)
        if not 0 <= j < len(self):
            raise IndexError(f"macro graph index {i} out of range ({len(self)} graphs)")
        k = int(np.searchsorted(self._starts, j, side="right")) - 1
        return self._chunk(k)[j - self._bounds[k][0]]

    def __iter__(self) -> Iterator[Any]:
        for k in range(len(self._bounds)):
            yield from self._chunk(k)

    def __repr__(self) -> str:
        return f"LazyMacroGraphs({len(self)} graphs in {len(self._bounds)} chunks)"
