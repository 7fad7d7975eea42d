"""Output shapes and parameter counts per node: how they are spelled and checked, and
that they follow their nodes through JSON, networkx, views, normalisation, corpus
files and mined files (no torch here; tracing is tests/frontends/test_torch_export.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import archmotif
from archmotif import GraphError, OpGraph
from archmotif.graph_meta import shape_text
from archmotif.normalize import normalize, normalize_many


def _net(**meta: object) -> OpGraph:
    """input -> conv -> batch_norm -> relu -> add(relu, input): a residual block."""
    ops = ["input", "convolution", "batch_norm", "relu", "add"]
    return OpGraph.from_edges(ops, [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)], name="net",
                              **meta)  # type: ignore[arg-type]  # fmt: skip


SHAPES = ["1×8×4×4", "1×8×4×4", "1×8×4×4", "1×8×4×4", "1×8×4×4"]
PARAMS = [0, 576, 16, 0, 0]


def test_shape_text_spells_dimensions_outputs_and_repeats():
    assert shape_text([(1, 64, 56, 56)]) == "1×64×56×56"
    assert shape_text([()]) == "scalar"
    assert shape_text([]) == ""
    assert shape_text([(1, 2), (1, 2), (1, 2), (3,)]) == "1×2 (×3), 3"
    assert shape_text([("batch", 3)]) == "batch×3"


def test_shapes_are_ids_into_a_small_table_and_read_back_as_text():
    g = _net(node_shapes=["1×3", "1×8", "1×8", "1×8", ""], node_params=PARAMS)
    assert g.shape_names == ("1×3", "1×8", "")
    assert g.node_shapes.tolist() == [0, 1, 1, 1, 2]
    assert g.output_shapes() == ["1×3", "1×8", "1×8", "1×8", ""]
    assert g.node_params.dtype == np.int64 and g.node_params.tolist() == PARAMS
    with pytest.raises(ValueError):
        g.node_params[0] = 1  # read-only, as every array of a graph
    plain = _net()
    assert plain.node_shapes is None and plain.output_shapes() == [""] * 5
    assert plain.node_params is None


def test_json_networkx_and_views_keep_them():
    g = _net(node_shapes=SHAPES, node_params=PARAMS, attrs=["", "k3", "", "", ""])
    back = OpGraph.from_json(g.to_json())
    assert back == g and back.node_params.tolist() == PARAMS
    d = json.loads(g.to_json())
    assert d["shape_names"] == ["1×8×4×4"] and d["node_shapes"] == [0] * 5
    assert d["node_params"] == PARAMS
    nx = g.to_networkx()
    assert nx.nodes[1]["shape"] == "1×8×4×4" and nx.nodes[1]["params"] == 576
    v = g.view("attrs")
    assert v.output_shapes() == SHAPES and v.node_params.tolist() == PARAMS


def test_equality_compares_shape_text_and_parameters():
    g = _net(node_shapes=SHAPES, node_params=PARAMS)
    same_text = _net(node_shapes=np.zeros(5, np.int32), shape_names=["1×8×4×4", "unused"],
                     node_params=PARAMS)  # fmt: skip
    assert g == same_text
    assert g != _net(node_shapes=[*SHAPES[:4], "1×8×2×2"], node_params=PARAMS)
    assert g != _net(node_shapes=SHAPES, node_params=[0, 576, 16, 0, 1])
    assert g != _net(node_shapes=SHAPES)  # parameters known vs not
    assert _net(node_shapes=[""] * 5) == _net()  # all unknown is no shapes


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (dict(node_shapes=["a"] * 4), "node_shapes has 4 entries for 5 nodes"),
        (dict(node_shapes=[0, 0, 0, 0, 3], shape_names=["a"]), "node 4 has shape id 3"),
        (dict(node_shapes=[0] * 5), "integer node_shapes need shape_names"),
        (dict(shape_names=["a"]), "shape_names given without node_shapes"),
        (dict(node_shapes=["a", "b", "a", "a", "c"], shape_names=["a", "b"]),
         "node 4 has shape string 'c'"),
        (dict(node_shapes=[0] * 5, shape_names=["a", "a"]), "shape_names lists one string"),
        (dict(node_shapes=["\ud800"] * 5), "shape_names is not valid Unicode"),
        (dict(node_params=[0, 1, 2, 3]), r"node_params has shape \(4,\) for 5 nodes"),
        (dict(node_params=[0, 1, -2, 3, 4]), "node 2 has a negative parameter count -2"),
        (dict(node_params=[0, 1.5, 2, 3, 4]), "integer counts"),
        (dict(node_params=np.zeros(5)), "integer counts"),
        (dict(node_params=[0, 2**70, 0, 0, 0]), "past the int64 range"),
    ],
)  # fmt: skip
def test_bad_shapes_or_parameters_are_graph_errors(meta, message):
    with pytest.raises(GraphError, match=message):
        _net(**meta)


# -- normalisation ------------------------------------------------------------------


def test_a_folded_group_sums_parameters_and_outputs_its_output_members_shape():
    ops = ["input", "convolution", "batch_norm", "dropout", "relu"]
    g = OpGraph.from_edges(ops, [(0, 1), (1, 2), (2, 3), (3, 4)],
                           node_shapes=["1×3×8×8", "1×16×8×8", "1×16×8×8 bn", "d", "1×16×8×8"],
                           node_params=[0, 432, 32, 0, 0])  # fmt: skip
    n = normalize(g)
    assert n.node_ops() == ["input", "convolution", "relu"]
    assert n.node_params.tolist() == [0, 464, 0]
    # conv + batch norm hands on the batch norm's output; the dropped dropout's is gone
    assert n.output_shapes() == ["1×3×8×8", "1×16×8×8 bn", "1×16×8×8"]


def test_a_group_outputs_what_leaves_it_whatever_the_node_numbering():
    # the batch norm numbered before its convolution: the group still hands on the
    # batch norm's output (the member whose result leaves it), not the last-numbered one
    ops = ["input", "batch_norm", "convolution", "relu"]
    g = OpGraph.from_edges(ops, [(0, 2), (2, 1), (1, 3)], node_shapes=["x", "bn", "conv", "r"])
    assert normalize(g).output_shapes() == ["x", "bn", "r"]


def test_parameters_of_pruned_and_dropped_nodes_go_to_their_first_reader():
    # a class token: a parameter expanded without reading the input (pruned), then
    # concatenated with the patches; a dropout holding parameters (dropped)
    ops = ["input", "convolution", "expand", "cat", "dropout", "linear"]
    pairs = [(0, 1), (1, 3), (2, 3), (3, 4), (4, 5)]
    g = OpGraph.from_edges(ops, pairs, node_params=[0, 100, 7, 0, 5, 30])
    n = normalize(g)
    assert n.node_ops() == ["input", "convolution", "cat", "linear"]
    assert n.node_params.tolist() == [0, 100, 7, 35]
    assert int(n.node_params.sum()) == int(g.node_params.sum())


def test_normalising_a_batch_keeps_each_graphs_own_metadata():
    a = _net(node_shapes=SHAPES, node_params=PARAMS)
    b = _net()
    na, nb = normalize_many([a, b])
    assert na == normalize(a) and nb == normalize(b)
    assert nb.node_shapes is None and nb.node_params is None
    assert na.node_params.tolist() == [0, 592, 0, 0] and normalize(na) == na


# -- files --------------------------------------------------------------------------


def test_corpus_and_mined_files_keep_them(tmp_path):
    g = _net(node_shapes=SHAPES, node_params=PARAMS)
    h = _net(node_shapes=["1×2", "", "9", "9", "1×2"])
    plain = _net()
    p = tmp_path / "c.npz"
    archmotif.save_corpus([g, h, plain], p)
    back = archmotif.load_corpus(p)
    assert back == [g, h, plain]
    assert back[1].node_params is None and back[2].node_shapes is None
    assert back[0].shape_names == ("1×8×4×4",)  # each graph its own table, not the file's
    assert archmotif.load_corpus(p, detail="attrs")[1].output_shapes() == h.output_shapes()
    mined = archmotif.mine([g, h], progress=False)
    mined.save(tmp_path / "m.bin")
    assert archmotif.load_mined(tmp_path / "m.bin").graphs == mined.graphs


def test_corpus_files_without_shapes_still_load(tmp_path):
    # written before shapes were kept: no node_shapes, node_params or shape_names
    import zipfile

    p = tmp_path / "c.npz"
    archmotif.save_corpus([_net(node_flops=[0, 1, 2, 3, 4])], p)
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k not in ("node_shapes", "node_params")}
    h = json.loads(arrays["header"].tobytes())
    del h["shape_names"]
    arrays["header"] = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    with zipfile.ZipFile(old) as zf:
        assert "node_shapes.npy" not in zf.namelist()
    (g,) = archmotif.load_corpus(old)
    assert g == _net(node_flops=[0, 1, 2, 3, 4]) and g.node_shapes is None
