"""mine() on real traced models finds their repeated blocks."""

from __future__ import annotations

import pytest

import archmotif

pytest.importorskip("torchvision")
pytest.importorskip("transformers")


def _largest_with_count(m: archmotif.Mined, count: int) -> int:
    return max((t.num_nodes for t in m.vocabulary if t.count == count), default=0)


def test_resnet50_bottleneck_is_found_and_the_graph_shrinks_5x():
    g = archmotif.trace("torchvision:resnet50")
    m = archmotif.mine(g, progress=False)
    assert m.macro_graphs[0].reduction >= 5
    # 16 bottlenecks, 12 of them without a downsample branch: one 7-node motif
    # (3 convolutions with their batch norms folded in, 2 relu, add, relu) 12 times
    assert _largest_with_count(m, 12) >= 7


def test_vit_b_16_encoder_layer_is_one_motif():
    g = archmotif.trace("torchvision:vit_b_16")
    m = archmotif.mine(g, max_motif_nodes=64, progress=False)
    # 12 encoder layers of 11 operators each once normalised (35 as exported): layer
    # norm, linear, split, attention, linear, add, layer norm, linear, gelu, linear, add
    assert _largest_with_count(m, 12) >= 11


def test_bert_repeats_are_found():
    g = archmotif.trace("transformers:bert")
    m = archmotif.mine(g, progress=False)
    assert m.macro_graphs[0].reduction >= 5
    assert _largest_with_count(m, 12) >= 10  # a block of each of the 12 layers
