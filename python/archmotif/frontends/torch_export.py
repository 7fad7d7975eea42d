"""``trace``: a PyTorch module to an :class:`~archmotif.OpGraph` through ``torch.export``.

Policy, so the result is the computational DAG from inputs to outputs:

- each **user input** tensor becomes a node with op ``input``;
- **parameters, buffers and constants** (placeholders that are not user inputs,
  ``get_attr`` nodes) are not nodes: weights are data, not computation;
- ``getitem`` (picking one output of a multi-output op) and pure aliasing ops
  (``alias``, ``detach``, ``lift_fresh_copy``) are spliced out: their users are
  wired to the op that produced the tensor;
- an attention called with ``is_causal=True`` reads a ``causal_mask`` node (no input,
  0 FLOPs): the mask its kernel builds, made a node so that it meets a model that
  builds the mask itself (see :mod:`archmotif.normalize`);
- **metadata** nodes whose result holds no tensor (symbolic sizes, assertions
  such as ``_assert_tensor_metadata``) are dropped together with their edges;
- the ``output`` node is dropped: a graph's outputs are its sinks;
- every other ``call_function`` node is one node, its op named by
  :func:`~archmotif.frontends.ops.normalize_op`; ``node_names`` keeps the path of the
  module that computed it, as torch.export records it (``layer1.0.conv1``; the
  innermost module of ``nn_module_stack``), or the FX name (``add_3``, ``x``) for a node
  outside any submodule. Paths repeat when a module runs twice (a shared ``relu``);
- **costs** (:mod:`archmotif.frontends.costs`): ``node_flops`` holds each operator's
  FLOPs at the example input (0 for ``input`` nodes), and the labels ``params`` (the
  module's parameter count), ``flops`` and ``memory`` the totals (labels the caller
  passes take precedence);
- **attributes** (:mod:`archmotif.frontends.attributes`): ``attrs`` holds each
  convolution's and pool's kernel, stride, dilation and grouping;
- **shapes and parameters** (:mod:`archmotif.graph_meta`): ``node_shapes`` holds the
  shape of each node's output from its fake tensor (for several outputs, those its
  readers pick, :func:`_output_shape`), and ``node_params`` the elements of the
  parameters each node reads, a parameter counted at its first reader (also through
  spliced aliases), so they sum to the program's parameters: the ``params`` label
  unless the module holds parameters its forward never reads.

Warnings raised by model code and ``torch.export`` while tracing are silenced, and
torch's own log lines (a failed export logs the whole FX graph) go to archmotif's
debug log instead of stderr (:func:`_torch_logs_to_debug`).
The model is traced in eval mode (its training flag is restored afterwards) with
``strict=False``; tensors are fake during export, so tracing never computes on
real data, and a model built on the meta device never allocates its weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import operator
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from archmotif.errors import TraceError
from archmotif.frontends.attributes import torch_attributes
from archmotif.frontends.costs import program_costs
from archmotif.frontends.ops import normalize_op
from archmotif.graph import OpGraph
from archmotif.graph_meta import shape_text
from archmotif.normalize import normalize as normalize_graph

__all__ = ["from_exported_program", "trace"]

_SPLICED = {"alias", "detach", "lift_fresh_copy"}
_log = logging.getLogger("archmotif.trace")


class _ToDebug(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _log.debug("%s: %s", record.name, record.getMessage())


@contextlib.contextmanager
def _torch_logs_to_debug() -> Iterator[None]:
    """torch attaches stderr handlers to its loggers; while tracing, their records and
    whatever is printed go to archmotif's debug log instead (restored afterwards)."""
    loggers = [logging.getLogger("torch")] + [
        lg for name, lg in logging.root.manager.loggerDict.items()
        if name.startswith("torch.") and isinstance(lg, logging.Logger) and lg.handlers
    ]  # fmt: skip
    saved = [lg.handlers for lg in loggers]
    to_debug = _ToDebug()
    for lg in loggers:
        lg.handlers = [to_debug]
    printed = io.StringIO()  # torch prints the FX graph of a failed export with print()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            yield
    finally:
        for lg, handlers in zip(loggers, saved, strict=True):
            lg.handlers = handlers
        if printed.getvalue():
            _log.debug("printed while tracing:\n%s", printed.getvalue())


def _holds_tensor(val: Any) -> bool:
    import torch

    if isinstance(val, torch.Tensor):
        return True
    if isinstance(val, (list, tuple)):
        return any(_holds_tensor(v) for v in val)
    return False


