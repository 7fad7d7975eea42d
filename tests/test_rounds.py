"""The round coordinator: any split of a corpus into shards, driven by
``run_rounds``, mines exactly like the core in one piece; streamed chunks are
resumed from disk each round, never replayed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import archmotif
from archmotif import MiningParams, _core
from archmotif.attributes import DEFAULT_DETAIL, with_detail
from archmotif.mining import rounds, streaming
from archmotif.mining.inputs import global_ops
from archmotif.mining.motifs import MotifVocabulary


@pytest.fixture(scope="module")
def corpus() -> list[archmotif.OpGraph]:
    # at the level mine() takes them by default (the shards below are given them as is)
    return with_detail(archmotif.datasets.load("builtin")[:40], DEFAULT_DETAIL)


@pytest.mark.parametrize("cuts", [[], [1], [7, 8, 30], list(range(1, 40))])
def test_any_split_into_local_shards_mines_like_one_piece(corpus, cuts):
    params = MiningParams(min_count=3, max_levels=6)
    names, arrays = global_ops(corpus)
    whole = archmotif.mine(corpus, params=params, progress=False)
    ends = [0, *cuts, len(corpus)]
    shards = rounds.LocalShards(arrays, names, list(itertools.pairwise(ends)), params)
    levels = rounds.run_rounds(shards, params)
    _, vocab, macros = _core.assemble(shards.finish(), arrays, names, levels, params.pairs())
    v = MotifVocabulary._from_core(vocab, names)
    assert v.ids == whole.vocabulary.ids
    assert [(m.count, m.support, m.level) for m in v] == [
        (m.count, m.support, m.level) for m in whole.vocabulary
    ]
    for (motifs, n2m, edges, weights), mg in zip(macros, whole.macro_graphs, strict=True):
        assert np.array_equal(motifs, mg.motifs) and np.array_equal(n2m, mg.node_to_macro)
        assert np.array_equal(edges, mg.edges) and np.array_equal(weights, mg.weights)


class _Counting:
    """``_core`` with every shard's ``apply`` calls counted, shard by shard."""

    def __init__(self) -> None:
        self.applies: list[int] = []

    def __getattr__(self, name: str) -> object:
        return getattr(_core, name)

    def MiningShard(self, *a: object, **k: object) -> object:
        shard, outer, me = _core.MiningShard(*a, **k), self, len(self.applies)
        self.applies.append(0)

        class Counted:
            def apply(self, rules: list[int]) -> object:
                outer.applies[me] += 1
                return shard.apply(rules)

            def __getattr__(self, name: str) -> object:
                return getattr(shard, name)

        return Counted()


def test_streamed_rounds_apply_each_chunk_once_per_round(corpus, tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    archmotif.save_corpus(corpus, path)
    counting = _Counting()
    monkeypatch.setattr(streaming, "_core", counting)
    mined = archmotif.mine(path, chunk_graphs=5, progress=False)
    assert mined.vocabulary.num_levels >= 4
    # every shard (a chunk in one pass) applies one round's rules; a replay would apply
    # every level decided so far first
    assert max(counting.applies) == 1 and sum(counting.applies) >= 4 * 8
    whole = archmotif.mine(corpus, progress=False)
    assert mined.vocabulary.ids == whole.vocabulary.ids


def test_state_files_are_removed(corpus, tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    archmotif.save_corpus(corpus[:10], path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    monkeypatch.setattr(streaming.tempfile, "tempdir", None)
    archmotif.mine(path, chunk_graphs=3, progress=False)
    assert list((tmp_path / "t").iterdir()) == []


class _Passes:
    """Local shards whose ``apply`` passes (over every shard) are counted."""

    def __init__(self, shards: rounds.LocalShards) -> None:
        self.shards, self.passes = shards, 0

    def count(self) -> list[rounds.CountLists]:
        return self.shards.count()

    def apply(self, rules: list[int]) -> list[rounds.CountLists]:
        self.passes += 1
        return self.shards.apply(rules)

    def commit(self, rules: list[int]) -> None:
        self.shards.commit(rules)

    def finish(self) -> list[bytes]:
        return self.shards.finish()


def _reapplying(shards: _Passes, params: MiningParams) -> list[list[int]]:
    """The round loop before ``_core.settle``: apply the rules that stay again until
    none goes (the oracle)."""
    levels: list[list[int]] = []
    for _ in range(params.max_levels):
        rules = rounds.rank(shards.count(), params)
        while True:
            applied = shards.apply(rules)
            keep = rounds.rank(applied, params)
            if len(keep) == len(rules):
                break
            rules = [r for r in rules if r in set(keep)]
        if not rules:
            break
        shards.commit(rules)
        levels.append(rules)
    return levels


@pytest.mark.parametrize(
    "params",
    [MiningParams(), MiningParams(min_count=3, max_levels=6), MiningParams(min_support=3)],
)
def test_rounds_are_applied_again_only_when_a_rule_that_goes_claimed_a_merge(corpus, params):
    names, arrays = global_ops(corpus)
    bounds = list(itertools.pairwise([0, 7, 8, 30, len(corpus)]))
    settled = _Passes(rounds.LocalShards(arrays, names, bounds, params))
    oracle = _Passes(rounds.LocalShards(arrays, names, bounds, params))
    levels = rounds.run_rounds(settled, params)
    assert levels == _reapplying(oracle, params)
    assert settled.finish() == oracle.finish()  # every shard's encoded result, byte for byte
    assert len(levels) <= settled.passes <= oracle.passes
    if params == MiningParams():  # here a round's rules that go claimed nothing: it stands
        assert settled.passes < oracle.passes


def test_a_state_resumed_on_other_graphs_of_the_same_sizes_is_a_format_error(corpus):
    params = MiningParams()
    names, arrays = global_ops(corpus[:3])
    engine = _core.MiningEngine(names)  # the kept candidates index its unions
    shard = _core.MiningShard(arrays, names, params.pairs(), engine=engine)
    counts = shard.count()
    state = shard.suspend()
    back = _core.MiningShard(arrays, names, params.pairs(), engine=engine, state=state)
    assert back.count() == counts
    back.suspend()
    ops, edges = arrays[1]
    moved = edges.copy()
    moved[1, 0] = next(v for v in range(len(ops)) if v not in (moved[0, 0], moved[1, 0]))
    other = [arrays[0], (ops, moved), arrays[2]]
    with pytest.raises(archmotif.FormatError, match="corpus changed"):
        _core.MiningShard(other, names, params.pairs(), engine=engine, state=state)
