"""DARTS-space networks: exact sizes of a published genotype, validity, seeding,
genotype classes, the op vocabulary shared with traced models, and that mining sees
the repeated cell."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif.datasets import darts
from archmotif.errors import SpecError
from archmotif.normalize import normalize

# DARTS_V2, counted by hand from DARTS's operations.py (node counts / edge counts).
# Building blocks:
#   relu-conv-bn preprocess:      3 nodes, 3 edges (1 in + 2 internal)
#   FactorizedReduce:             7 nodes (relu, conv, slice, slice, conv, cat, bn),
#                                 8 edges (in->relu, relu->conv, relu->slice, slice->slice,
#                                 slice->conv, conv->cat x2, cat->bn)
#   sep_conv_3x3:                 8 nodes, 8 edges (1 in + 7 internal)
#   dil_conv_3x3:                 4 nodes, 4 edges
#   max_pool_3x3 (any stride):    1 node, 1 edge
#   skip_connect at stride 1:     0 nodes, 0 edges (the add reads the state directly)
#   add: 1 node, 2 edges;  cat of 4 states: 1 node, 4 edges
PRE_N, PRE_E = 3, 3
FR_N, FR_E = 7, 8
SEP_N, SEP_E = 8, 8
DIL_N, DIL_E = 4, 4
ADD_N, ADD_E = 1, 2
CAT_N, CAT_E = 1, 4
# normal cell: node2 = sep(0)+sep(1); node3 = sep(0)+sep(1); node4 = sep(1)+skip(0);
# node5 = skip(0)+dil(2)
NORMAL_OPS_N = 5 * SEP_N + DIL_N + 4 * ADD_N + CAT_N
NORMAL_OPS_E = 5 * SEP_E + DIL_E + 4 * ADD_E + CAT_E
# reduction cell: node2 = mp(0)+mp(1); node3 = skip(2)+mp(1); node4 = mp(0)+skip(2);
# node5 = skip(2)+mp(1); skip(2) reads an intermediate node, so stride 1: identity
REDUCE_OPS_N = 5 * 1 + 4 * ADD_N + CAT_N
REDUCE_OPS_E = 5 * 1 + 4 * ADD_E + CAT_E


def test_darts_v2_node_and_edge_counts_match_the_hand_count():
    cells = 8  # reductions at 8 // 3 = 2 and 2 * 8 // 3 = 5
    # cells 0, 1, 4, 7: normal after normal; 3, 6: normal after a reduction (s0 goes
    # through FactorizedReduce); 2, 5: reduction after normal
    normal = 2 * PRE_N + NORMAL_OPS_N
    normal_after_reduce = PRE_N + FR_N + NORMAL_OPS_N
    reduce = 2 * PRE_N + REDUCE_OPS_N
    assert (normal, normal_after_reduce, reduce) == (55, 59, 16)
    # input, stem conv + bn; head adaptive_avg_pool2d, view, linear
    nodes = 1 + 2 + 4 * normal + 2 * normal_after_reduce + 2 * reduce + 3
    normal_e = 2 * PRE_E + NORMAL_OPS_E
    normal_after_reduce_e = PRE_E + FR_E + NORMAL_OPS_E
    reduce_e = 2 * PRE_E + REDUCE_OPS_E
    edges = 2 + 4 * normal_e + 2 * normal_after_reduce_e + 2 * reduce_e + 3
    g = darts.network(darts.DARTS_V2, cells=cells)
    assert (g.num_nodes, g.num_edges) == (nodes, edges) == (376, 433)
    counts = g.op_counts()
    assert counts["cat"] == cells + 2  # one per cell + one per FactorizedReduce (cells 3, 6)
    assert counts["slice"] == 2 * 2  # two per FactorizedReduce
    assert counts["max_pool2d"] == 2 * 5
    assert counts["input"] == 1 and counts["linear"] == 1


def test_skip_connect_is_factorized_reduce_only_at_stride_two():
    skips = [("skip_connect", 0), ("skip_connect", 1)] * 4
    g = darts.Genotype(skips, [2, 3, 4, 5], skips, [2, 3, 4, 5])
    net = darts.network(g, cells=3)  # reductions at cells 1 and 2
    # every reduction op reads a cell input at stride 2: 8 FactorizedReduces per
    # reduction cell, plus the preprocess of cell 2 (after a reduction)
    assert net.op_counts()["slice"] == 2 * (8 + 8 + 1)
    one_reduction = darts.network(g, cells=1)  # its only cell is a reduction cell
    assert one_reduction.op_counts()["slice"] == 2 * 8


def test_generated_graphs_are_valid_labelled_dags():
    graphs = darts.generate(num_genotypes=6, depths=(5, 8))
    assert len(graphs) == 12
    for g in graphs:
        assert g.labels["source"] == "darts" and g.labels["coarse"] == "nas-cell"
        assert g.labels["family"].startswith("darts-g")
        assert darts.Genotype.decode(g.labels["genotype"]).encode() == g.labels["genotype"]
        src, dst = g.edges
        assert (src < dst).all()  # nodes are in topological order, so no cycle
        assert g.op_counts()["input"] == 1
        # every node but the output feeds something: no dangling op
        assert len(set(range(g.num_nodes)) - set(src.tolist())) == 1


def test_same_seed_same_graphs_other_seed_other_genotypes():
    a = darts.generate(num_genotypes=4, depths=(5,), seed=3)
    b = darts.generate(num_genotypes=4, depths=(5,), seed=3)
    c = darts.generate(num_genotypes=4, depths=(5,), seed=4)
    assert a == b
    assert {g.labels["genotype"] for g in a}.isdisjoint(g.labels["genotype"] for g in c)


def test_members_of_a_genotype_share_its_label_and_grow_with_depth():
    depths = (5, 8, 11)
    graphs = darts.generate(num_genotypes=5, depths=depths, stems=("cifar", "imagenet"))
    assert len(graphs) == 5 * 3 * 2
    by_family: dict[str, list[archmotif.OpGraph]] = {}
    for g in graphs:
        by_family.setdefault(g.labels["family"], []).append(g)
    assert len(by_family) == 5
    assert len({gs[0].labels["genotype"] for gs in by_family.values()}) == 5
    for members in by_family.values():
        assert len({g.labels["genotype"] for g in members}) == 1
        for stem in ("cifar", "imagenet"):
            sizes = [g.num_nodes for g in members if g.labels["stem"] == stem]
            assert sizes == sorted(sizes) and len(set(sizes)) == len(depths)


def test_ops_are_the_traced_model_vocabulary():
    builtin_ops = set()
    for g in archmotif.datasets.load("builtin"):
        builtin_ops |= set(g.op_names)
    g = darts.network(darts.DARTS_V1, cells=8, stem="imagenet", auxiliary=True)
    # both normalised, as datasets.load gives them (archmotif.normalize)
    assert set(normalize(g).op_counts()) <= builtin_ops


def test_auxiliary_head_adds_a_second_classifier():
    plain = darts.network(darts.DARTS_V2, cells=8)
    aux = darts.network(darts.DARTS_V2, cells=8, auxiliary=True)
    assert aux.num_nodes == plain.num_nodes + 10
    assert aux.op_counts()["linear"] == 2
    assert aux.labels["auxiliary"] == "true" and aux.name.endswith("-aux")


def test_mining_finds_the_repeated_cell():
    cells = 8
    g = darts.network(darts.DARTS_V2, cells=cells)
    mined = archmotif.mine([g], progress=False)
    normal_cells = cells - 2
    largest_op = max(len(chain) for chain in darts.OP_EXPANSIONS.values())
    # a motif spanning more than one op of the cell (larger than any op's expansion)
    # recurs at least once per normal cell
    repeated = [m for m in mined.vocabulary if m.count >= normal_cells]
    assert max(m.num_nodes for m in repeated) > largest_op
    assert mined.macro_graphs[0].reduction > 5


@pytest.mark.parametrize(
    ("normal", "message"),
    [
        ([("sep_conv_9x9", 0), ("skip_connect", 1)] * 4, "unknown op 'sep_conv_9x9'"),
        ([("sep_conv_3x3", 0), ("skip_connect", 2)] * 4, "input 2 out of range"),
        ([("sep_conv_3x3", 0)] * 7, "two (op, input) pairs per node"),
        ([("sep_conv_3x3",)] * 8, "must be an (op, input) pair"),
        ([1] * 8, "must be an (op, input) pair"),
        (5, "must be a list of (op, input) pairs"),
    ],
)
def test_bad_genotypes_raise_spec_error(normal, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        darts.Genotype(normal, [2, 3, 4, 5], darts.DARTS_V2.reduce, [2, 3, 4, 5])


def test_costs_of_the_published_networks_and_their_width():
    # DARTS (second order), as evaluated: 3.3 M parameters on CIFAR-10 (C=36, 20 cells),
    # 4.7 M on ImageNet (C=48, 14 cells); DARTS counts them without the auxiliary head
    cifar = darts.network(darts.DARTS_V2)
    imagenet = darts.network(darts.DARTS_V2, cells=14, stem="imagenet")
    assert (cifar.labels["params"], imagenet.labels["params"]) == ("3349342", "4718752")
    assert (cifar.labels["channels"], imagenet.labels["channels"]) == ("36", "48")
    aux = darts.network(darts.DARTS_V2, auxiliary=True)
    assert int(aux.labels["params"]) > int(cifar.labels["params"])
    assert int(aux.labels["flops"]) > int(cifar.labels["flops"])
    # the width changes the costs, not the graph
    narrow = darts.network(darts.DARTS_V2, channels=16)
    assert narrow.node_ops() == cifar.node_ops()
    assert np.array_equal(narrow.edges, cifar.edges)
    for key in ("params", "flops", "memory"):
        assert int(narrow.labels[key]) < int(cifar.labels[key])
    assert cifar.node_flops.sum() == int(cifar.labels["flops"])
    # FLOPs only where torch counts them: convolutions and the classifier
    counted = {cifar.op_names[o] for o, f in zip(cifar.ops, cifar.node_flops, strict=True) if f}
    assert counted == {"convolution", "linear"}


def test_bad_arguments_raise_spec_error():
    with pytest.raises(SpecError, match="distinct states"):
        darts.Genotype(darts.DARTS_V2.normal, [2, 2], darts.DARTS_V2.reduce, [2, 3, 4, 5])
    with pytest.raises(SpecError, match="cells must be a positive int"):
        darts.network(darts.DARTS_V2, cells=0)
    with pytest.raises(SpecError, match="stem must be one of"):
        darts.network(darts.DARTS_V2, stem="mnist")
    for channels in (0, 15, 2.0, True):
        with pytest.raises(SpecError, match="channels must be a positive even int"):
            darts.network(darts.DARTS_V2, channels=channels)
    with pytest.raises(SpecError, match="not an encoded DARTS genotype"):
        darts.Genotype.decode("normal=garbage")


def test_random_genotypes_draw_distinct_inputs_from_earlier_states():
    rng = np.random.default_rng(0)
    for _ in range(50):
        g = darts.random_genotype(rng)
        for cell in (g.normal, g.reduce):
            assert all(op in darts.PRIMITIVES for op, _ in cell)
            for i in range(4):
                (_, a), (_, b) = cell[2 * i : 2 * i + 2]
                assert a != b and max(a, b) < i + 2


def test_default_dataset_is_500_graphs_of_100_genotypes():
    graphs = archmotif.datasets.load("darts")
    assert len(graphs) == 500
    assert len({g.labels["family"] for g in graphs}) == 100
    assert len({g.labels["genotype"] for g in graphs}) == 100
    # the classes are told apart by the graphs themselves: no two genotypes draw the
    # same network (3x3 and 5x5 kernels draw the same nodes, so this is not automatic)
    shallow = [g for g in graphs if g.labels["cells"] == "8"]
    assert len({archmotif.canonical_hash(g) for g in shallow}) == 100


def test_kernel_sizes_are_visible_only_with_attributes():
    swapped = darts.Genotype(
        [(op.replace("3x3", "5x5"), j) for op, j in darts.DARTS_V2.normal],
        darts.DARTS_V2.normal_concat,
        darts.DARTS_V2.reduce,
        darts.DARTS_V2.reduce_concat,
    )
    a, b = darts.network(darts.DARTS_V2, cells=5), darts.network(swapped, cells=5)
    assert a.labels["family"] != b.labels["family"]
    assert archmotif.canonical_hash(a, detail="op") == archmotif.canonical_hash(b, detail="op")
    assert archmotif.canonical_hash(a.view("attrs")) != archmotif.canonical_hash(b.view("attrs"))
    assert b.view("attrs").op_counts()["convolution[k5,dw]"] > 0


def test_separable_dilated_and_pool_ops_carry_darts_attributes():
    ops = [
        ("sep_conv_3x3", 0), ("dil_conv_5x5", 1), ("max_pool_3x3", 0), ("avg_pool_3x3", 1),
        ("skip_connect", 0), ("conv_7x1_1x7", 1), ("sep_conv_7x7", 0), ("skip_connect", 1),
    ]  # fmt: skip
    g = darts.Genotype(ops, [2, 3, 4, 5], ops, [2, 3, 4, 5])
    counts = darts.network(g, cells=3).view("attrs").op_counts()
    # cell 1 of 3 reduces: its ops on cell inputs (all of them here) have stride 2
    for op in ("convolution[k3,dw]", "convolution[k3,s2,dw]", "convolution[k5,d2,dw]",
               "convolution[k5,s2,d2,dw]", "max_pool2d[k3]", "max_pool2d[k3,s2]",
               "avg_pool2d[k3,s2]", "convolution[k1x7,s1x2]", "convolution[k7x1,s2x1]",
               "convolution[k7,dw]", "convolution[k1,s2]", "convolution[k1]"):  # fmt: skip
        assert counts[op] > 0, op


def test_cli_dataset_info_and_export(capsys, tmp_path) -> None:
    from archmotif.cli import main as cli
    from archmotif.corpus import load_corpus

    assert cli(["dataset", "info", "darts"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("darts (generated in") and "500 graphs" in out
    assert "family: darts-g000 5" in out
    path = tmp_path / "darts.npz"
    assert cli(["dataset", "export", "darts", "-o", str(path)]) == 0
    assert load_corpus(path) == archmotif.datasets.load("darts")
