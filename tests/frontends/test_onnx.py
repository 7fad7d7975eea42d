"""from_onnx on hand-built ONNX models (no torch, no weights)."""

from __future__ import annotations

import pytest

import archmotif

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _model(nodes, inputs=("x",), initializers=()):
    graph = helper.make_graph(
        nodes,
        "toy",
        [helper.make_tensor_value_info(i, TensorProto.FLOAT, [1, 3]) for i in inputs],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, [1, 3])],
        initializer=[
            helper.make_tensor(n, TensorProto.FLOAT, [3], [0.0, 0.0, 0.0]) for n in initializers
        ],
    )
    return helper.make_model(graph)


def test_residual_block_becomes_a_dag(tmp_path):
    m = _model(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
            helper.make_node("Relu", ["c"], ["r"], name="relu"),
            helper.make_node("Add", ["r", "x"], ["y"], name="add"),
        ],
        inputs=("x", "w"),
        initializers=("w",),
    )
    p = tmp_path / "block.onnx"
    onnx.save(m, p)
    g = archmotif.from_onnx(p, normalize=False)
    assert g.name == "block"
    assert g.node_ops() == ["input", "Conv", "Relu", "Add"]  # the weight is not a node
    assert sorted(map(tuple, g.edges.T.tolist())) == [(0, 1), (0, 3), (1, 2), (2, 3)]
    assert g.node_names == ("x", "conv", "relu", "add")


def test_unsorted_nodes_and_custom_domains():
    m = _model(
        [
            helper.make_node("Relu", ["c"], ["y"], name="relu"),
            helper.make_node("FusedConv", ["x"], ["c"], name="fc", domain="com.microsoft"),
        ]
    )
    g = archmotif.from_onnx(m, normalize=False)
    assert g.node_ops() == ["input", "Relu", "com.microsoft.FusedConv"]
    assert sorted(map(tuple, g.edges.T.tolist())) == [(0, 2), (2, 1)]


def test_corrupt_file_is_a_format_error(tmp_path):
    p = tmp_path / "broken.onnx"
    p.write_bytes(b"\x08\x07garbage\xff\xff")
    with pytest.raises(archmotif.FormatError, match="broken.onnx"):
        archmotif.from_onnx(p)


def test_cyclic_onnx_graph_is_a_graph_error():
    m = _model(
        [
            helper.make_node("Relu", ["b"], ["a"], name="r1"),
            helper.make_node("Relu", ["a"], ["b"], name="r2"),
        ]
    )
    with pytest.raises(archmotif.GraphError, match="cycle"):
        archmotif.from_onnx(m)
