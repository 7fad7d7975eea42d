"""``Mined.save`` / ``archmotif.load_mined``: a loaded result is the saved one (vocabulary,
macro graphs, graphs, contexts, ``apply``, parameters) for every mining mode, and a file
that is not one raises ``FormatError``."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif import FormatError, MiningParams, OpGraph


def _corpus(n: int = 12, start: int = 0) -> list[OpGraph]:
    gs = list(archmotif.datasets.load("builtin")[start : start + n])
    # names, labels, node names and FLOPs are kept too
    g = gs[0]
    gs[0] = OpGraph(g.ops, g.edges, op_names=g.op_names, name="first", labels={"family": "x"},
                    node_names=[f"n{i}" for i in range(g.num_nodes)],
                    node_flops=np.arange(g.num_nodes, dtype=np.float64))  # fmt: skip
    return gs


def _same_vocabulary(a: archmotif.MotifVocabulary, b: archmotif.MotifVocabulary) -> None:
    assert a.ids == b.ids
    for m, n in zip(a, b, strict=True):
        assert (m.ops, m.level, m.children, m.count, m.support) == (
            n.ops, n.level, n.children, n.count, n.support,
        )  # fmt: skip
        assert np.array_equal(m.edges, n.edges)


def _same_macros(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for f in ("motifs", "node_to_macro", "edges", "weights"):
            assert np.array_equal(getattr(x, f), getattr(y, f)), f


@pytest.mark.parametrize("strategy", ["merge", "nar"])
def test_a_loaded_mined_is_the_saved_one(tmp_path, strategy):
    gs = _corpus()
    mined = archmotif.mine(gs, strategy=strategy, min_count=3, max_levels=5, progress=False)
    path = tmp_path / "m.mined"
    mined.save(path)
    loaded = archmotif.load_mined(path)
    assert (loaded.strategy, loaded.params) == (strategy, MiningParams(min_count=3, max_levels=5))
    _same_vocabulary(mined.vocabulary, loaded.vocabulary)
    _same_macros(mined.macro_graphs, loaded.macro_graphs)
    assert list(loaded.graphs) == list(mined.graphs)
    assert loaded.graphs[0].node_names == gs[0].node_names
    assert np.array_equal(loaded.graphs[0].node_flops, gs[0].node_flops)
    for gi in (0, 5):
        for node in range(min(3, mined.macro_graphs[gi].num_nodes)):
            assert loaded.context(gi, node, hops=2) == mined.context(gi, node, hops=2)
    new = _corpus(5, start=30)
    _same_macros(mined.apply(new, progress=False), loaded.apply(new, progress=False))
    # equal results encode to equal bytes
    assert loaded.to_bytes() == mined.to_bytes()


def test_the_view_of_a_loaded_mined_is_the_saved_ones(tmp_path):
    from archmotif.viz import view

    mined = archmotif.mine(_corpus(), progress=False)
    mined.save(tmp_path / "m.mined")
    loaded = archmotif.load_mined(tmp_path / "m.mined")
    a = view(mined, tmp_path / "a.html", index=2, open_browser=False)
    b = view(loaded, tmp_path / "b.html", index=2, open_browser=False)
    assert a.read_bytes() == b.read_bytes()


def test_a_vocabulary_only_file_applies_like_the_original(tmp_path):
    mined = archmotif.mine(_corpus(), progress=False)
    mined.save(tmp_path / "v.mined", graphs=False)
    loaded = archmotif.Mined.load(tmp_path / "v.mined")
    assert len(loaded.graphs) == 0 and len(loaded.macro_graphs) == 0
    assert (tmp_path / "v.mined").stat().st_size < len(mined.to_bytes())
    _same_vocabulary(mined.vocabulary, loaded.vocabulary)
    again = loaded.apply(mined.graphs, progress=False)
    _same_macros(mined.apply(mined.graphs, progress=False), again)
    _same_macros(mined.macro_graphs, again)


def test_a_streamed_mined_saves_its_corpus_path_not_its_graphs(tmp_path):
    corpus = tmp_path / "c.npz"
    archmotif.save_corpus(_corpus(20), corpus)
    mined = archmotif.mine(corpus, chunk_graphs=6, progress=False)
    mined.save(tmp_path / "s.mined")
    loaded = archmotif.load_mined(tmp_path / "s.mined")
    assert loaded.streamed
    _same_vocabulary(mined.vocabulary, loaded.vocabulary)
    _same_macros(list(mined.macro_graphs), list(loaded.macro_graphs))
    assert loaded.context(7, 0) == mined.context(7, 0)
    archmotif.save_corpus(_corpus(3), corpus)  # another corpus at the same path
    with pytest.raises(FormatError, match="not the one this result was mined from"):
        archmotif.load_mined(tmp_path / "s.mined")


def test_files_that_are_not_a_saved_mined_raise_format_error(tmp_path):
    mined = archmotif.mine(_corpus(4), progress=False)
    good = mined.to_bytes()
    cases = {
        "flip": good[:100] + bytes([good[100] ^ 1]) + good[101:],
        "cut": good[:-1],
        "extra": good + b"\0",
        "foreign": b"PK\x03\x04" + good[4:],
        "newer": good[:8] + (7).to_bytes(4, "little") + good[12:],
        "empty": b"",
    }
    for name, data in cases.items():
        p = tmp_path / f"{name}.mined"
        p.write_bytes(data)
        with pytest.raises(FormatError, match=str(p)):
            archmotif.load_mined(p)
    with pytest.raises(FormatError, match="newer than this archmotif reads"):
        archmotif.load_mined(tmp_path / "newer.mined")


def test_mining_params_are_one_checked_frozen_object():
    p = MiningParams(min_count=3)
    assert p.pairs() == [("min_count", 3), ("min_support", 1), ("max_motif_nodes", 32),
                         ("max_levels", 8)]  # fmt: skip
    with pytest.raises(AttributeError):
        p.min_count = 4  # type: ignore[misc]
    with pytest.raises(archmotif.InvalidArgument, match="max_motif_nodes"):
        MiningParams(max_motif_nodes=1)
    with pytest.raises(archmotif.InvalidArgument, match="unknown mining parameter.*min_cont"):
        archmotif.mine([], min_cont=3)
    gs = _corpus(6)
    a = archmotif.mine(gs, params=p, progress=False)
    b = archmotif.mine(gs, min_count=3, progress=False)
    assert a.params == b.params == p and a.vocabulary.ids == b.vocabulary.ids
    assert archmotif.mine(gs, params=p, max_levels=2, progress=False).params.max_levels == 2


def test_a_mined_at_attrs_detail_loads_at_that_detail(tmp_path):
    gs = _corpus(8)
    for k in (0, 1):  # kernel sizes on the convolutions of two graphs
        g = gs[k]
        attrs = [("k3" if i % 2 else "k1") if op == "convolution" else ""
                 for i, op in enumerate(g.node_ops())]  # fmt: skip
        gs[k] = OpGraph(g.ops, g.edges, op_names=g.op_names, name=g.name, labels=g.labels,
                        node_names=g.node_names, node_flops=g.node_flops, attrs=attrs)  # fmt: skip
    mined = archmotif.mine(gs, detail="attrs", progress=False)
    plain = archmotif.mine(gs, detail="op", progress=False)
    mined.save(tmp_path / "a.mined")
    plain.save(tmp_path / "p.mined")
    loaded = archmotif.load_mined(tmp_path / "a.mined")
    assert mined.vocabulary.ids != plain.vocabulary.ids  # the detail matters here
    assert loaded.detail == "attrs" and archmotif.load_mined(tmp_path / "p.mined").detail == "op"
    _same_vocabulary(mined.vocabulary, loaded.vocabulary)
    new = _corpus(3, start=40)  # plain graphs: apply views them at the mined detail
    _same_macros(mined.apply(new, progress=False), loaded.apply(new, progress=False))
    # the plain graphs keep their attributes through the file
    back = archmotif.load_mined(tmp_path / "p.mined").graphs
    assert back[0].attrs is not None and list(back) == list(plain.graphs)
    assert [g.node_attrs() for g in back] == [g.node_attrs() for g in plain.graphs]