def _module_path(node: Any) -> str:
    """The innermost module's path in ``nn_module_stack`` (``""`` is the root model),
    else the FX name."""
    stack = node.meta.get("nn_module_stack")
    if stack:
        path = list(stack.values())[-1][0]
        if isinstance(path, str) and path:
            return path
    return str(node.name)


def _output_shape(node: Any) -> str:
    """The shape of what ``node`` outputs (:func:`~archmotif.graph_meta.shape_text`):
    a tensor's; of a tuple, the tensors its ``getitem`` readers pick (all of them when
    something reads the tuple whole); ``""`` when unknown."""
    import torch

    val = node.meta.get("val")
    if isinstance(val, torch.Tensor):
        return shape_text([val.shape])
    if not isinstance(val, (list, tuple)):
        return ""
    picked = sorted({u.args[1] for u in node.users if u.target is operator.getitem
                     and isinstance(u.args[1], int) and 0 <= u.args[1] < len(val)})  # fmt: skip
    whole = any(u.target is not operator.getitem for u in node.users)
    outs = val if whole or not picked else [val[i] for i in picked]
    return shape_text([t.shape for t in outs if isinstance(t, torch.Tensor)])


def _parameter_owner(ep: Any) -> dict[str, tuple[int, int]]:
    """Placeholder name -> (key of the parameter tensor, its elements), for the
    program's parameters; tied parameters share one key, so they count once."""
    sig, state = ep.graph_signature, ep.state_dict
    out = {}
    for placeholder, name in sig.inputs_to_parameters.items():
        t = state.get(name)
        if t is not None:
            out[placeholder] = (id(t), int(t.numel()))
    return out


def _is_causal(node: Any) -> bool:
    """Whether an attention node was called with ``is_causal=True``."""
    schema = getattr(node.target, "_schema", None)
    for i, arg in enumerate(schema.arguments if schema is not None else ()):
        if arg.name == "is_causal":
            given = node.args[i] if i < len(node.args) else arg.default_value
            return node.kwargs.get("is_causal", given) is True
    return False


def from_exported_program(
    ep: Any,
    *,
    name: str = "",
    labels: Mapping[str, str] | None = None,
    params: int | None = None,
) -> OpGraph:
    """Turns a ``torch.export.ExportedProgram`` into an ``OpGraph`` (policy above).
    ``params`` overrides the parameter count read from the program, which holds only
    the parameters its forward uses (``trace`` passes the module's own count)."""
    user_inputs = set(ep.graph_signature.user_inputs)
    costs = program_costs(ep)
    if params is not None:
        costs = dataclasses.replace(costs, params=params)
    ops: list[str] = []
    node_names: list[str] = []
    flops: list[float] = []
    attrs: list[str] = []
    shapes: list[str] = []
    params: list[int] = []
    src: list[int] = []
    dst: list[int] = []
    stands_for: dict[Any, list[int]] = {}
    owner = _parameter_owner(ep)
    # the parameters a node hands on uncounted: a parameter placeholder its own, a
    # spliced alias (``detach`` of a weight) its input's
    carries: dict[Any, list[tuple[int, int]]] = {}
    counted: set[int] = set()

    def read(node: Any) -> int:
        """Elements of the parameters ``node`` reads that no earlier node read."""
        total = 0
        for a in node.all_input_nodes:
            for key, numel in carries.get(a, ()):
                if key not in counted:
                    counted.add(key)
                    total += numel
        return total

    def add(node: Any, op: str, deps: list[int]) -> None:
        idx = len(ops)
        ops.append(op)
        node_names.append(_module_path(node))
        flops.append(costs.node_flops.get(node, 0.0))
        attrs.append(torch_attributes(node) if node.op == "call_function" else "")
        shapes.append(_output_shape(node))
        params.append(read(node))
        for d in deps:
            src.append(d)
            dst.append(idx)
        stands_for[node] = [idx]

    for node in ep.graph.nodes:
        if node.op == "placeholder":
            if node.name in user_inputs and _holds_tensor(node.meta.get("val")):
                add(node, "input", [])
            else:
                stands_for[node] = []
                if node.name in owner:
                    carries[node] = [owner[node.name]]
            continue
        if node.op != "call_function":
            stands_for[node] = []  # get_attr (constants, submodules) and output
            continue
        deps = sorted({d for a in node.all_input_nodes for d in stands_for.get(a, ())})
        if node.target is operator.getitem:
            stands_for[node] = deps
            carries[node] = [c for a in node.all_input_nodes for c in carries.get(a, ())]
            continue
        op = normalize_op(node.target)
        if op in _SPLICED:
            stands_for[node] = deps
            carries[node] = [c for a in node.all_input_nodes for c in carries.get(a, ())]
        elif not _holds_tensor(node.meta.get("val")):
            stands_for[node] = []
        else:
            if op == "scaled_dot_product_attention" and _is_causal(node):
                # the mask the kernel builds, made a node as a traced mask would be
                deps = [*deps, len(ops)]
                ops.append("causal_mask")
                node_names.append(_module_path(node))
                flops.append(0.0)
                attrs.append("")
                shapes.append("")
                params.append(0)
            add(node, op, deps)
    return OpGraph.from_edges(
        ops,
        list(zip(src, dst, strict=False)),
        name=name,
        labels={**costs.labels(), **(labels or {})},
        node_names=node_names,
        node_flops=flops,
        attrs=attrs if any(attrs) else None,
        node_shapes=shapes,
        node_params=params,
    )


