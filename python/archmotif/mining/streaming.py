"""Mining a corpus file larger than memory: ``archmotif.mine(path, chunk_nodes=N)``.

The file is read a chunk at a time (:meth:`archmotif.corpus.CorpusReader.chunks`)
and no chunk is kept: each round, every chunk is read again, becomes one
``_core.MiningShard``, replays the levels decided so far and counts its
candidate merges; the counts are summed here and ranked in the core
(``_core.rank``) exactly as :mod:`archmotif.mining.distributed` does for shards on
other machines, then a second pass applies the ranked rules. At the end one
more pass folds every chunk's vocabulary statistics into one running result
(``_core.merge_results``) without their macro graphs.

So peak memory is one chunk's graphs and mining state, plus the candidate
counts of one round (distinct candidates, which stop growing with the corpus),
plus the vocabulary; never the corpus. The price is time: round ``r`` replays
``r`` levels on every chunk, about ``L²`` level passes for ``L`` levels instead
of ``L``. The result equals :func:`archmotif.mine` on the whole file bit for bit:
the same vocabulary (ids, counts, support, levels, order) and, read back
lazily, the same macro graphs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from archmotif import _core
from archmotif.corpus import CorpusReader
from archmotif.graph import OpGraph
from archmotif.mining.params import MiningParams

__all__ = ["LazyMacroGraphs", "mine_streamed"]

CountLists = tuple[list[int], list[int], list[int]]


def _add(total: dict[int, list[int]], counts: CountLists) -> None:
    for i, c, s in zip(*counts, strict=True):
        t = total.get(i)
        if t is None:
            total[i] = [c, s]
        else:
            t[0] += c
            t[1] += s


def _rank(total: dict[int, list[int]], params: MiningParams) -> list[int]:
    ids = sorted(total)
    lists = (ids, [total[i][0] for i in ids], [total[i][1] for i in ids])
    return _core.rank([lists], params.pairs())


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
    """The chunked round loop over the chunks ``bounds`` (``reader.bounds(...)``);
    returns the core (no graphs held), the vocabulary and each level's rules.
    ``check(nodes, edges)`` sees each chunk's size first."""
    index = {n: i for i, n in enumerate(names)}
    remap = np.array([index[n] for n in reader.op_names], dtype=np.int32)
    max_levels = params.max_levels
    levels: list[list[int]] = []

    def shards() -> Iterator[Any]:
        """Every chunk as a shard with the levels so far replayed, one at a time."""
        for start, stop in bounds:
            # Straight from the file's arrays: the shard validates the graphs itself
            # (as mine() does), so no OpGraph objects are built on each pass.
            ops, noff, edges, eoff = reader.read_arrays(start, stop)
            if check is not None:
                check(len(ops), edges.shape[1])
            ops = remap[ops] if len(remap) else ops
            arrays = [
                (ops[noff[k] : noff[k + 1]],
                 np.ascontiguousarray(edges[:, eoff[k] : eoff[k + 1]]))
                for k in range(stop - start)
            ]  # fmt: skip
            del ops, edges
            shard = _core.MiningShard(arrays, names, params.pairs(), threads=threads)
            del arrays
            for rules in levels:
                shard.count()
                shard.apply(rules)
                shard.commit(rules)
            yield shard
            del shard

    def counts_now() -> dict[int, list[int]]:
        counted: dict[int, list[int]] = {}
        for shard in shards():
            _add(counted, shard.count())
        return counted

    def fold(folded: bytes | None, shard: Any) -> bytes:
        result = shard.finish(macros=False)
        return result if folded is None else _core.merge_results([folded, result])

    def apply_pass(
        rules: list[int], speculate: bool
    ) -> tuple[dict[int, list[int]], dict[int, list[int]], bytes | None]:
        """Applies ``rules`` to every chunk: the merges kept, counted. With
        ``speculate``, assuming no rule falls below the thresholds (then this round
        is decided), also commits them, counts the next round and folds the
        statistics the result will have if the next round applies nothing."""
        applied: dict[int, list[int]] = {}
        counted: dict[int, list[int]] = {}
        folded = None
        for shard in shards():
            shard.count()
            _add(applied, shard.apply(rules))
            if speculate:
                shard.commit(rules)
                _add(counted, shard.count())
                folded = fold(folded, shard)
        return applied, counted, folded

    # (levels it reflects, every chunk's statistics folded) from the last decided pass
    spec: tuple[int, bytes | None] | None = None
    counted = counts_now() if max_levels else {}
    while len(levels) < max_levels:
        rules = _rank(counted, params)
        if not rules:
            break
        speculate = len(levels) + 1 < max_levels
        while True:  # until no applied rule falls below the thresholds
            applied, counted, folded = apply_pass(rules, speculate)
            keep = _rank(applied, params)
            if len(keep) == len(rules):
                break
            kept = set(keep)
            rules = [r for r in rules if r in kept]
        if not applied:
            break
        levels.append(rules)
        if speculate:
            spec = (len(levels), folded)
        if progress is not None:
            progress(len(levels), max_levels)
    folded = None
    if spec is not None and spec[0] == len(levels):
        folded = spec[1]
    else:
        for shard in shards():
            folded = fold(folded, shard)
    core, vocab, _ = _core.assemble([] if folded is None else [folded], [], names, levels,
                                    params.pairs(), threads)  # fmt: skip
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
