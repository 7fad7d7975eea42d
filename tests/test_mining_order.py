"""mine() does not depend on how nodes are numbered: under random renumberings of
every graph, the vocabulary (ids, counts, support, levels, order) is the same and
every macro graph is the same up to the renumbering (isomorphic where a symmetry
makes two choices equivalent), on every built-in graph and a DARTS sample."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif import OpGraph
from archmotif.datasets import darts


def _renumbered(g: OpGraph, rng: np.random.Generator) -> tuple[OpGraph, np.ndarray]:
    perm = rng.permutation(g.num_nodes)  # old id -> new id
    ops = np.empty_like(g.ops)
    ops[perm] = g.ops
    edges = perm[g.edges] if g.num_edges else g.edges
    attrs = None
    if g.attrs is not None:  # mined at the default level, attributes included
        attrs = np.empty_like(g.attrs)
        attrs[perm] = g.attrs
    moved = OpGraph(
        ops,
        edges,
        op_names=g.op_names,
        name=g.name,
        labels=g.labels,
        attrs=attrs,
        attr_names=g.attr_names if attrs is not None else None,
    )
    return moved, perm


def _vocabulary(m: archmotif.Mined) -> list[tuple]:
    return [(x.id, x.count, x.support, x.level, x.children, x.ops) for x in m.vocabulary]


def _macro_id(mg, ids) -> int:
    """Exact canonical id of a macro graph: motif ids as node labels, each edge
    subdivided by a node labelled with its multiplicity."""
    names = [str(ids[j]) for j in mg.motifs.tolist()]
    src, dst = [], []
    for (a, b), w in zip(mg.edges.T.tolist(), mg.weights.tolist(), strict=True):
        names.append(f"x{w}")
        src += [a, len(names) - 1]
        dst += [len(names) - 1, b]
    return archmotif.canonical_hash(OpGraph(names, [src, dst]))


def _same_up_to(a, b, perm: np.ndarray) -> bool:
    """b's macro graph is a's with nodes renamed by ``perm``."""
    if a.num_nodes != b.num_nodes:
        return False
    mapping = np.full(a.num_nodes, -1)
    mapping[a.node_to_macro] = b.node_to_macro[perm]
    if not (b.node_to_macro[perm] == mapping[a.node_to_macro]).all():
        return False
    if not (a.motifs == b.motifs[mapping]).all():
        return False
    ea = sorted(zip(mapping[a.edges[0]].tolist(), mapping[a.edges[1]].tolist(),
                    a.weights.tolist(), strict=True))  # fmt: skip
    eb = sorted(zip(*b.edges.tolist(), b.weights.tolist(), strict=True))
    return ea == eb


def _check(graphs: list[OpGraph], seeds: range) -> None:
    base = archmotif.mine(graphs, progress=False)
    ids = [x.id for x in base.vocabulary]
    for seed in seeds:
        rng = np.random.default_rng(seed)
        moved = [_renumbered(g, rng) for g in graphs]
        m = archmotif.mine([g for g, _ in moved], progress=False)
        assert _vocabulary(m) == _vocabulary(base), f"seed {seed}"
        for i, ((_, perm), a, b) in enumerate(zip(moved, base.macro_graphs, m.macro_graphs,
                                                  strict=True)):  # fmt: skip
            if _same_up_to(a, b, perm):
                continue
            # a symmetry made two choices equivalent: isomorphic is what is promised
            assert _macro_id(a, ids) == _macro_id(b, ids), (seed, i)


def test_builtin_mines_alike_under_random_renumberings():
    _check(archmotif.datasets.load("builtin"), range(3))


def test_darts_mines_alike_under_random_renumberings():
    _check(darts.generate(8, depths=(8, 14), seed=1), range(3))


@pytest.mark.parametrize("threads", [1, 2])
def test_apply_of_a_renumbered_graph_is_the_renumbered_macro_graph(threads):
    graphs = archmotif.datasets.load("builtin")[::7]
    m = archmotif.mine(graphs, progress=False, threads=threads)
    rng = np.random.default_rng(5)
    moved = [_renumbered(g, rng) for g in graphs]
    applied = m.apply([g for g, _ in moved], progress=False)
    ids = [x.id for x in m.vocabulary]
    for (_, perm), a, b in zip(moved, m.macro_graphs, applied, strict=True):
        assert _same_up_to(a, b, perm) or _macro_id(a, ids) == _macro_id(b, ids)
