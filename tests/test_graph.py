"""OpGraph: construction, validation errors users see, conversions, policies."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archmotif
from archmotif import GraphError, OpGraph


def test_string_ops_build_a_vocabulary_in_first_appearance_order(diamond):
    assert diamond.op_names == ("input", "conv", "relu", "add")
    assert diamond.ops.dtype == np.int32
    assert diamond.edges.dtype == np.int64
    assert diamond.edges.shape == (2, 4)
    assert (diamond.num_nodes, diamond.num_edges) == (4, 4)
    assert diamond.node_ops() == ["input", "conv", "relu", "add"]


def test_integer_ops_with_and_without_op_names():
    g = OpGraph(np.array([1, 0, 1]), [[0, 1], [1, 2]], op_names=["a", "b"])
    assert g.node_ops() == ["b", "a", "b"]
    h = OpGraph([2, 0], [[0], [1]])
    assert h.op_names == ("0", "1", "2")


def test_repr_names_sizes_and_top_ops(diamond):
    r = repr(diamond)
    assert "name='diamond'" in r and "nodes=4" in r and "edges=4" in r and "conv×1" in r


def test_arrays_are_read_only(diamond):
    with pytest.raises(ValueError):
        diamond.ops[0] = 3
    with pytest.raises(ValueError):
        diamond.edges[0, 0] = 3


# -- the errors named in the acceptance criteria ------------------------------


def test_three_cycle_names_its_nodes():
    with pytest.raises(GraphError, match=r"cycle through nodes 0 -> 1 -> 2 -> 0"):
        OpGraph(["a", "b", "c"], [[0, 1, 2], [1, 2, 0]])


def test_cycle_report_is_a_real_cycle_in_a_larger_graph():
    edges = [[0, 1, 2, 3, 4, 5, 4], [1, 2, 3, 4, 5, 2, 6]]
    with pytest.raises(GraphError) as ei:
        OpGraph(["x"] * 7, edges)
    assert "2 -> 3 -> 4 -> 5 -> 2" in str(ei.value)


def test_edge_to_a_missing_node_names_index_and_endpoints():
    with pytest.raises(GraphError, match=r"edge 1 \(3 -> 10\) refers to a missing node.*5 nodes"):
        OpGraph(["a"] * 5, [[0, 3], [1, 10]])
    # the valid ids as a reader counts them (Rust's "0..5" read as an off-by-one)
    with pytest.raises(GraphError, match=r"has 5 nodes \(ids 0 to 4\)$"):
        OpGraph(["a"] * 5, [[0], [5]])
    with pytest.raises(GraphError, match=r"has 1 nodes \(id 0\)$"):
        OpGraph(["a"], [[0], [1]])


def test_negative_ids_are_rejected():
    with pytest.raises(GraphError, match=r"edge 0 \(-1 -> 2\) has a negative node id"):
        OpGraph(["a"] * 3, [[-1], [2]])
    with pytest.raises(GraphError, match=r"node 1 has a negative op id -4"):
        OpGraph(np.array([0, -4]), None, op_names=["a"])


@pytest.mark.parametrize(
    ("ops", "match"),
    [
        (np.array([0.0, 1.0]), r"ops must be integer op ids or op-name strings, got dtype float64"),
        (np.zeros((2, 2), dtype=np.int32), r"ops must be 1-D .* got shape \(2, 2\)"),
        (np.array([True, False]), r"got dtype bool"),
        (["conv", 3], r"mixes op-name strings"),
    ],
)
def test_ops_of_the_wrong_dtype_or_shape(ops, match):
    with pytest.raises(GraphError, match=match):
        OpGraph(ops, None, op_names=["a", "b"])


def test_edges_of_the_wrong_shape_or_dtype():
    with pytest.raises(GraphError, match=r"shape \[2, E\], got \(3, 2\).*from_edges"):
        OpGraph(["a"] * 4, [[0, 1], [1, 2], [2, 3]])
    with pytest.raises(GraphError, match=r"integer node ids, got dtype float64"):
        OpGraph(["a"] * 2, [[0.0], [1.0]])


def test_op_id_past_op_names():
    with pytest.raises(GraphError, match=r"node 2 has op id 5, past the 2 op names"):
        OpGraph(np.array([0, 1, 5]), None, op_names=["a", "b"])


def test_op_name_missing_from_given_vocabulary():
    with pytest.raises(GraphError, match=r"node 1 has op 'gelu', which is not in op_names"):
        OpGraph(["relu", "gelu"], None, op_names=["relu"])


def test_errors_are_archmotif_errors_and_value_errors():
    with pytest.raises(archmotif.ArchmotifError):
        OpGraph(["a"], [[0], [0]])
    with pytest.raises(ValueError, match=r"edge 0 \(0 -> 0\) is a self loop"):
        OpGraph(["a"], [[0], [0]])


# -- policies -----------------------------------------------------------------


def test_empty_graph_is_valid():
    g = OpGraph([], None, name="empty")
    assert (g.num_nodes, g.num_edges) == (0, 0)
    assert g.edges.shape == (2, 0)
    assert OpGraph.from_json(g.to_json()) == g


def test_duplicate_edges_are_dropped_keeping_the_first():
    g = OpGraph(["x", "y", "mul"], [[0, 1, 0, 0], [2, 2, 2, 1]])
    assert g.edges.tolist() == [[0, 1, 0], [2, 2, 1]]


# -- equality and conversions ----------------------------------------------------


def test_equality_ignores_vocabulary_order_and_edge_order(diamond):
    same = OpGraph(
        np.array([3, 2, 1, 0]),
        [[2, 1, 0, 0], [3, 3, 2, 1]],
        op_names=["add", "relu", "conv", "input", "unused"],
        name="diamond",
        labels={"family": "toy"},
    )
    assert same == diamond
    other = OpGraph(
        ["input", "conv", "relu", "add"],
        [[0, 0, 1], [1, 2, 3]],
        name="diamond",
        labels={"family": "toy"},
    )
    assert other != diamond


def test_networkx_round_trip(diamond):
    nxg = diamond.to_networkx()
    assert nxg.nodes[1]["op"] == "conv"
    assert nx.is_directed_acyclic_graph(nxg)
    back = OpGraph.from_networkx(nxg)
    assert back.node_ops() == diamond.node_ops()
    assert back.edges.tolist() == diamond.edges.tolist()
    assert back.name == "diamond" and back.labels == {"family": "toy"}


def test_from_networkx_with_string_keys_and_errors():
    g = nx.DiGraph()
    g.add_node("x", op="input")
    g.add_node("y", kind="relu")
    g.add_edge("x", "y")
    with pytest.raises(GraphError, match=r"node 'y' has no 'op' attribute"):
        OpGraph.from_networkx(g)
    with pytest.raises(GraphError, match="undirected"):
        OpGraph.from_networkx(nx.Graph())
    h = nx.DiGraph()
    h.add_node("x", op="input")
    h.add_node("y", op="relu")
    h.add_edge("x", "y")
    out = OpGraph.from_networkx(h)
    assert out.node_names == ("x", "y")


def test_json_round_trip_and_schema(diamond):
    d = json.loads(diamond.to_json())
    assert d["format"] == "archmotif.opgraph" and d["version"] == 1
    assert d["edges"] == [[0, 0, 1, 2], [1, 2, 3, 3]]
    assert OpGraph.from_json(diamond.to_json()) == diamond


def test_json_errors_are_format_errors():
    with pytest.raises(archmotif.FormatError, match="not valid JSON"):
        OpGraph.from_json("{nope")
    with pytest.raises(archmotif.FormatError, match="not an archmotif OpGraph"):
        OpGraph.from_json('{"format": "something-else"}')
    with pytest.raises(archmotif.FormatError, match="newer than this archmotif"):
        OpGraph.from_json('{"format": "archmotif.opgraph", "version": 99}')


def test_save_and_load(tmp_path, diamond):
    p = tmp_path / "g.json"
    diamond.save(p)
    assert OpGraph.load(p) == diamond
    (tmp_path / "bad.json").write_bytes(b"\x00\x01")
    with pytest.raises(archmotif.FormatError, match="bad.json"):
        OpGraph.load(tmp_path / "bad.json")


def test_to_pyg_shares_edge_memory(diamond):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch_geometric")
    data = diamond.to_pyg()
    assert data.num_nodes == 4
    assert data.edge_index.dtype == torch.int64
    assert data.edge_index.data_ptr() == diamond.edges.__array_interface__["data"][0]
    assert data.op.tolist() == diamond.ops.tolist()


@st.composite
def dags(draw):
    n = draw(st.integers(0, 12))
    pairs = (
        draw(
            st.lists(
                st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0))), max_size=30
            )
        )
        if n
        else []
    )
    pairs = [(min(a, b), max(a, b)) for a, b in pairs if a != b]  # low -> high: acyclic
    ops = draw(st.lists(st.sampled_from(["conv", "relu", "add", "matmul"]), min_size=n, max_size=n))
    return ops, pairs


@settings(max_examples=200, deadline=None)
@given(dags())
def test_random_dags_round_trip_through_json_and_networkx(spec):
    ops, pairs = spec
    g = OpGraph.from_edges(ops, pairs, name="r")
    assert g.num_edges == len(set(pairs))
    assert OpGraph.from_json(g.to_json()) == g
    back = OpGraph.from_networkx(g.to_networkx())
    assert back.node_ops() == g.node_ops()
    assert sorted(map(tuple, back.edges.T.tolist())) == sorted(set(pairs))


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_adding_a_back_edge_on_a_path_is_reported_as_a_cycle(spec, data):
    ops, pairs = spec
    if not pairs:
        return
    a, b = data.draw(st.sampled_from(pairs))
    with pytest.raises(GraphError, match="cycle"):
        OpGraph.from_edges(ops, [*pairs, (b, a)])
