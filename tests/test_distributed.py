"""Mining on a Dask cluster gives exactly the single-process result."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif import _core, synthetic

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


@pytest.fixture(scope="module")
def corpus() -> list[archmotif.OpGraph]:
    """A few hundred graphs: the built-in real models and synthetic ones."""
    gs = archmotif.datasets.load("builtin")
    gs += [synthetic.resnet_like(n) for n in range(100, 1100, 10)]
    gs += [synthetic.transformer_like(n) for n in range(100, 1100, 10)]
    return gs


def _same(a: archmotif.Mined, b: archmotif.Mined) -> None:
    va, vb = a.vocabulary, b.vocabulary
    assert [m.id for m in va] == [m.id for m in vb]
    assert [(m.count, m.support, m.level, tuple(m.children)) for m in va] == [
        (m.count, m.support, m.level, tuple(m.children)) for m in vb
    ]
    assert [m.ops for m in va] == [m.ops for m in vb]
    for x, y in zip(a.macro_graphs, b.macro_graphs, strict=True):
        for field in ("motifs", "node_to_macro", "edges", "weights"):
            assert np.array_equal(getattr(x, field), getattr(y, field)), field


def test_local_cluster_mines_bit_for_bit_like_one_process(cluster, corpus):
    one = archmotif.mine(corpus, progress=False)
    assert one.vocabulary.num_levels >= 3  # real merging happened
    with distributed.Client(cluster) as client:
        for shards in (None, 7):
            _same(one, archmotif.mine(corpus, client=client, shards=shards, progress=False))


def test_scheduler_address_and_parameters(cluster, corpus):
    kwargs = {"min_count": 3, "min_support": 2, "max_motif_nodes": 16, "max_levels": 4}
    one = archmotif.mine(corpus, progress=False, **kwargs)
    many = archmotif.mine(corpus, client=cluster.scheduler_address, progress=False, **kwargs)
    _same(one, many)
    # The result is a full Mined: apply and context work as after mining here.
    query = corpus[:4]
    for x, y in zip(
        one.apply(query, progress=False), many.apply(query, progress=False), strict=True
    ):
        assert np.array_equal(x.motifs, y.motifs)
    assert many.context(0, 0, hops=1) == one.context(0, 0, hops=1)


def test_corpus_path_and_empty_input(cluster, corpus, tmp_path):
    path = tmp_path / "c.npz"
    archmotif.save_corpus(corpus[:40], path)
    with distributed.Client(cluster) as client:
        _same(archmotif.mine(corpus[:40], progress=False),
              archmotif.mine(path, client=client, progress=False))  # fmt: skip
        empty = archmotif.mine([], client=client, progress=False)
    assert len(empty.vocabulary) == 0 and empty.macro_graphs == []


def test_nar_on_a_cluster_is_refused(cluster, corpus):
    with pytest.raises(ValueError, match="strategy='merge'"):
        archmotif.mine(corpus[:3], strategy="nar", client=cluster.scheduler_address)


def test_shard_results_that_do_not_decode_raise_format_error(corpus):
    from archmotif.mining import _global_ops

    names, arrays = _global_ops(corpus[:2])
    shard = _core.MiningShard(arrays, names, archmotif.MiningParams().pairs())
    shard.count()
    good = shard.finish()
    with pytest.raises(RuntimeError, match="already finished"):
        shard.count()
    for bad in (good[:-3], b"not a shard", good[:8] + b"\x63\x00\x00\x00" + good[12:]):
        with pytest.raises(archmotif.FormatError):
            _core.assemble([bad], arrays, names, [], archmotif.MiningParams().pairs(), 32)
