"""What an architecture costs, measured at trace time without computing anything.

For a ``torch.export`` program, from the fake tensors every node carries:

- **FLOPs per operator** and in total, at the traced example input. Each operator is
  dispatched once on meta tensors of its inputs' shapes under
  ``torch.utils.flop_counter.FlopCounterMode``, so composite operators (``linear``,
  ``conv2d``, ``scaled_dot_product_attention``) are counted as torch counts them.
  **Convention: FLOPs = 2 x multiply-accumulates** (torch's: a ``[m, k] x [k, n]``
  product is ``2mkn``); only matrix products, convolutions and attention count, so
  elementwise operators, normalisation and pooling are 0. resnet50 at 224x224 gives
  8,178,368,512 FLOPs (4.09 G multiply-accumulates, the figure torchvision's model
  table calls "GFLOPS").
- **Parameters**: the number of elements of the program's parameters (buffers such as
  batch-norm statistics are not parameters): resnet50 has 25,557,032. A program holds
  only the parameters its forward reads; ``trace`` counts the module's own instead.
- **Peak activation memory** of one forward pass, in bytes: operators run in the
  program's order, each output is allocated when its operator runs and freed after
  its last reader; inputs are live from the start and outputs to the end; weights are
  not counted, and an operator whose schema says its result aliases an input (views,
  ``reshape`` of a contiguous tensor) allocates nothing. An estimate of what eager
  execution holds at once, not of an allocator's footprint.

The totals become the graph's numeric labels ``params``, ``flops`` and ``memory``
(decimal strings, like every label), the per-operator FLOPs its ``node_flops``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

__all__ = ["ProgramCosts", "program_costs"]


@dataclass(frozen=True)
class ProgramCosts:
    """FLOPs of every ``call_function`` node (by node), and the program's totals."""

    node_flops: dict[Any, float]
    params: int
    flops: int
    memory: int

    def labels(self) -> dict[str, str]:
        return {"params": str(self.params), "flops": str(self.flops), "memory": str(self.memory)}


def _tensors(val: Any) -> list[Any]:
    import torch

    if isinstance(val, torch.Tensor):
        return [val]
    if isinstance(val, (list, tuple)):
        return [t for v in val for t in _tensors(v)]
    return []


def _nbytes(val: Any) -> int:
    total = 0
    for t in _tensors(val):
        with contextlib.suppress(TypeError, RuntimeError):  # symbolic sizes: count nothing
            total += int(t.numel()) * t.element_size()
    return total


def _aliases(target: Any) -> bool:
    """Whether the operator's schema says its first result aliases an input."""
    schema = getattr(target, "_schema", None)
    returns = getattr(schema, "returns", None)
    return bool(returns) and returns[0].alias_info is not None


def _meta(x: Any) -> Any:
    """An FX argument as the operator sees it, with fake tensors turned into meta
    tensors of the same shape, stride and dtype (nothing is allocated)."""
    import torch
    from torch.utils._pytree import tree_map

    def one(a: Any) -> Any:
        if isinstance(a, torch.fx.Node):
            v = a.meta.get("val")
            if isinstance(v, torch.Tensor):
                return torch.empty_strided(v.shape, v.stride(), dtype=v.dtype, device="meta")
            return v
        return a

    return tree_map(one, x)


def _node_flops(node: Any) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    try:
        args, kwargs = _meta(node.args), _meta(node.kwargs)
        with FlopCounterMode(display=False) as counter:
            node.target(*args, **kwargs)
        return float(counter.get_total_flops())
    except Exception:  # an operator meta tensors cannot run: unknown, not zero
        return float("nan")


def program_costs(ep: Any) -> ProgramCosts:
    """The costs of an ``ExportedProgram`` (see the module docstring)."""
    sig = ep.graph_signature
    state = ep.state_dict
    params = sum(int(state[name].numel()) for name in sig.parameters if name in state)
    user_inputs = set(sig.user_inputs)
    nodes = list(ep.graph.nodes)
    # a view keeps its base's storage alive: readers of a view are readers of its owner
    owner: dict[Any, Any] = {}
    for node in nodes:
        inputs = node.all_input_nodes
        aliased = node.op == "call_function" and _aliases(node.target) and inputs
        owner[node] = owner.get(inputs[0], inputs[0]) if aliased else node
    last_use: dict[Any, int] = {}
    for i, node in enumerate(nodes):
        for a in node.all_input_nodes:
            last_use[owner[a]] = i  # the output node's index for graph outputs: kept
    sizes: dict[Any, int] = {}
    live = 0
    for node in nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            sizes[node] = _nbytes(node.meta.get("val"))
            live += sizes[node]
    peak, flops = live, {}
    for i, node in enumerate(nodes):
        if node.op != "call_function":
            continue
        flops[node] = _node_flops(node)
        sizes[node] = 0 if owner[node] is not node else _nbytes(node.meta.get("val"))
        live += sizes[node]
        peak = max(peak, live)
        for a in {owner[a] for a in node.all_input_nodes}:
            if last_use.get(a) == i:
                live -= sizes.get(a, 0)
        if node not in last_use:  # read by nobody: freed at once
            live -= sizes[node]
    known = [f for f in flops.values() if f == f]
    return ProgramCosts(flops, params, int(sum(known)), int(peak))