def _split_inputs(example_inputs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(example_inputs, Mapping):
        return (), dict(example_inputs)
    if isinstance(example_inputs, tuple):
        return example_inputs, {}
    if isinstance(example_inputs, list):
        return tuple(example_inputs), {}
    return (example_inputs,), {}


def trace(
    model: Any,
    example_inputs: Any = None,
    *,
    meta: bool = True,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    normalize: bool = True,
) -> OpGraph:
    """Traces ``model`` into an :class:`~archmotif.OpGraph`.

    ``model`` is an ``nn.Module`` or a name that :func:`archmotif.frontends.builders.build`
    understands (``"resnet50"``, ``"timm:vit_base_patch16_224"``, ``"transformers:bert"``);
    a name is built on the meta device when ``meta`` is true, so no weights are
    allocated. ``example_inputs`` is a tensor, a tuple of positional inputs or a
    dict of keyword inputs; when ``None`` they are chosen by modality (see
    :func:`~archmotif.frontends.builders.example_inputs`) on the model's device.
    A failure raises :class:`~archmotif.TraceError` naming the model and the reason.
    With ``normalize`` (the default) the graph is in the normalised vocabulary
    (:func:`archmotif.normalize.normalize`), as the built-in data and the zoo are;
    ``normalize=False`` gives the trace as ``torch.export`` spells it.
    """
    from archmotif.frontends import builders

    try:
        import torch
    except ImportError as e:
        raise ImportError("archmotif.trace needs torch: pip install 'archmotif[zoo]'") from e
    if isinstance(model, str):
        built = builders.build(model, meta=meta)
        model, name, labels = built.module, name or built.name, labels or built.labels
        if example_inputs is None:
            example_inputs = built.inputs
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"trace expects an nn.Module or a model name, got {type(model).__name__}")
    model_name = name or type(model).__name__
    try:
        if example_inputs is None:
            example_inputs = builders.example_inputs(model)
        args, kwargs = _split_inputs(example_inputs)
        was_training = model.training
        model.eval()
        try:
            # torch.export and model code warn about internals (deprecations, cached
            # tensor attributes); those are not the caller's to act on.
            with warnings.catch_warnings(), _torch_logs_to_debug():
                warnings.simplefilter("ignore")
                ep = torch.export.export(model, args, kwargs, strict=False)
        finally:
            model.train(was_training)
    except TraceError:
        raise
    except Exception as e:
        reason = (str(e).strip().splitlines() or [""])[0][:300]
        if "data-dependent" in reason or "DataDependent" in type(e).__name__:
            reason += (
                " (the forward branches or loops on a tensor's values, which torch.export "
                "cannot trace: make the branch depend on shapes or settings, or "
                "use torch.cond)"
            )
        raise TraceError(f"could not trace {model_name}: {type(e).__name__}: {reason}") from e
    # the module's count, as model cards quote it: a forward may leave some unused
    # (a T5 traced through its encoder), and parameters() counts tied weights once
    params = sum(p.numel() for p in model.parameters())
    graph = from_exported_program(ep, name=model_name, labels=labels, params=params)
    if graph.num_nodes == 0:
        raise TraceError(f"could not trace {model_name}: the exported program has no operators")
    return normalize_graph(graph) if normalize else graph
