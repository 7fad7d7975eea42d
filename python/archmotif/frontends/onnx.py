"""``from_onnx``: an ONNX model to an :class:`~archmotif.OpGraph`, weights not needed.

Policy: every ONNX node is one node whose op is its ``op_type`` (prefixed with
its domain when that is not the default ``ai.onnx`` domain, e.g.
``com.microsoft.FusedConv``). Each graph input that is not an initializer
becomes an ``input`` node. An edge joins the node producing a tensor to each
node reading it; initializers (weights) and constants read from outside the
graph add no edges. Subgraphs of control-flow nodes (``If``, ``Loop``) stay
inside their node. External weight data is never loaded.
"""

from __future__ import annotations

import os
from typing import Any

from archmotif.errors import FormatError
from archmotif.fileread import read_regular
from archmotif.graph import OpGraph

__all__ = ["from_onnx"]


def from_onnx(path_or_model: Any, *, name: str | None = None) -> OpGraph:
    """Reads an ONNX file (path) or an ``onnx.ModelProto`` into an ``OpGraph``."""
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
    pairs: list[tuple[int, int]] = []
    for i, node in enumerate(g.node):  # pass 2: edges
        for t in node.input:
            src = producer.get(t)
            if src is not None:
                pairs.append((src, first + i))
    return OpGraph.from_edges(
        ops,
        pairs,
        name=name if name is not None else default_name,
        labels={"source": "onnx"},
        node_names=node_names,
    )
