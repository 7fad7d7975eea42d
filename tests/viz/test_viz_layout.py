"""Layered layout of macro graphs and the recovery of motif hierarchies for the viewer."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif.errors import GraphError
from archmotif.viz.hierarchy import instance_positions, motif_splits
from archmotif.viz.layout import count_crossings, layered_layout


def _random_dag(n: int, p: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    src, dst = np.nonzero(np.triu(rng.random((n, n)) < p, k=1))
    perm = rng.permutation(n)  # node ids not in topological order
    return np.stack([perm[src], perm[dst]]).astype(np.int64)


@pytest.mark.parametrize("seed", range(5))
def test_every_edge_points_down_and_places_are_unique(seed: int) -> None:
    edges = _random_dag(60, 0.08, seed)
    lay = layered_layout(60, edges)
    assert (lay.layer[edges[0]] < lay.layer[edges[1]]).all()
    for layer in range(lay.num_layers):
        ranks = np.sort(lay.rank[lay.layer == layer])
        assert ranks.tolist() == list(range(ranks.size))


def test_a_source_sits_just_above_its_consumer() -> None:
    # 0 -> 1 -> 2 -> 3 and a lone source 4 -> 3 (a mask feeding a deep node)
    lay = layered_layout(5, np.array([[0, 1, 2, 4], [1, 2, 3, 3]]))
    assert lay.layer.tolist() == [0, 1, 2, 3, 2]


def test_barycentre_sweeps_untangle_a_crossing() -> None:
    # 2 feeds 0, 3 and 6; 1 feeds 3 and 5; 0 feeds 4: in topological order the edges
    # into the third layer cross
    edges = np.array([[2, 2, 2, 0, 1, 1], [0, 6, 3, 4, 5, 3]])
    assert count_crossings(layered_layout(7, edges, sweeps=0), edges) > 0
    assert count_crossings(layered_layout(7, edges), edges) == 0


def test_crossing_count_matches_brute_force_and_sweeps_never_hurt() -> None:
    for seed in range(8):
        edges = _random_dag(40, 0.1, seed)
        lay = layered_layout(40, edges, sweeps=0)
        short = [(u, v) for u, v in edges.T.tolist() if lay.layer[v] - lay.layer[u] == 1]
        brute = sum(
            1
            for i, (a, b) in enumerate(short)
            for c, d in short[i + 1 :]
            if lay.layer[a] == lay.layer[c]
            and (lay.rank[a] - lay.rank[c]) * (lay.rank[b] - lay.rank[d]) < 0
        )
        assert count_crossings(lay, edges) == brute
        assert count_crossings(layered_layout(40, edges), edges) <= brute


def test_bad_graphs_raise_graph_error() -> None:
    with pytest.raises(GraphError, match="cycle"):
        layered_layout(3, np.array([[0, 1, 2], [1, 2, 0]]))
    with pytest.raises(GraphError, match="outside"):
        layered_layout(2, np.array([[0], [5]]))
    assert layered_layout(0, np.zeros((2, 0))).num_layers == 0


@pytest.fixture(scope="module")
def builtin_mined() -> archmotif.Mined:
    return archmotif.mine(archmotif.datasets.load("builtin"), progress=False)


def _check_positions(mg: archmotif.MacroGraph, pos: np.ndarray) -> None:
    g = mg.graph
    names = np.asarray(g.op_names, dtype=object)[g.ops]
    for k, nodes in enumerate(mg.instances):
        m = mg.vocabulary[int(mg.motifs[k])]
        p = pos[nodes]
        assert sorted(p.tolist()) == list(range(m.num_nodes))
        assert [m.ops[q] for q in p] == names[nodes].tolist()
        inside = np.isin(g.edges[0], nodes) & np.isin(g.edges[1], nodes)
        mapped = {(int(pos[u]), int(pos[v])) for u, v in g.edges[:, inside].T}
        assert mapped == set(map(tuple, m.edges.T.tolist()))


def test_every_operator_gets_its_canonical_position(builtin_mined: archmotif.Mined) -> None:
    for mg in builtin_mined.macro_graphs[::7]:
        _check_positions(mg, instance_positions(mg))


def test_positions_survive_a_renumbering_of_the_nodes(builtin_mined: archmotif.Mined) -> None:
    # instances numbered differently from the first one found: the matcher, not the
    # remembered template, must map them
    g = builtin_mined.graphs[2]
    perm = np.random.default_rng(0).permutation(g.num_nodes)
    h = archmotif.OpGraph(g.ops[np.argsort(perm)], perm[g.edges], op_names=g.op_names)
    mg = builtin_mined.apply([h], progress=False)[0]
    _check_positions(mg, instance_positions(mg))


def test_motifs_split_into_their_children(builtin_mined: archmotif.Mined) -> None:
    vocab = builtin_mined.vocabulary
    roots = sorted({int(i) for mg in builtin_mined.macro_graphs for i in mg.motifs})
    splits = motif_splits(vocab, roots)
    assert len(splits) > 100
    for i, split in splits.items():
        m = vocab[i]
        assert split is not None, f"motif {i} did not split into its children"
        slot, sub = split
        for j, c in enumerate(m.children):
            child = vocab[c]
            positions = [p for p in range(m.num_nodes) if slot[p] == j]
            local = {p: sub[p] for p in positions}
            assert sorted(local.values()) == list(range(child.num_nodes))
            assert all(m.ops[p] == child.ops[local[p]] for p in positions)
            inner = [(u, v) for u, v in m.edges.T.tolist() if u in local and v in local]
            edges = {(local[u], local[v]) for u, v in inner}
            assert edges == set(map(tuple, child.edges.T.tolist()))


def test_no_budget_means_a_flat_view_not_an_error(builtin_mined: archmotif.Mined) -> None:
    mg = builtin_mined.macro_graphs[2]
    roots = sorted({int(i) for i in mg.motifs})
    assert all(s is None for s in motif_splits(mg.vocabulary, roots, budget=0).values())
    pos = instance_positions(mg, budget=0)
    sizes = np.bincount(mg.node_to_macro)
    # only single-operator instances can be placed without searching
    assert ((pos == 0) == (sizes[mg.node_to_macro] == 1)).all()
