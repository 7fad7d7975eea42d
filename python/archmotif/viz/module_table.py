"""A traced model by module, as torchinfo tables it: ``archmotif info MODEL --modules``.

Node names of a traced model are module paths (``layer1.0.conv1``; a folded node's name
starts with its first member's). Cut to ``depth`` parts, they group the operators into
rows, in the order the model first runs each module: its operators, the shape of what
its last operator outputs (``node_shapes``) and the parameters its operators read
(``node_params``, each parameter counted once, so the rows sum to the model's count, the
``total`` row). The shape and parameter columns appear when the graph has them. A graph
without node names (ONNX, JSON) is one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archmotif.graph import OpGraph
from archmotif.mining.motifs import describe_ops

__all__ = ["ModuleRow", "format_module_table", "module_rows"]


@dataclass
class ModuleRow:
    """One module: its path (``(inputs)`` for the inputs, ``(model)`` for operators
    outside every submodule), its operators, last output shape and parameters."""

    module: str
    ops: list[str] = field(default_factory=list)
    shape: str = ""
    params: int = 0


def module_path(name: str) -> str:
    """The module path in a node name: a folded node's is its first member's
    (``"layer1.0.conv1 + layer1.0.bn1 (convolution,batch_norm)"`` -> ``layer1.0.conv1``)."""
    return name.split(" + ", 1)[0].split(" (", 1)[0]


def module_rows(g: OpGraph, depth: int) -> list[ModuleRow]:
    """The rows of the table (see the module docstring), in first-run order."""
    rows: dict[str, ModuleRow] = {}
    names = g.node_names or ("",) * g.num_nodes
    shapes = g.output_shapes()
    params = [0] * g.num_nodes if g.node_params is None else g.node_params.tolist()
    for name, op, shape, p in zip(names, g.node_ops(), shapes, params, strict=True):
        module = ".".join(module_path(name).split(".")[:depth]) or "(model)"
        row = rows.setdefault("(inputs)" if op == "input" else module,
                              ModuleRow("(inputs)" if op == "input" else module))  # fmt: skip
        row.ops.append(op)
        row.shape = shape or row.shape  # the last operator whose shape is known
        row.params += p
    return list(rows.values())


def format_module_table(g: OpGraph, depth: int, indent: str = "  ") -> str:
    """The table as text, with a ``total`` row (and the parameters the forward never
    reads, when the ``params`` label counts more than the operators read)."""
    rows = module_rows(g, depth)
    shapes, params = g.node_shapes is not None, g.node_params is not None
    total = sum(r.params for r in rows)
    w_mod = max([len(r.module) for r in rows] + [len("module"), len("total")])
    w_shape = max([len(r.shape) for r in rows] + [len("output shape")])
    w_par = max(len(f"{total:,}"), len("params"))

    def line(module: str, ops: str, shape: str, par: str, what: str) -> str:
        cells = [f"{module:<{w_mod}}", f"{ops:>5}"]
        cells += [f"{shape:<{w_shape}}"] if shapes else []
        cells += [f"{par:>{w_par}}"] if params else []
        return (indent + "  ".join([*cells, what])).rstrip()

    out = [line("module", "ops", "output shape", "params", "operators")]
    for r in rows:
        out.append(line(r.module, str(len(r.ops)), r.shape, f"{r.params:,}", describe_ops(r.ops)))
    last = next((r.shape for r in reversed(rows) if r.shape), "")
    out.append(line("total", str(g.num_nodes), last, f"{total:,}", ""))
    label = g.labels.get("params", "")
    if params and label.isdigit() and int(label) > total:
        out.append(f"{indent}(the model holds {int(label):,} parameters: "
                   f"{int(label) - total:,} are never read by its forward)")  # fmt: skip
    return "\n".join(out)
