"""The learnt half's shape features (``Encoder(shape_features=True)``): what each macro
node does to tensor sizes, carried through renumbering, views and encoder files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from archmotif import OpGraph
from archmotif.datasets import load
from archmotif.learn import encoder_file
from archmotif.learn.augment import GraphRewrites, Views
from archmotif.learn.data import macro_data, shape_features
from archmotif.learn.encoder import Encoder
from archmotif.learn.renumber import canonical_order
from archmotif.learn.rewrite import find_blocks
from archmotif.mining.motifs import MacroGraph

OPS = ["input", "conv1", "relu", "conv3", "conv1", "add", "pool", "linear"]
EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5), (5, 6), (6, 7)]


def _bottleneck(
    inner: int, *, name: str = "net", shapes: bool = True, head: bool = True
) -> OpGraph:
    """input (256 channels) -> a residual bottleneck ``inner`` wide -> pool -> linear
    (without ``head``, the network ends at the block)."""
    wide, narrow = "1×256×8×8", f"1×{inner}×8×8"
    sizes = [wide, narrow, narrow, narrow, wide, wide, "1×256", "1×10"]
    n = 8 if head else 6
    return OpGraph(
        OPS[:n], np.array([e for e in EDGES if max(e) < n]).T, name=name,
        node_shapes=sizes[:n] if shapes else None,
    )  # fmt: skip


def _macro(g: OpGraph, owner: list[int]) -> MacroGraph:
    owner_a = np.array(owner, dtype=np.int32)
    src, dst = g.edges
    cross = owner_a[src] != owner_a[dst]
    pairs = np.unique(np.stack([owner_a[src][cross], owner_a[dst][cross]]), axis=1)
    return MacroGraph(
        g, None, np.zeros(owner_a.max() + 1, dtype=np.int32), owner_a,  # type: ignore[arg-type]
        pairs.astype(np.int64), np.ones(pairs.shape[1], dtype=np.int64),
    )  # fmt: skip


def test_features_read_a_bottleneck_and_a_head_as_log_ratios_to_the_inputs():
    f = shape_features(_macro(_bottleneck(64), [0, 1, 1, 1, 1, 1, 2, 2]))
    assert f.dtype == np.float32 and f.shape == (3, 4)
    # the input measures against itself
    np.testing.assert_allclose(f[0], [0, 0, 0, 1])
    # the block keeps its input's size and narrows to a quarter inside: log2(1/4) / 4
    np.testing.assert_allclose(f[1], [0, 0, -0.5, 1])
    # the head: 16384 elements in, 10 out (a 1638-fold fall, capped at 256), largest 256
    np.testing.assert_allclose(f[2], [-2, (8 - 14) / 4, -2, 1], rtol=1e-6)
    wide = shape_features(_macro(_bottleneck(128), [0, 1, 1, 1, 1, 1, 2, 2]))
    np.testing.assert_allclose(wide[1], [0, 0, -0.25, 1])  # a half: a Wide-ResNet's
    # the same at any width: a network half as wide throughout reads the same
    half = _bottleneck(32)
    half = OpGraph(half.ops, half.edges, op_names=half.op_names, node_shapes=[
        "1×128×8×8", "1×32×8×8", "1×32×8×8", "1×32×8×8", "1×128×8×8", "1×128×8×8",
        "1×128", "1×10",
    ])  # fmt: skip
    np.testing.assert_allclose(
        shape_features(_macro(half, [0, 1, 1, 1, 1, 1, 2, 2]))[1], f[1], atol=1e-6
    )


def test_unknown_sizes_give_rows_of_zeros():
    owner = [0, 1, 1, 1, 1, 1, 2, 2]
    none = shape_features(_macro(_bottleneck(64, shapes=False), owner))
    np.testing.assert_array_equal(none, np.zeros((3, 4), dtype=np.float32))
    g = _bottleneck(64)
    names = [*g.shape_names, ""]
    blank = g.node_shapes.copy()
    blank[5] = len(names) - 1  # the block's output unknown
    g = OpGraph(g.ops, g.edges, op_names=g.op_names, node_shapes=blank, shape_names=names)
    f = shape_features(_macro(g, owner))
    np.testing.assert_array_equal(f[1], np.zeros(4, dtype=np.float32))
    assert f[0, 3] == 1 and f[2, 3] == 1  # the others still read


def test_renumbering_keeps_each_nodes_shape_and_costs():
    g = _bottleneck(64)
    g = OpGraph(g.ops, g.edges, op_names=g.op_names, node_shapes=g.node_shapes,
                shape_names=g.shape_names, node_flops=np.arange(8.0),
                node_params=np.arange(8) * 10)  # fmt: skip
    perm = np.array([3, 7, 0, 5, 1, 6, 2, 4])  # node v becomes perm[v]
    inv = np.argsort(perm)
    shuffled = OpGraph(g.ops[inv], perm[g.edges], op_names=g.op_names,
                       node_flops=g.node_flops[inv],
                       node_shapes=g.node_shapes[inv], shape_names=g.shape_names,
                       node_params=g.node_params[inv])  # fmt: skip
    a, b = canonical_order(g), canonical_order(shuffled)
    assert a == b and a.node_shapes is not None
    # each node keeps its own: the first 1x1 convolution still narrows, the second widens
    assert sorted(zip(a.node_ops(), a.output_shapes(), strict=True)) == sorted(
        zip(g.node_ops(), g.output_shapes(), strict=True)
    )
    first = next(v for v in range(8) if a.node_ops()[v] == "conv1")
    assert a.output_shapes()[first] == "1×64×8×8"
    # and its costs: node 1 of g (the narrowing 1x1) had FLOPs 1.0 and parameters 10
    assert (a.node_flops[first], a.node_params[first]) == (1.0, 10)
    assert sorted(a.node_flops.tolist()) == list(np.arange(8.0))


def test_views_and_rewrites_keep_each_nodes_features_with_it():
    n = 12
    d = Data(x=torch.arange(n), edge_index=torch.tensor([list(range(n - 1)), list(range(1, n))]),
             edge_weight=torch.ones(n - 1), y=torch.tensor([-100]), num_nodes=n)  # fmt: skip
    d.feat = torch.arange(n, dtype=torch.float32)[:, None].repeat(1, 4)
    rw = GraphRewrites(find_blocks(d.edge_index.numpy(), n), None, [np.zeros(0, np.int64)] * n)
    gen = torch.Generator().manual_seed(0)
    sizes = set()
    for _ in range(30):
        v = Views(p_depth=1.0)(d, gen, rewrites=rw)
        sizes.add(int(v.num_nodes))
        assert v.feat.shape == (int(v.num_nodes), 4)
        assert torch.equal(v.feat[:, 0].long(), v.x)  # each row stays with its node
    assert len(sizes) > 3


@pytest.fixture(scope="module")
def corpus() -> list[OpGraph]:
    toy = [g.view("attrs") for g in load("builtin")[:10]]
    return toy + [_bottleneck(w, name=f"b{w}") for w in (32, 64, 128)]


def test_the_learnt_half_tells_apart_widths_the_motif_ids_do_not(corpus, tmp_path):
    # however the miner cuts them, the narrow block's smallest tensor is half the wide's
    narrow, wide = (_bottleneck(w, name=f"q{w}", head=False) for w in (64, 128))
    kw = {"stage1_epochs": 1, "stage2_epochs": 2, "progress": False}
    off = Encoder(**kw).fit(corpus, seed=0)
    a, b = off.embed([narrow, wide])
    np.testing.assert_array_equal(a, b)  # one structure, so one embedding
    on = Encoder(shape_features=True, **kw).fit(corpus, seed=0)
    a, b = on.embed_dense([narrow, wide])
    assert not np.allclose(a, b, atol=1e-4)
    # a graph without shapes embeds, reading zeros
    assert np.isfinite(on.embed(load("builtin")[20:22])).all()
    path = tmp_path / "enc.pt"
    on.save(path)
    loaded = Encoder.load(path, progress=False)
    assert loaded.config["shape_features"] is True
    np.testing.assert_array_equal(loaded.embed([narrow, wide]), on.embed([narrow, wide]))
    # a file from before the setting loads with it off
    d = encoder_file.read(str(path), encoder_file.ENCODER_FORMAT)
    off.save(path)
    d = encoder_file.read(str(path), encoder_file.ENCODER_FORMAT)
    config = json.loads(d["config"])
    del config["shape_features"]
    old = tmp_path / "old.pt"
    encoder_file.write(old, encoder_file.ENCODER_FORMAT, {**d, "config": json.dumps(config)})
    assert Encoder.load(old, progress=False).config["shape_features"] is False
    with pytest.raises(ValueError, match="shape_features"):
        Encoder(shape_features="yes")  # type: ignore[arg-type]


def test_macro_data_carries_features_only_when_asked(corpus):
    g = _bottleneck(64)
    mg = _macro(g, [0, 1, 1, 1, 1, 1, 2, 2])
    assert "feat" not in macro_data(mg)
    d = macro_data(mg, shapes=True)
    np.testing.assert_array_equal(d.feat.numpy(), shape_features(mg))
