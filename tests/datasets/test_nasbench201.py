"""NAS-Bench-201: the official index order, exact sizes of a known cell, how dead and
disconnected cells are drawn, labels, and the verified analog-nasbench accuracy
mapping."""

from __future__ import annotations

import importlib.util
import itertools
import pickle
import sys
import types

import numpy as np
import pytest

import archmotif
from archmotif.datasets import analog_nasbench
from archmotif.datasets import nasbench201 as nb
from archmotif.errors import FormatError, SpecError

HAS_ANB = importlib.util.find_spec("analognasbench") is not None
needs_anb = pytest.mark.skipif(not HAS_ANB, reason="analog-nasbench is not installed")


def uniform(op: str) -> str:
    return f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|"


def test_all_15625_arch_strings_are_distinct_and_round_trip():
    strings = [nb.arch_string(i) for i in range(nb.NUM_ARCHS)]
    assert len(set(strings)) == nb.NUM_ARCHS == 15625
    assert all(nb.arch_index(s) == i for i, s in enumerate(strings[:2000]))


def test_index_order_is_the_official_one():
    # the three indices NAS-Bench-201's generate_meta_info asserts after its shuffle
    assert nb.arch_string(0) == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|"
        "skip_connect~2|"
    )
    assert nb.arch_string(9) == (
        "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    )
    assert nb.arch_string(123) == (
        "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    )
    # the last index, from replaying the same enumeration and shuffle
    assert nb.arch_string(15624) == (
        "|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|none~0|nor_conv_1x1~1|nor_conv_1x1~2|"
    )


def test_all_conv3x3_network_counts_match_the_hand_count():
    # cell: node1 = conv(x): 3 nodes; node2 = conv(x) + conv(n1): 6 + 1 add;
    # node3 = conv(x) + conv(n1) + conv(n2): 9 + 2 adds (a chain of binary adds)
    cell_nodes = 3 + (6 + 1) + (9 + 2)
    # 6 relu-conv-bn chains of 3 edges (one reads the source node); adds: 2 + 2 + 2
    cell_edges = 6 * 3 + 2 + 2 * 2
    c = nb.cell(uniform("nor_conv_3x3"))
    assert (c.num_nodes, c.num_edges) == (1 + cell_nodes, cell_edges) == (22, 24)
    # input + stem (2) + 15 cells + 2 residual blocks (9 nodes, 10 edges) + head (5)
    nodes = 1 + 2 + 15 * cell_nodes + 2 * 9 + 5
    edges = 2 + 15 * cell_edges + 2 * 10 + 5
    g = nb.network(uniform("nor_conv_3x3"), with_accuracy=False)
    assert (g.num_nodes, g.num_edges) == (nodes, edges) == (341, 387)
    assert g.labels["family"] == "nb201-conv:6-pool:0-add:3"
    assert g.labels["op_mix"] == "c3:6-c1:0-pool:0-skip:0"


def test_cells_differing_only_in_dead_edges_give_identical_graphs():
    # node 1 has no input (0->1 is none), so whatever reads it reads zeros
    a = "|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    b = "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    # node 2 feeds nothing (2->3 is none), so its ops are discarded
    c = "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    d = "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    ga, gb, gc, gd = (nb.network(x, with_accuracy=False) for x in (a, b, c, d))
    assert ga.node_ops() == gb.node_ops() and np.array_equal(ga.edges, gb.edges)
    assert ga.labels["effective_arch"] == gb.labels["effective_arch"] != ga.labels["arch"]
    assert archmotif.canonical_hash(nb.cell(a)) == archmotif.canonical_hash(nb.cell(b))
    assert gc.node_ops() == gd.node_ops() and np.array_equal(gc.edges, gd.edges)
    assert ga.num_nodes < nb.network(a.replace("none~0|+", "skip_connect~0|+")).num_nodes


def test_disconnected_cells_are_one_zeros_like_node():
    dead = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
    c = nb.cell(dead)
    assert c.node_ops() == ["input", "zeros_like"] and c.edges.tolist() == [[0], [1]]
    g = nb.network(dead, with_accuracy=False)
    assert g.op_counts()["zeros_like"] == 15
    assert g.labels["family"] == "nb201-zero"
    assert archmotif.canonical_hash(g) == archmotif.canonical_hash(
        nb.network(uniform("none"), with_accuracy=False)
    )


def test_identity_cells_leave_only_the_skeleton():
    g = nb.network(uniform("skip_connect"), with_accuracy=False)
    only_skip = "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    # node 1 = x and node 3 = x: the cell is the identity and draws no node
    assert nb.network(only_skip, with_accuracy=False).num_nodes == 1 + 2 + 2 * 9 + 5
    # all skips: node 2 = add(x, n1) with n1 = x (one edge: an op reading a tensor twice
    # depends on it once), node 3 = add(add(x, n1), n2): 3 adds per cell
    assert g.op_counts()["add"] == 2 + 15 * 3


def test_generate_labels_and_order():
    graphs = nb.generate(limit=40, with_accuracy=False)
    assert [g.labels["index"] for g in graphs] == [str(i) for i in range(40)]
    for i, g in enumerate(graphs):
        assert g.labels["source"] == "nasbench201" and g.labels["coarse"] == "nas-cell"
        assert g.labels["arch"] == nb.arch_string(i)
        assert g.labels["family"].startswith("nb201-")
        assert "cifar10_accuracy" not in g.labels
        src, dst = g.edges
        assert (src < dst).all()  # topological node order: a DAG


def test_all_networks_generate_with_their_classes():
    graphs = archmotif.datasets.load("nasbench201")
    assert len(graphs) == 15625
    assert len({g.labels["arch"] for g in graphs}) == 15625
    assert len({g.labels["op_mix"] for g in graphs}) == 210  # 6 ops over 5, none merged
    assert len({g.labels["family"] for g in graphs}) == 75
    assert sum(g.labels["family"] == "nb201-zero" for g in graphs) == 341
    assert len({g.op_names for g in graphs}) == 1  # one shared vocabulary
    # costs survive normalisation (datasets.load normalises) and add up
    assert all(g.node_flops.sum() == int(g.labels["flops"]) for g in graphs)
    # NAS-Bench-201's CIFAR-10 tables give parameters of 0.073306 to 1.531546 MB (10^6
    # parameters) and 7.78305 to 220.11969 MFLOPs, which are multiply-accumulates plus
    # the classifier's 10 bias additions; ours are 2 x multiply-accumulates
    params = [int(g.labels["params"]) for g in graphs]
    macs = [int(g.labels["flops"]) // 2 + 10 for g in graphs]
    assert (min(params), max(params)) == (73_306, 1_531_546)
    assert (min(macs), max(macs)) == (7_783_050, 220_119_690)
    # the kernel-aware multiset of live ops fixes parameters and FLOPs, not memory
    by_mix: dict[str, set[tuple[str, str]]] = {}
    for g in graphs:
        by_mix.setdefault(g.labels["op_mix"], set()).add((g.labels["params"], g.labels["flops"]))
    assert all(len(costs) == 1 for costs in by_mix.values())


def test_family_is_a_function_of_the_graph():
    # retrieval can only recover what the graph shows: isomorphic networks share a
    # family, although their op_mix may differ (1x1 vs 3x3 convolutions, skip chains)
    family_of: dict[int, set[str]] = {}
    op_mix_of: dict[int, set[str]] = {}
    for g in nb.generate(limit=4000, with_accuracy=False):
        h = archmotif.canonical_hash(g, detail="op")  # the coarser partition: plain ops
        family_of.setdefault(h, set()).add(g.labels["family"])
        op_mix_of.setdefault(h, set()).add(g.labels["op_mix"])
    assert all(len(f) == 1 for f in family_of.values())
    assert any(len(m) > 1 for m in op_mix_of.values())
    same = [uniform("nor_conv_1x1"), uniform("nor_conv_3x3")]
    plain = {archmotif.canonical_hash(nb.network(a, with_accuracy=False), detail="op")
             for a in same}  # fmt: skip
    assert len(plain) == 1


def computation(index: int) -> tuple:
    """What a cell computes once dead ops are dropped (the generator's rule): node 3 as a
    sum (a sorted multiset of terms, a skip passing its source's terms through)."""
    eff = nb._effective(nb._official_order()[index])
    value: dict[int, tuple | None] = {0: ("x",)}
    for j in (1, 2, 3):
        terms: list = []
        for op, (i, jj) in zip(eff, nb.EDGES, strict=True):
            if jj == j and op and value[i] is not None:
                terms += value[i] if nb.OPS[op] == "skip_connect" else [(nb.OPS[op], value[i])]
        value[j] = tuple(sorted(terms, key=repr)) or None
    return value[3] or ()


def test_attributes_tell_apart_5933_networks_none_merging_two_computations():
    graphs = nb.generate(with_accuracy=False)
    plain = {archmotif.canonical_hash(g, detail="op") for g in graphs}
    by_id: dict[int, set[tuple]] = {}
    for i, g in enumerate(graphs):
        by_id.setdefault(archmotif.canonical_hash(g.view("attrs")), set()).add(computation(i))
    assert len(plain) == 1115  # the plain view: as before
    # NAS-Bench-201's own count of distinct cells is 6,466 (xautodl's to_unique_str with
    # zeros kept); dropping dead ops leaves 4,930 distinct computations, and a graph also
    # tells a shared result from two equal ops and keeps the order of binary adds
    assert len(by_id) == 5933
    assert all(len(c) == 1 for c in by_id.values())  # never two computations in one id
    assert len(set.union(*by_id.values())) == 4930
    same = [uniform("nor_conv_1x1"), uniform("nor_conv_3x3")]
    views = [nb.network(a, with_accuracy=False).view("attrs") for a in same]
    assert archmotif.canonical_hash(views[0]) != archmotif.canonical_hash(views[1])


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("|nor_conv_3x3~0|+|none~0|none~1|", "expected 3 nodes"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "reads '1', expected 0"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 inputs"),
    ],
)
def test_malformed_arch_strings_raise_spec_error(arch, message):
    with pytest.raises(SpecError, match=message):
        nb.network(arch)


def test_bad_indices_and_limits_raise_spec_error():
    for bad in (-1, 15625, True, 2.0):
        with pytest.raises(SpecError):
            nb.arch_string(bad)
    with pytest.raises(SpecError, match="limit must be"):
        nb.generate(limit=20000)


@needs_anb
def test_accuracy_mapping_matches_known_nas_bench_201_facts():
    acc = nb.cifar10_accuracies()
    assert acc is not None and acc.shape == (15625,) and not acc.flags.writeable
    by_op = {op: acc[nb.arch_index(uniform(op))] for op in nb.OPS}
    assert by_op["nor_conv_3x3"] > by_op["nor_conv_1x1"] > 85
    assert by_op["nor_conv_1x1"] > by_op["skip_connect"] > by_op["none"]
    assert by_op["avg_pool_3x3"] > by_op["none"] == 10.0
    best = nb.arch_string(int(np.argmax(acc)))
    assert "|skip_connect~0|" in best.split("+")[2]  # the residual 0->3 skip
    # chance level exactly where the output is disconnected from the input
    graphs = nb.generate()
    zero = np.array([g.labels["family"] == "nb201-zero" for g in graphs])
    assert (acc[zero] == 10.0).all() and (acc[~zero] > 10.5).all()
    assert graphs[0].labels["cifar10_accuracy"] == repr(round(float(acc[0]), 4))


@needs_anb
def test_identically_drawn_cells_have_the_same_accuracy():
    # a wrong edge order or none index would group unrelated cells (the mirror edge
    # order explains only 35% of the variance this way)
    acc = nb.cifar10_accuracies()
    groups = {}
    for g in nb.generate(with_accuracy=False):
        groups.setdefault(g.labels["effective_arch"], []).append(int(g.labels["index"]))
    means = np.empty_like(acc)
    for members in groups.values():
        means[members] = acc[members].mean()
    explained = 1 - ((acc - means) ** 2).sum() / ((acc - acc.mean()) ** 2).sum()
    assert explained > 0.999 and np.abs(acc - means).max() < 6


@needs_anb
def test_skip_connect_is_the_identity_in_the_accuracy_data():
    # single-path cells of skips compute y = x whatever the path's length: one accuracy
    # (within training noise); single-path cells of pools blur more with every hop
    acc = nb.cifar10_accuracies()
    paths = [
        "|{0}~0|+|none~0|none~1|+|none~0|{0}~1|none~2|",  # 0 -> 1 -> 3
        "|none~0|+|{0}~0|none~1|+|none~0|none~1|{0}~2|",  # 0 -> 2 -> 3
        "|{0}~0|+|none~0|{0}~1|+|none~0|none~1|{0}~2|",  # 0 -> 1 -> 2 -> 3
        "|none~0|+|none~0|none~1|+|{0}~0|none~1|none~2|",  # 0 -> 3
    ]
    skip = [acc[nb.arch_index(p.format("skip_connect"))] for p in paths]
    pool = [acc[nb.arch_index(p.format("avg_pool_3x3"))] for p in paths]
    assert max(skip) - min(skip) < 1.0
    assert max(pool) - min(pool) > 5.0 and pool[2] < pool[3]


@pytest.fixture
def anb_file(monkeypatch, tmp_path):
    """Points the accuracy loader at a file of the test's choosing."""
    path = tmp_path / "data.anb"
    monkeypatch.setattr(analog_nasbench, "_anb_path", lambda: str(path))
    nb.cifar10_accuracies.cache_clear()
    yield path
    nb.cifar10_accuracies.cache_clear()


def test_without_analog_nasbench_graphs_come_without_accuracy(monkeypatch):
    monkeypatch.setattr(analog_nasbench, "_anb_path", lambda: None)
    nb.cifar10_accuracies.cache_clear()
    try:
        assert nb.cifar10_accuracies() is None
        g = nb.generate(limit=3)[2]
        assert "cifar10_accuracy" not in g.labels and g.labels["arch"] == nb.arch_string(2)
    finally:
        nb.cifar10_accuracies.cache_clear()


def test_corrupt_accuracy_file_raises_format_error_naming_it(anb_file):
    anb_file.write_bytes(b"not a pickle at all")
    with pytest.raises(FormatError, match="data.anb"):
        nb.cifar10_accuracies()


def test_accuracy_file_with_foreign_objects_is_refused_unexecuted(anb_file):
    anb_file.write_bytes(pickle.dumps({(0,) * 6: print}))  # a global outside the allow-list
    with pytest.raises(FormatError, match="unexpected object builtins.print"):
        nb.cifar10_accuracies()


def test_accuracy_file_contradicting_the_encoding_is_refused(anb_file, monkeypatch):
    class Architecture:  # pickled under the name analog-nasbench's records have
        def __init__(self, acc: float) -> None:
            self.baseline_accuracy = acc

    Architecture.__module__, Architecture.__qualname__ = "analognasbench.data", "Architecture"
    package, module = types.ModuleType("analognasbench"), types.ModuleType("analognasbench.data")
    module.Architecture = Architecture
    package.data = module
    monkeypatch.setitem(sys.modules, "analognasbench", package)
    monkeypatch.setitem(sys.modules, "analognasbench.data", module)
    # every cell at 50%: contradicts "chance level exactly where the output is cut off"
    data = {k: Architecture(50.0) for k in itertools.product(range(5), repeat=6)}
    anb_file.write_bytes(pickle.dumps(data))
    with pytest.raises(FormatError, match="contradicts the verified op encoding"):
        nb.cifar10_accuracies()


def test_cli_dataset_info(capsys) -> None:
    from archmotif.cli import main as cli

    assert cli(["dataset", "info", "nasbench201"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("nasbench201 (generated in") and "15625 graphs" in out
    assert "(75 values)" in out
