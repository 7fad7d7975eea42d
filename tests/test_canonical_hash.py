"""canonical_hash: equal exactly for isomorphic graphs (networkx VF2 as oracle)."""

from __future__ import annotations

import os
import signal
import threading

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archmotif
from archmotif import OpGraph, canonical_hash, synthetic


@st.composite
def small_dags(draw, max_n=7, ops=("conv", "relu", "add")):
    n = draw(st.integers(1, max_n))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    pairs = sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b})
    labels = draw(st.lists(st.sampled_from(ops), min_size=n, max_size=n))
    return labels, pairs


def _permuted(labels, pairs, perm):
    new_labels = [None] * len(labels)
    for v, p in enumerate(perm):
        new_labels[p] = labels[v]
    return new_labels, [(perm[a], perm[b]) for a, b in pairs]


@settings(max_examples=300, deadline=None)
@given(small_dags(max_n=10), st.randoms(use_true_random=False))
def test_node_order_never_changes_the_id(spec, rnd):
    labels, pairs = spec
    perm = list(range(len(labels)))
    rnd.shuffle(perm)
    a = OpGraph.from_edges(labels, pairs)
    b = OpGraph.from_edges(*_permuted(labels, pairs, perm))
    assert canonical_hash(a) == canonical_hash(b)


@settings(max_examples=400, deadline=None)
@given(small_dags(), small_dags())
def test_ids_agree_with_vf2(x, y):
    ga, gb = OpGraph.from_edges(*x), OpGraph.from_edges(*y)
    iso = nx.is_isomorphic(
        ga.to_networkx(), gb.to_networkx(), node_match=lambda p, q: p["op"] == q["op"]
    )
    assert (canonical_hash(ga) == canonical_hash(gb)) == iso


@settings(max_examples=300, deadline=None)
@given(small_dags(ops=("op",)), small_dags(ops=("op",)))
def test_ids_agree_with_vf2_with_one_label_everywhere(x, y):
    ga, gb = OpGraph.from_edges(*x), OpGraph.from_edges(*y)
    iso = nx.is_isomorphic(ga.to_networkx(), gb.to_networkx())
    assert (canonical_hash(ga) == canonical_hash(gb)) == iso


def _incidence(cycles):
    """Vertex nodes feeding one node per undirected edge: 2-regular, WL-hard."""
    n = sum(len(c) for c in cycles)
    ops, pairs = ["v"] * n, []
    for c in cycles:
        for i in range(len(c)):
            e = len(ops)
            ops.append("e")
            pairs += [(c[i], e), (c[(i + 1) % len(c)], e)]
    return OpGraph.from_edges(ops, pairs)


@pytest.mark.filterwarnings("ignore:The hashes produced for directed graphs:UserWarning")
def test_weisfeiler_lehman_cannot_but_we_can():
    six = _incidence([[0, 1, 2, 3, 4, 5]])
    two_threes = _incidence([[0, 1, 2], [3, 4, 5]])
    wl = nx.weisfeiler_lehman_graph_hash
    assert wl(six.to_networkx(), node_attr="op") == wl(two_threes.to_networkx(), node_attr="op")
    assert canonical_hash(six) != canonical_hash(two_threes)


def test_automorphism_rich_motif_is_fast_and_stable():
    # 16 identical parallel branches between one source and one sink: |Aut| = 16!
    ops = ["split"] + ["conv", "relu"] * 16 + ["add"]
    pairs = []
    for i in range(16):
        a = 1 + 2 * i
        pairs += [(0, a), (a, a + 1), (a + 1, 33)]
    g = OpGraph.from_edges(ops, pairs)
    perm = np.random.default_rng(0).permutation(34).tolist()
    assert canonical_hash(g) == canonical_hash(OpGraph.from_edges(*_permuted(ops, pairs, perm)))


def test_id_is_a_non_negative_128_bit_int_that_ignores_vocabulary_order():
    a = OpGraph(np.array([0, 1]), [[0], [1]], op_names=["conv", "relu"])
    b = OpGraph(np.array([1, 0]), [[0], [1]], op_names=["relu", "conv", "unused"])
    h = canonical_hash(a)
    assert isinstance(h, int) and 0 <= h < 2**128
    assert h == canonical_hash(b)
    assert h != canonical_hash(OpGraph(["relu", "conv"], [[0], [1]]))


def test_ids_are_stable_across_versions():
    # Pinned: a change here breaks every stored motif id (a major-version change).
    g = OpGraph(["convolution", "batch_norm", "relu"], [[0, 1], [1, 2]])
    assert canonical_hash(g) == PINNED_CONV_BN_RELU


def test_graphs_past_the_supported_size_raise_limit_error():
    n = 5000
    g = OpGraph(["x"] * n, [list(range(n - 1)), list(range(1, n))])
    with pytest.raises(archmotif.LimitError, match="5000 nodes, more than the supported 4096"):
        canonical_hash(g)


def _shuffled(g: OpGraph, seed: int) -> OpGraph:
    """The same graph with its nodes renumbered at random."""
    perm = np.random.default_rng(seed).permutation(g.num_nodes)
    ops = np.empty_like(g.ops)
    ops[perm] = g.ops
    return OpGraph(ops, perm[g.edges], op_names=g.op_names)


def test_graphs_of_interchangeable_nodes_get_ids_that_ignore_node_order(interchangeable):
    for seed, (name, g) in enumerate(interchangeable.items()):
        assert canonical_hash(g) == canonical_hash(_shuffled(g, seed)), name


def test_symmetric_graphs_keep_the_ids_of_the_original_search():
    # Pinned from the search as it was before it was made fast on symmetric
    # graphs (rust/core/tests/reference): stored motif ids must not change.
    star = OpGraph.from_edges(["hub"] + ["op"] * 48, [(0, i) for i in range(1, 49)])
    diamonds = OpGraph.from_edges(
        ["a", "b", "b", "d"] * 16,
        [(a, a + i) for a in range(0, 64, 4) for i in (1, 2)]
        + [(a + i, a + 3) for a in range(0, 64, 4) for i in (1, 2)],
    )
    layers = [(6 * k + i, 6 * (k + 1) + j) for k in range(5) for i in range(6) for j in range(6)]
    layered = OpGraph.from_edges(["op"] * 36, layers)
    assert canonical_hash(OpGraph(["op"] * 48)) == 276947210312581379047268496680385171006
    assert canonical_hash(diamonds) == 127779672789415049086357648519894484271
    assert canonical_hash(star) == 326440004377580981050000464849449531896
    assert canonical_hash(layered) == 66203746195718772104512414127587361021


_hidden_branches = synthetic.hidden_symmetry


def test_a_search_past_its_work_budget_raises_limit_error_naming_it():
    with pytest.raises(archmotif.LimitError, match="exceeded its budget of 134217728 work units"):
        canonical_hash(_hidden_branches(1000))
    assert isinstance(canonical_hash(_hidden_branches(64)), int)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery")
def test_ctrl_c_interrupts_a_canonical_search():
    # The search runs ~0.2 s before its budget stops it (LimitError); Ctrl-C
    # 20 ms in must stop it from inside instead.
    g = _hidden_branches(1000)
    timer = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        canonical_hash(g)
    timer.join()


PINNED_CONV_BN_RELU = 153223022714601953863543462747334104521
