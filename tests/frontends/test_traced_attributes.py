"""trace and from_onnx record operator attributes: one spelling per operator, whichever
frontend or argument form wrote it, ONNX defaults applied."""

from __future__ import annotations

import pytest

import archmotif

torch = pytest.importorskip("torch")
nn = torch.nn


def attrs_of(model: nn.Module, shape=(1, 8, 32, 32)) -> list[str]:
    g = archmotif.trace(model, torch.zeros(*shape))
    return [a for op, a in zip(g.node_ops(), g.node_attrs(), strict=True) if op != "input"]


def test_convolutions_keep_kernel_stride_dilation_and_grouping():
    model = nn.Sequential(
        nn.Conv2d(8, 8, 3, 2, 1, groups=8),  # depthwise
        nn.Conv2d(8, 16, 3, padding=1, groups=8),  # depthwise with a channel multiplier
        nn.Conv2d(16, 16, (1, 7), padding=(0, 3), groups=4),  # grouped
        nn.Conv2d(16, 16, 3, padding=2, dilation=2),
        nn.Conv2d(16, 16, 1, dilation=3),  # a 1x1 kernel has no dilation
        nn.ConvTranspose2d(16, 16, 4, 2, 1),
    )
    assert attrs_of(model) == ["k3,s2,dw", "k3,dw", "k1x7,gr", "k3,d2", "k1", "k4,s2,t"]


def test_pools_keep_their_window_and_default_stride_is_the_kernel():
    model = nn.Sequential(
        nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(2), nn.MaxPool2d(3, 1, 1), nn.AdaptiveAvgPool2d(1)
    )
    assert attrs_of(model) == ["k3,s2", "k2,s2", "k3", ""]


def test_widths_do_not_change_the_attributes():
    narrow = nn.Sequential(nn.Conv2d(8, 8, 3, groups=8), nn.Conv2d(8, 16, 1), nn.Linear(30, 5))
    wide = nn.Sequential(nn.Conv2d(8, 8, 3, groups=8), nn.Conv2d(8, 64, 1), nn.Linear(30, 50))
    assert attrs_of(narrow) == attrs_of(wide) == ["k3,dw", "k1", ""]


def test_one_dimensional_ops_and_the_functional_forms():
    class F(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(4, 4, 5))

        def forward(self, x):
            y = nn.functional.conv1d(x, self.w, stride=2, padding=2)
            return nn.functional.max_pool1d(y, 2)

    assert attrs_of(F(), (1, 4, 32)) == ["k5,s2", "k2,s2"]


def test_resnext_and_resnet_differ_only_with_attributes():
    pytest.importorskip("torchvision")
    a, b = archmotif.trace("resnet50"), archmotif.trace("resnext50_32x4d")
    assert archmotif.canonical_hash(a, detail="op") == archmotif.canonical_hash(b, detail="op")
    assert archmotif.canonical_hash(a) != archmotif.canonical_hash(b)  # the default: attrs
    assert b.view("attrs").op_counts()["convolution[k3,gr]"] == 13


onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _onnx(nodes, weights, x_shape=(1, 4, 16, 16)):
    graph = helper.make_graph(
        nodes, "toy", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        initializer=[helper.make_tensor(n, TensorProto.FLOAT, s, [0.0] * _size(s))
                     for n, s in weights.items()],
    )  # fmt: skip
    return archmotif.from_onnx(helper.make_model(graph))


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def test_onnx_attributes_with_onnx_defaults():
    g = _onnx(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], group=4, strides=[2, 2], pads=[1] * 4),
            helper.make_node("Conv", ["c", "w1"], ["d"], dilations=[2, 2]),  # kernel from w1
            helper.make_node("MaxPool", ["d"], ["p"], kernel_shape=[3, 3], strides=[2, 2]),
            helper.make_node("AveragePool", ["p"], ["q"], kernel_shape=[2, 2]),  # stride 1
            helper.make_node(
                "ConvTranspose", ["q", "w2"], ["y"], kernel_shape=[4, 4], strides=[2, 2], group=2
            ),
        ],
        {"w": [4, 1, 3, 3], "w1": [4, 4, 1, 1], "w2": [4, 2, 4, 4]},
    )
    assert g.node_attrs() == ["", "k3,s2,dw", "k1", "k3,s2", "k2", "k4,s2,gr,t"]


def test_onnx_grouping_read_from_the_input_when_the_weight_is_not_in_the_file():
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], group=4)
    graph = helper.make_graph(
        [node], "toy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    g = archmotif.from_onnx(helper.make_model(graph))
    assert g.node_attrs()[-1] == "k3,dw"


def test_an_unreadable_onnx_attribute_gives_no_attributes_not_an_error():
    g = _onnx([helper.make_node("MaxPool", ["x"], ["y"])], {})  # kernel_shape missing
    assert g.node_ops() == ["input", "max_pool"] and g.node_attrs() == ["", ""]


def test_a_size_preserving_pool_reads_as_the_adaptive_pool_it_was_exported_from():
    """``AdaptiveAvgPool2d((7, 7))`` of a 7x7 input (VGG, AlexNet at 224x224) exports as
    a 1x1 ``AveragePool`` at stride 1: it must read as the traced adaptive pool, with no
    attributes, or the ONNX twin of a VGG is a different graph."""
    g = _onnx(
        [
            helper.make_node("AveragePool", ["x"], ["p"], kernel_shape=[1, 1]),
            helper.make_node("MaxPool", ["p"], ["q"], kernel_shape=[1, 1], strides=[2, 2]),
        ],
        {},
    )
    assert g.node_attrs() == ["", "", "k1,s2"]
    traced = attrs_of(nn.Sequential(nn.AdaptiveAvgPool2d(7), nn.AvgPool2d(1, 1)), (1, 8, 7, 7))
    assert traced == ["", ""]
