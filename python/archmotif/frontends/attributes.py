"""Operator attributes read off traced and ONNX nodes (:mod:`archmotif.attributes` says
which are kept and why; :func:`~archmotif.attributes.attribute_string` spells them).

- **torch.export**: a node's arguments are bound to its ATen schema by name, with the
  schema's defaults (``stride=[]`` of a pool means the kernel size, as ATen reads it).
  Convolutions (``aten.convolution``, ``conv1d/2d/3d``, ``conv_transpose1d/2d/3d``,
  ``_convolution``, ``cudnn_convolution``) give kernel (from the weight's shape),
  stride, dilation, grouping (dense, grouped, depthwise: one input channel per group,
  read from the weight) and transposition; windowed pools (``max_pool*``,
  ``max_pool*_with_indices``, ``avg_pool*``) kernel, stride and dilation.
- **ONNX**: ``Conv``, ``ConvTranspose``, ``MaxPool`` and ``AveragePool`` of the default
  domain, their attributes with ONNX's defaults (strides and dilations 1, group 1,
  ``kernel_shape`` from the weight when absent); the reader's tensor shapes (its one
  shape inference, which the FLOPs use too) give a grouped convolution its channel
  count and a kernel that is not written.

Ops are recognised by their ATen or ONNX name, not by archmotif's normalised op name,
so the two stay independent. A node whose attributes cannot be read (a symbolic
weight shape, an unusual argument) gets none (``""``) rather than a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from archmotif.attributes import attribute_string, group_kind

__all__ = ["onnx_attributes", "torch_attributes"]

_log = logging.getLogger("archmotif.trace")

_TORCH_CONVS = {
    "convolution", "_convolution", "cudnn_convolution", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
}  # fmt: skip
_TORCH_POOLS = {
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
    "avg_pool3d",
}  # fmt: skip


def _bound(node: Any) -> dict[str, Any]:
    """The node's arguments by schema name, defaults filled in."""
    out: dict[str, Any] = {}
    for i, arg in enumerate(node.target._schema.arguments):
        if i < len(node.args):
            out[arg.name] = node.args[i]
        elif arg.name in node.kwargs:
            out[arg.name] = node.kwargs[arg.name]
        elif arg.has_default_value():
            out[arg.name] = arg.default_value
    return out


def _ints(v: Any) -> list[int]:
    return [int(v)] if isinstance(v, int) else [int(x) for x in v]


def _torch_conv(a: dict[str, Any], name: str) -> str:
    weight = a["weight"].meta["val"].shape
    transposed = bool(a.get("transposed", False)) or name.startswith("conv_transpose")
    groups = int(a.get("groups", 1))
    # the weight is [out, in / groups, *kernel], transposed [in, out / groups, *kernel]
    per_group = int(weight[0]) // groups if transposed else int(weight[1])
    return attribute_string(
        _ints(weight[2:]),
        stride=_ints(a.get("stride", 1)),
        dilation=_ints(a.get("dilation", 1)),
        groups=group_kind(groups, per_group),
        transposed=transposed,
    )


def _pool_string(kernel: Any, stride: Any, dilation: Any) -> str:
    """A windowed pool's attributes; none for a 1-wide window at stride 1, which
    preserves the size as an adaptive pool to the same size does (an adaptive pool
    has no window to record, and exporters write ``adaptive_avg_pool2d(x, (7, 7))`` of
    a 7x7 input as a 1x1 ``AveragePool``: both must read the same)."""
    if all(k == 1 for k in kernel) and all(s == 1 for s in stride):
        return ""
    return attribute_string(kernel, stride=stride, dilation=dilation)


def _torch_pool(a: dict[str, Any]) -> str:
    kernel = _ints(a["kernel_size"])
    stride = _ints(a.get("stride") or kernel)  # [] (the default) is the kernel
    return _pool_string(kernel, stride, _ints(a.get("dilation", 1)))


def torch_attributes(node: Any) -> str:
    """The attribute string of a ``call_function`` node of a ``torch.export`` graph
    (``""`` for an op without kept attributes, or when they cannot be read)."""
    schema = getattr(node.target, "_schema", None)
    if schema is None:
        return ""
    namespace, _, name = schema.name.partition("::")
    if namespace != "aten" or name not in _TORCH_CONVS | _TORCH_POOLS:
        return ""
    try:
        a = _bound(node)
        return _torch_conv(a, name) if name in _TORCH_CONVS else _torch_pool(a)
    except Exception as e:  # symbolic shapes, unexpected argument forms: no guess
        _log.debug("no attributes for %s: %s: %s", node.name, type(e).__name__, e)
        return ""


def _onnx_conv(node: Any, a: dict[str, Any], shape: Callable[[str], list[int] | None]) -> str:
    w = shape(node.input[1]) if len(node.input) > 1 else None
    kernel = a.get("kernel_shape") or (w[2:] if w else None)
    if not kernel:
        return ""
    n, group = len(kernel), int(a.get("group", 1))
    transposed = node.op_type == "ConvTranspose"
    per_group = None
    if group > 1:
        # the weight is [out, in / group, *kernel], ConvTranspose's [in, out / group, *kernel]
        if w:
            per_group = w[0] // group if transposed else w[1]
        elif (x := shape(node.input[0])) and len(x) > 1:
            per_group = x[1] // group
    return attribute_string(
        kernel,
        stride=a.get("strides") or [1] * n,
        dilation=a.get("dilations") or [1] * n,
        groups=group_kind(group, per_group),
        transposed=transposed,
    )


def onnx_attributes(onnx: Any, model: Any, shapes: Mapping[str, list[int] | None]) -> list[str]:
    """The attribute string of every node of ``model``'s graph, in node order;
    ``shapes`` maps a tensor name to its static shape (None or absent: unknown)."""
    shape = shapes.get

    out = []
    for node in model.graph.node:
        kind = node.op_type if node.domain in ("", "ai.onnx") else ""
        if kind not in ("Conv", "ConvTranspose", "MaxPool", "AveragePool"):
            out.append("")
            continue
        try:
            a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
            if kind in ("Conv", "ConvTranspose"):
                out.append(_onnx_conv(node, a, shape))
            else:
                n = len(a["kernel_shape"])
                out.append(_pool_string(list(a["kernel_shape"]), list(a.get("strides") or [1] * n),
                                        list(a.get("dilations") or [1] * n)))  # fmt: skip
        except Exception as e:  # a malformed attribute: no guess
            _log.debug("no attributes for ONNX node %s: %s: %s", node.name, type(e).__name__, e)
            out.append("")
    return out
