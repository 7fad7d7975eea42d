"""Streaming corpora: reading a corpus file by range and chunk in bounded memory,
writing one graph at a time, and mining a file a chunk at a time with exactly
the result of loading it all."""

from __future__ import annotations

import itertools
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import archmotif
from archmotif import FormatError, OpGraph
from archmotif.corpus import CorpusWriter, corpus_info, load_corpus, open_corpus, save_corpus
from archmotif.normalize import normalize_many
from archmotif.synthetic import resnet_like, transformer_like


@pytest.fixture(scope="module")
def builtin() -> list[OpGraph]:
    return archmotif.datasets.load("builtin")


@pytest.fixture(scope="module")
def small_corpus(builtin, tmp_path_factory) -> tuple[str, list[OpGraph]]:
    """Every third built-in model: a few families, a few thousand operators."""
    graphs = builtin[::3]
    path = tmp_path_factory.mktemp("stream") / "small.npz"
    save_corpus(graphs, path)
    return str(path), graphs


def test_reader_reads_any_range_like_the_whole_file(small_corpus):
    path, graphs = small_corpus
    whole = load_corpus(path)
    assert whole == graphs
    with open_corpus(path) as r:
        assert len(r) == len(graphs) and r.num_nodes == sum(g.num_nodes for g in graphs)
        assert r[0] == graphs[0] and r[-1] == graphs[-1] and r[3:9] == graphs[3:9]
        assert r[::4] == graphs[::4]
        assert r.read(5, 5) == []
        assert list(r) == graphs
        assert all(g.op_names is r.op_names for g in r[:4])  # one shared vocabulary
        with pytest.raises(IndexError, match="out of range"):
            r[len(graphs)]
        with pytest.raises(IndexError, match="out of range"):
            r.read(2, len(graphs) + 1)


def test_chunks_cover_the_corpus_in_order_within_their_limits(small_corpus):
    path, graphs = small_corpus
    sizes = [g.num_nodes for g in graphs]
    with open_corpus(path) as r:
        for max_graphs, max_nodes in ((1, None), (7, None), (None, 500), (5, 800), (None, 1)):
            bounds = list(r.bounds(max_graphs, max_nodes))
            assert bounds[0][0] == 0 and bounds[-1][1] == len(graphs)
            assert all(b[1] == c[0] for b, c in itertools.pairwise(bounds))
            for a, b in bounds:
                assert b > a
                if max_graphs is not None:
                    assert b - a <= max_graphs
                if max_nodes is not None and b - a > 1:  # a lone graph may be larger
                    assert sum(sizes[a:b]) <= max_nodes
            chunks = list(r.chunks(max_graphs, max_nodes))
            assert [g for c in chunks for g in c] == graphs
        with pytest.raises(ValueError, match="max_nodes must be a positive int"):
            list(r.bounds(None, 0))


def test_reading_a_chunk_costs_the_chunk_not_the_file(tmp_path):
    # 400 graphs of 1,000 operators: about 21 MB of arrays; chunks of 5,000 nodes.
    graphs = [resnet_like(1000) if i % 2 else transformer_like(1000) for i in range(400)]
    path = tmp_path / "big.npz"
    with CorpusWriter(path) as w:
        for i in range(0, len(graphs), 50):
            w.extend(graphs[i : i + 50])
    data = sum(g.ops.nbytes + g.edges.nbytes for g in graphs)
    del graphs
    with open_corpus(path) as r:
        tracemalloc.start()
        try:
            seen = 0
            for chunk in r.chunks(max_nodes=5000):
                seen += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert seen == 400
    assert peak < data / 10, f"peak {peak:,} bytes while reading chunks of a {data:,}-byte corpus"


