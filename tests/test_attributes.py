"""Operator attributes on OpGraph: the canonical attribute string, validation, the two
views, and that every conversion carries the attributes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import archmotif
from archmotif import GraphError, InvalidArgument, OpGraph
from archmotif.attributes import attribute_string, group_kind, with_detail


def convs(kernel_a: str, kernel_b: str) -> OpGraph:
    return OpGraph.from_edges(
        ["input", "convolution", "relu", "convolution"],
        [(0, 1), (1, 2), (2, 3)],
        attrs=["", kernel_a, "", kernel_b],
    )


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (dict(kernel=3), "k3"),
        (dict(kernel=(3, 3), stride=(1, 1), dilation=[1, 1]), "k3"),
        (dict(kernel=(1, 7), stride=(1, 2)), "k1x7,s1x2"),
        (dict(kernel=[5, 5], stride=2, dilation=2, groups="depthwise"), "k5,s2,d2,dw"),
        (dict(kernel=4, stride=2, groups="grouped", transposed=True), "k4,s2,gr,t"),
    ],
)
def test_one_spelling_per_operator(kwargs, text):
    kernel = kwargs.pop("kernel")
    assert attribute_string(kernel, **kwargs) == text


def test_group_kind_follows_channels_per_group_not_the_count():
    assert group_kind(1, 64) == "dense"
    assert group_kind(32, 4) == group_kind(64, 4) == "grouped"
    assert group_kind(64, 1) == group_kind(512, 1) == "depthwise"
    assert group_kind(8, None) == "grouped"


@pytest.mark.parametrize(
    "bad", [dict(kernel=0), dict(kernel=(3, "3")), dict(kernel=3, stride=True),
            dict(kernel=3, groups="dense-ish")],
)  # fmt: skip
def test_bad_attribute_values_raise(bad):
    kernel = bad.pop("kernel")
    with pytest.raises(InvalidArgument):
        attribute_string(kernel, **bad)


def test_views_tell_kernels_apart_only_with_attributes():
    a, b = convs("k1", "k3"), convs("k3", "k3")
    assert archmotif.canonical_hash(a, detail="op") == archmotif.canonical_hash(b, detail="op")
    assert archmotif.canonical_hash(a.view("attrs")) != archmotif.canonical_hash(b.view("attrs"))
    assert archmotif.canonical_hash(a) != archmotif.canonical_hash(b)  # the default: attrs
    assert a.view("attrs").node_ops() == ["input", "convolution[k1]", "relu", "convolution[k3]"]


def test_the_plain_view_is_the_graph_and_the_attrs_view_is_idempotent():
    g = convs("k1", "k3,s2")
    assert g.view("op") is g and g.view() is g
    v = g.view("attrs")
    assert v.attrs is None and v.view("attrs") is v
    assert np.array_equal(v.edges, g.edges) and v.name == g.name
    bare = OpGraph(["input", "relu"], [[0], [1]])
    assert bare.view("attrs") is bare
    assert with_detail([g, bare], "attrs") == [v, bare]
    with pytest.raises(InvalidArgument, match="detail"):
        g.view("full")


def test_embedders_take_graphs_and_say_what_to_do_with_a_name():
    # every embedder reads its input through with_detail: one graph is a list of one,
    # and a model name (what the CLI takes) gets a TypeError saying to trace it
    from archmotif.learn.motif_bag import MotifBag

    g = convs("k1", "k3")
    assert with_detail(g, "attrs") == with_detail([g], "attrs")
    bag = MotifBag().fit([g, convs("k3", "k3")])
    assert bag.embed(g).shape[0] == 1
    with pytest.raises(TypeError, match=r"archmotif.trace\('resnet18'\)"):
        bag.embed("resnet18")
    with pytest.raises(TypeError, match=r"graphs\[1\] is int, not an OpGraph"):
        with_detail([g, 3], "op")


def test_plain_ids_do_not_depend_on_attributes():
    with_attrs = convs("k1", "k3")
    without = OpGraph.from_edges(["input", "convolution", "relu", "convolution"],
                                 [(0, 1), (1, 2), (2, 3)])  # fmt: skip
    assert archmotif.canonical_hash(with_attrs, detail="op") == archmotif.canonical_hash(without)


def test_attributes_survive_json_networkx_and_equality(tmp_path):
    g = convs("k1", "k3,dw")
    back = OpGraph.from_json(g.to_json())
    assert back == g and back.node_attrs() == ["", "k1", "", "k3,dw"]
    g.save(tmp_path / "g.json")
    assert OpGraph.load(tmp_path / "g.json") == g
    nx_back = OpGraph.from_networkx(g.to_networkx())
    assert nx_back.node_attrs() == g.node_attrs()
    assert g != convs("k1", "k3")
    # no attributes and all-empty attributes are the same graph
    plain = OpGraph(["input", "relu"], [[0], [1]])
    assert plain == OpGraph(["input", "relu"], [[0], [1]], attrs=["", ""])
    assert "attrs" not in plain.to_dict()


def test_integer_attribute_ids_index_attr_names():
    g = OpGraph(["input", "convolution"], [[0], [1]], attrs=np.array([1, 0]),
                attr_names=["k3", ""])  # fmt: skip
    assert g.node_attrs() == ["", "k3"] and g.attrs.dtype == np.int32
    assert not g.attrs.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(attrs=["k3"]), "1 entries for 2 nodes"),
        (dict(attrs=[0, 2], attr_names=["", "k3"]), "node 1 has attribute id 2"),
        (dict(attrs=[0, 1]), "need attr_names"),
        (dict(attrs=["", "k[3]"]), r"holds '\['"),
        (dict(attrs=["", "k3"], attr_names=[""]), "node 1 has attribute string 'k3'"),
        (dict(attrs=[0, 0], attr_names=["", ""]), "more than once"),
        (dict(attr_names=["k3"]), "without attrs"),
        (dict(attrs="k3"), "per node, not one str"),
        (dict(attrs=["", "\ud800"]), "not valid Unicode"),
    ],
)
def test_bad_attributes_raise_graph_errors(kwargs, match):
    with pytest.raises(GraphError, match=match):
        OpGraph(["input", "convolution"], [[0], [1]], **kwargs)


def test_json_with_broken_attributes_is_refused():
    d = convs("k1", "k3").to_dict()
    d["attrs"] = [0, 0, 0, 9]
    with pytest.raises(GraphError, match="node 3"):
        OpGraph.from_json(json.dumps(d))


def test_plain_motif_ids_are_those_of_graphs_without_attributes():
    from archmotif.datasets import darts

    graphs = darts.generate(num_genotypes=3, depths=(5,))
    assert all(g.attrs is not None for g in graphs)
    stripped = [OpGraph(g.ops, g.edges, op_names=g.op_names, name=g.name) for g in graphs]
    with_attrs = archmotif.mine(graphs, detail="op", progress=False)
    assert with_attrs.vocabulary.ids == archmotif.mine(stripped, progress=False).vocabulary.ids
    assert with_attrs.vocabulary.ids != archmotif.mine(graphs, progress=False).vocabulary.ids


def test_every_entry_point_takes_graphs_at_the_one_default_level():
    import inspect

    from archmotif.attributes import DEFAULT_DETAIL
    from archmotif.cli import _parser
    from archmotif.retrieval.index import Index

    for f in (archmotif.mine, archmotif.canonical_hash, archmotif.contract):
        assert inspect.signature(f).parameters["detail"].default == DEFAULT_DETAIL, f
    assert Index(np.eye(2, dtype=np.float32)).detail == DEFAULT_DETAIL
    for argv in (["mine", "builtin"], ["info", "builtin"], ["view", "builtin"],
                 ["index", "build", "builtin", "-o", "i.npz"]):  # fmt: skip
        assert _parser().parse_args(argv).detail == DEFAULT_DETAIL, argv
    # and the default does what it says: a graph with attributes is mined with them
    a, b = convs("k1", "k3"), convs("k3", "k3")
    assert archmotif.canonical_hash(a) == archmotif.canonical_hash(a, detail=DEFAULT_DETAIL)
    assert archmotif.mine([a, b], progress=False).detail == DEFAULT_DETAIL


def test_every_embedder_takes_graphs_at_the_one_default_level():
    pytest.importorskip("torch_geometric")
    from archmotif.attributes import DEFAULT_DETAIL
    from archmotif.learn.encoder import Encoder
    from archmotif.learn.gin_regressor import GINRegressor
    from archmotif.learn.gnn import GNNBaseline
    from archmotif.learn.motif_bag import MotifBag
    from archmotif.learn.nar import NARBaseline
    from archmotif.learn.predictor import Predictor
    from archmotif.learn.wl import WLBaseline

    for cls in (Encoder, GNNBaseline, NARBaseline, WLBaseline, MotifBag, GINRegressor):
        assert cls().detail == DEFAULT_DETAIL, cls
    assert Predictor().encoder.detail == DEFAULT_DETAIL
