"""The module table of ``archmotif info --modules`` (the CLI itself: tests/test_cli_inputs.py)."""

from __future__ import annotations

from archmotif import OpGraph
from archmotif.viz.module_table import format_module_table, module_rows


def _graph(**meta: object) -> OpGraph:
    names = ["x", "block.0.conv + block.0.bn (convolution,batch_norm)", "block.0.relu",
             "block.1.conv", "add"]  # fmt: skip
    ops = ["input", "convolution", "relu", "convolution", "add"]
    return OpGraph.from_edges(ops, [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)], node_names=names,
                              **meta)  # type: ignore[arg-type]  # fmt: skip


def test_rows_group_by_module_path_with_last_shape_and_summed_parameters():
    g = _graph(node_shapes=["1×3", "1×8", "1×8", "1×3", "1×3"], node_params=[0, 40, 0, 27, 0],
               labels={"params": "67"})  # fmt: skip
    rows = module_rows(g, depth=1)
    assert [(r.module, len(r.ops), r.shape, r.params) for r in rows] == [
        ("(inputs)", 1, "1×3", 0),
        ("block", 3, "1×3", 67),  # a folded node counts under its first member's path
        ("add", 1, "1×3", 0),  # outside every submodule: its FX name
    ]
    deeper = [r.module for r in module_rows(g, depth=2)]
    assert deeper == ["(inputs)", "block.0", "block.1", "add"]
    text = format_module_table(g, 2).splitlines()
    assert text[-1].split() == ["total", "5", "1×3", "67"]


def test_parameters_the_forward_never_reads_are_named():
    g = _graph(node_params=[0, 40, 0, 27, 0], labels={"params": "100"})
    text = format_module_table(g, 1)
    assert "output shape" not in text  # no shapes: no column
    assert "the model holds 100 parameters: 33 are never read by its forward" in text