def test_writer_in_pieces_equals_save_corpus_and_aborts_cleanly(small_corpus, tmp_path):
    _, graphs = small_corpus
    p = tmp_path / "pieces.npz"
    with CorpusWriter(p, meta={"dataset": "toy"}) as w:
        w.add(graphs[0])
        w.extend(graphs[1:10])
        w.extend([])
        w.extend(graphs[10:])
    assert load_corpus(p) == graphs
    assert corpus_info(p)["meta"] == {"dataset": "toy"}
    with pytest.raises(RuntimeError, match="stop"), CorpusWriter(tmp_path / "half.npz") as w:
        w.extend(graphs[:3])
        raise RuntimeError("stop")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["pieces.npz"]  # nothing half-written
    with pytest.raises(TypeError, match="not OpGraph"), CorpusWriter(tmp_path / "bad.npz") as w:
        w.extend(["resnet50"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="closed"):
        w.add(graphs[0])


def test_a_version_1_file_still_reads_by_range_and_chunk():
    """tests/data/corpus-v1.npz: the first 12 graphs of the built-in data as the first
    corpus format wrote them (names, labels and node names in the header)."""
    path = Path(__file__).parent / "data" / "corpus-v1.npz"
    whole = archmotif.load_corpus(path)
    with open_corpus(path) as r:
        assert r.version == 1 and len(r) == 12
        assert r[4:9] == whole[4:9]
        assert [c for chunk in r.chunks(max_nodes=2000) for c in chunk] == whole
    # the same structures the current built-in data holds (stored normalised)
    current = {g.name: g for g in archmotif.datasets.load("builtin")}
    for g in normalize_many(whole):
        assert g.node_ops() == current[g.name].node_ops() and g.node_flops is None
        assert np.array_equal(g.edges, current[g.name].edges)


def test_a_corrupt_record_is_a_format_error_naming_the_graph(small_corpus, tmp_path):
    path, _ = small_corpus
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    at = raw.find(b'{"name":', raw.find(b"records.npy"))
    at = raw.find(b'{"name":', at + 1)  # graph 1's record
    raw[at] = ord("[")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(raw))
    with open_corpus(bad, verify=False) as r:  # with verify, the CRC-32 catches it first
        assert r[0] is not None
        with pytest.raises(FormatError, match="record of graph 1 is not valid JSON"):
            r[1]
    with pytest.raises(FormatError, match="Bad CRC-32"):
        open_corpus(bad)


# -- mining a file a chunk at a time ---------------------------------------------------


def _same_vocabulary(a, b) -> None:
    assert [m.id for m in a] == [m.id for m in b]
    for x, y in zip(a, b, strict=True):
        assert (x.count, x.support, x.level) == (y.count, y.support, y.level)
        assert x.children == y.children


def _same_macros(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.motifs, y.motifs)
        assert np.array_equal(x.node_to_macro, y.node_to_macro)
        assert np.array_equal(x.edges, y.edges)
        assert np.array_equal(x.weights, y.weights)


@pytest.mark.parametrize(
    ("chunks", "params"),
    [({"chunk_graphs": 3}, {}), ({"chunk_nodes": 700}, {}),
     ({"chunk_graphs": 5}, {"min_count": 6, "min_support": 2, "max_levels": 4})],
)  # fmt: skip
def test_streamed_mining_equals_mining_the_loaded_file(small_corpus, chunks, params):
    path, graphs = small_corpus
    whole = archmotif.mine(path, progress=False, **params)
    streamed = archmotif.mine(path, progress=False, **chunks, **params)
    assert streamed.streamed and not whole.streamed
    _same_vocabulary(streamed.vocabulary, whole.vocabulary)
    _same_macros(list(streamed.macro_graphs), whole.macro_graphs)
    assert streamed.macro_graphs[-1].motif_ids == whole.macro_graphs[-1].motif_ids
    assert list(streamed.graphs) == [g.view(streamed.detail) for g in graphs]
    assert streamed.context(3, 0, hops=2) == whole.context(3, 0, hops=2)
    assert "streamed from" in repr(streamed)


def test_streamed_mining_of_an_empty_corpus_and_bad_calls(tmp_path, small_corpus):
    empty = tmp_path / "empty.npz"
    save_corpus([], empty)
    m = archmotif.mine(empty, chunk_graphs=10, progress=False)
    assert len(m.vocabulary) == 0 and len(m.macro_graphs) == 0
    path, graphs = small_corpus
    with pytest.raises(TypeError, match="stream a corpus file"):
        archmotif.mine(graphs, chunk_nodes=100)
    with pytest.raises(ValueError, match="strategy='merge'"):
        archmotif.mine(path, chunk_nodes=100, strategy="nar")
    with pytest.raises(ValueError, match="chunk_nodes must be"):
        archmotif.mine(path, chunk_nodes=0)
    with pytest.raises(archmotif.LimitError):
        archmotif.mine(path, chunk_graphs=5, max_memory=1000, progress=False)
