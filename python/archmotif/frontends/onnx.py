"""``from_onnx``: an ONNX model to an :class:`~archmotif.OpGraph`, weights not needed.

Policy: every ONNX node is one node whose op is its ``op_type`` (prefixed with
its domain when that is not the default ``ai.onnx`` domain, e.g.
``com.microsoft.FusedConv``). Each graph input that is not an initializer
becomes an ``input`` node. An edge joins the node producing a tensor to each
node reading it; initializers (weights) and constants read from outside the
graph add no edges. Subgraphs of control-flow nodes (``If``, ``Loop``) stay
inside their node. External weight data is never loaded.

Costs, where shapes are known (the file's own shapes, completed by ONNX shape
inference): ``node_flops`` counts ``Conv``, ``Gemm`` and ``MatMul`` as torch counts
their twins (FLOPs = 2 x multiply-accumulates, see :mod:`archmotif.frontends.costs`),
every other operator 0, and NaN for a matrix product whose shapes stay unknown; the
label ``flops`` is the sum of the known ones, and ``params`` the number of elements of
the initializers when the file holds them (a file exported without weights does not).
Convolutions and pools carry their attributes (:mod:`archmotif.frontends.attributes`).
"""

from __future__ import annotations

import math
import os
from typing import Any

from archmotif.errors import FormatError
from archmotif.fileread import read_regular
from archmotif.frontends.attributes import onnx_attributes
from archmotif.graph import OpGraph
from archmotif.normalize import normalize as normalize_graph

__all__ = ["from_onnx"]


def from_onnx(path_or_model: Any, *, name: str | None = None, normalize: bool = True) -> OpGraph:
    """Reads an ONNX file (path) or an ``onnx.ModelProto`` into an ``OpGraph``, in the
    normalised vocabulary that ``trace`` gives (:func:`archmotif.normalize.normalize`)
    unless ``normalize`` is false (then ops are the file's op types)."""
    try:
        import onnx
    except ImportError as e:
        raise ImportError("archmotif.from_onnx needs onnx: pip install 'archmotif[zoo]'") from e
    source = "<onnx.ModelProto>"
    if isinstance(path_or_model, (str, os.PathLike)):
        source = p = os.fspath(path_or_model)
        raw = read_regular(p, "an ONNX model")  # bytes only: external data is never read
        if not raw:
            raise FormatError(f"{p}: not a readable ONNX model (the file is empty)")
        try:
            model = onnx.load_model_from_string(raw)
        except Exception as e:
            raise FormatError(f"{p}: not a readable ONNX model ({type(e).__name__}: {e})") from None
        if not model.HasField("graph"):
            raise FormatError(f"{p}: not a readable ONNX model (it holds no graph)")
        default_name = os.path.splitext(os.path.basename(p))[0]
    elif isinstance(path_or_model, onnx.ModelProto):
        model, default_name = path_or_model, path_or_model.graph.name
    else:
        raise TypeError(
            f"from_onnx expects a path or onnx.ModelProto, got {type(path_or_model).__name__}"
        )
    g = model.graph
    initializers = {t.name for t in g.initializer}
    ops: list[str] = []
    node_names: list[str] = []
    producer: dict[str, int] = {}
    for inp in g.input:
        if inp.name not in initializers:
            producer[inp.name] = len(ops)
            ops.append("input")
            node_names.append(inp.name)
    first = len(ops)
    for node in g.node:  # pass 1: who produces each tensor (files need not be sorted)
        idx = len(ops)
        domain = node.domain if node.domain not in ("", "ai.onnx") else ""
        ops.append(f"{domain}.{node.op_type}" if domain else node.op_type)
        node_names.append(node.name or f"{node.op_type}_{idx}")
        for t in node.output:
            if t in producer:  # SSA: one producer per tensor; a second is a broken file
                raise FormatError(
                    f"{source}: tensor {t!r} is produced twice (by {node_names[producer[t]]!r} "
                    f"and {node_names[idx]!r}); an ONNX graph gives each tensor one producer"
                )
            if t:
                producer[t] = idx
    shapes = _shapes(onnx, model)
    flops = [0.0] * first + _node_flops(model, shapes)
    attrs = [""] * first + onnx_attributes(onnx, model, shapes)
    labels = {"source": "onnx", "flops": str(int(sum(f for f in flops if f == f)))}
    if g.initializer:
        labels["params"] = str(sum(math.prod(t.dims) for t in g.initializer))
    pairs: list[tuple[int, int]] = []
    for i, node in enumerate(g.node):  # pass 2: edges
        for t in node.input:
            src = producer.get(t)
            if src is not None:
                pairs.append((src, first + i))
    graph = OpGraph.from_edges(
        ops,
        pairs,
        name=name if name is not None else default_name,
        labels=labels,
        node_names=node_names,
        node_flops=flops,
        attrs=attrs if any(attrs) else None,
    )
    return normalize_graph(graph) if normalize else graph


def _shapes(onnx: Any, model: Any) -> dict[str, list[int] | None]:
    """Every tensor's static shape (None where a dimension is symbolic or unknown)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # inference is best effort: keep the file's own shapes
        inferred = model.graph
    out: dict[str, list[int] | None] = {}
    for vi in [*inferred.input, *inferred.value_info, *inferred.output]:
        t = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        known = t.HasField("shape") and all(d is not None for d in dims)
        out[vi.name] = dims if known else None  # type: ignore[assignment]
    for init in model.graph.initializer:
        out[init.name] = list(init.dims)
    return out


def _node_flops(model: Any, shapes: dict[str, list[int] | None]) -> list[float]:
    """FLOPs of every node of the graph, in node order (see the module docstring)."""
    flops = []
    for node in model.graph.node:
        shape_in = [shapes.get(t) for t in node.input]
        out = shapes.get(node.output[0]) if node.output else None
        if node.op_type == "Conv" and len(shape_in) > 1:
            w = shape_in[1]
            f = 2.0 * math.prod(out) * math.prod(w[1:]) if out and w else math.nan
        elif node.op_type == "Gemm" and shape_in and shape_in[0]:
            a = shape_in[0]
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            k = a[0] if trans_a else a[-1]
            f = 2.0 * math.prod(out) * k if out else math.nan
        elif node.op_type == "MatMul" and shape_in and shape_in[0]:
            f = 2.0 * math.prod(out) * shape_in[0][-1] if out else math.nan
        elif node.op_type in ("Conv", "Gemm", "MatMul"):
            f = math.nan
        else:
            f = 0.0
        flops.append(f)
    return flops
