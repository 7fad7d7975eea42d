"""archmotif.learn.data: canonical renumbering, subgraphs, op vocabulary, PyG conversion
and the packed corpus an encoder file carries."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

import archmotif
from archmotif.datasets import load
from archmotif.learn.data import (
    OpVocabulary,
    canonical_order,
    induced_subgraph,
    macro_data,
    op_data,
    pack_graphs,
    unpack_graphs,
)


@pytest.fixture(scope="module")
def builtin_contractions(permute):
    graphs = load("builtin")
    canon = [canonical_order(g) for g in graphs]
    mined = archmotif.mine(canon, progress=False)
    shuffled = mined.apply([canonical_order(permute(g, 7)) for g in graphs], progress=False)
    same = {
        g.name: Counter(a.motifs.tolist()) == Counter(b.motifs.tolist())
        and sorted(a.weights.tolist()) == sorted(b.weights.tolist())
        for g, a, b in zip(graphs, mined.macro_graphs, shuffled, strict=True)
    }
    return same


def test_canonical_order_is_an_isomorphic_topological_renumbering(toy):
    for g in toy:
        c = canonical_order(g)
        assert c.num_nodes == g.num_nodes and c.num_edges == g.num_edges
        assert (c.edges[0] < c.edges[1]).all()  # topological
        assert archmotif.canonical_hash(c) == archmotif.canonical_hash(g)
        assert c.labels == g.labels and c.name == g.name


def test_canonical_order_ignores_input_numbering(toy, permute):
    for g in toy:
        a, b = canonical_order(g), canonical_order(permute(g, 3))
        assert a.node_ops() == b.node_ops()
        np.testing.assert_array_equal(a.edges, b.edges)


def test_builtin_contraction_does_not_depend_on_numbering(builtin_contractions):
    # T5's relative-position buckets start from `arange` roots that only 12-24 rounds of
    # refinement tell apart (a fixed 6 rounds left their order to the input numbering)
    assert [n for n, ok in builtin_contractions.items() if not ok] == []
    assert "t5@num_layers=6,num_decoder_layers=6" in builtin_contractions


def test_canonical_order_of_every_builtin_graph_ignores_numbering(permute):
    # the core's order individualises what refinement leaves: parallel identical heads
    # and branches come out in one relative order whatever the numbering
    for g in load("builtin"):
        a, b = canonical_order(g), canonical_order(permute(g, 5))
        assert a.node_ops() == b.node_ops(), g.name
        np.testing.assert_array_equal(a.edges, b.edges, err_msg=g.name)


def test_induced_subgraph_keeps_inner_edges_only(diamond):
    sub = induced_subgraph(diamond, np.array([0, 1, 3]))
    assert sub.node_ops() == ["input", "conv", "add"]
    assert sorted(map(tuple, sub.edges.T.tolist())) == [(0, 1), (1, 2)]


def test_op_vocabulary_maps_unknown_ops_to_zero(diamond):
    vocab = OpVocabulary(["conv", "input"])
    assert len(vocab) == 3
    assert vocab.encode(diamond).tolist() == [2, 1, 0, 0]
    d = op_data(diamond, vocab, y=4)
    assert d.num_nodes == 4 and d.edge_index.shape == (2, 4) and d.y.tolist() == [4]


def test_macro_data_maps_motifs_into_another_table(toy):
    mined = archmotif.mine(toy[:2], progress=False)
    mg = mined.macro_graphs[0]
    d = macro_data(mg)
    assert d.x.tolist() == mg.motifs.tolist() and d.num_nodes == mg.num_nodes
    shifted = macro_data(mg, motif_index=np.arange(len(mined.vocabulary)) + 5)
    assert torch.equal(shifted.x, d.x + 5)
    assert torch.equal(d.edge_weight, torch.from_numpy(mg.weights).float())


def test_pack_unpack_round_trip_and_malformed(toy):
    packed = pack_graphs(toy)
    back = unpack_graphs(packed, source="x.pt")
    assert [g.name for g in back] == [g.name for g in toy]
    for a, b in zip(toy, back, strict=True):
        assert a.node_ops() == b.node_ops()
        np.testing.assert_array_equal(a.edges, b.edges)
    with pytest.raises(archmotif.FormatError, match="x.pt"):
        unpack_graphs({**packed, "meta": "{}"}, source="x.pt")


def _padded(g: archmotif.OpGraph) -> archmotif.OpGraph:
    """``g`` with names no node uses in its op table, before and after its own (every
    op id moves), as a table shared by many graphs has them."""
    extra = ("aaa_unused", "conv_unused")
    return archmotif.OpGraph(g.ops + len(extra), g.edges, op_names=extra + g.op_names + ("zzz",),
                             name=g.name, labels=g.labels)  # fmt: skip


def test_op_vocabulary_holds_only_the_ops_nodes_use(toy, small):
    from archmotif.learn.encoder import Encoder

    compact = [archmotif.OpGraph.from_edges(g.node_ops(), g.edges.T.tolist(), name=g.name,
                                            labels=g.labels) for g in toy]  # fmt: skip
    assert all(len(g.op_names) == len(set(g.ops.tolist())) for g in compact)
    padded = [_padded(g) for g in compact]
    vocab = OpVocabulary.from_graphs(compact)
    assert OpVocabulary.from_graphs(padded).names == vocab.names
    assert vocab.names == sorted({op for g in toy for op in g.node_ops()})
    assert len(OpVocabulary.from_graphs(padded)) == len(vocab)
    # so the model is the same size, drawn from the same seed: the same embeddings
    a = Encoder(**small).fit(compact, seed=0).embed(compact)
    b = Encoder(**small).fit(padded, seed=0).embed(padded)
    np.testing.assert_array_equal(a, b)
