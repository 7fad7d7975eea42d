"""archmotif.learn.rewrite and the stage-2 training it feeds: blocks, motif siblings,
rewritten views, hard negatives."""

from __future__ import annotations

import json
from collections import Counter

import networkx as nx
import numpy as np
import pytest
import torch
from torch_geometric.data import Data

import archmotif
from archmotif import OpGraph
from archmotif.datasets import load
from archmotif.learn.augment import GraphRewrites, Views
from archmotif.learn.data import macro_data
from archmotif.learn.encoder import Encoder
from archmotif.learn.rewrite import MAX_BLOCK, find_blocks, rewrite, siblings
from archmotif.learn.stages import bag_neighbours
from archmotif.learn.train import _with_partners


def _data(motifs: list[int], edges: list[tuple[int, int]]) -> Data:
    e = torch.tensor(edges, dtype=torch.long).T.reshape(2, -1)
    return Data(
        x=torch.tensor(motifs), edge_index=e, edge_weight=torch.ones(e.shape[1]),
        y=torch.tensor([-100]), num_nodes=len(motifs),
    )  # fmt: skip


def _blocks_as_nodes(d: Data) -> set[tuple[int, ...]]:
    b = find_blocks(d.edge_index, int(d.num_nodes))
    return {tuple(sorted(b.order[i:j].tolist())) for i, j in b.spans.tolist()}


def _is_dag(d: Data) -> bool:
    g = nx.DiGraph()
    g.add_nodes_from(range(int(d.num_nodes)))
    g.add_edges_from(d.edge_index.T.tolist())
    return nx.is_directed_acyclic_graph(g)


def test_every_inner_stretch_of_a_chain_is_a_block():
    n = 6
    d = _data(list(range(n)), [(i, i + 1) for i in range(n - 1)])
    want = {tuple(range(i, j)) for i in range(1, n - 1) for j in range(i + 1, n)}
    assert _blocks_as_nodes(d) == want


def test_blocks_of_a_residual_network_keep_the_skip_inside():
    # 0 -> 1 -> 2 -> 3 (add) <- 0 (skip); 3 -> 4
    d = _data([9, 1, 2, 3, 8], [(0, 1), (1, 2), (2, 3), (0, 3), (3, 4)])
    blocks = _blocks_as_nodes(d)
    assert (1, 2, 3) in blocks  # the block with its add: entered from 0 only
    assert (1, 2) in blocks  # the branch body: entered from 0, left from 2 into the add
    assert (2, 3) not in blocks  # entered from 1 and from 0 (the skip)
    assert (1,) in blocks and (3,) not in blocks  # the add is entered from 2 and 0
    assert all(0 not in b and 4 not in b for b in blocks)  # something before and after


def test_blocks_are_at_most_max_block_long():
    n = MAX_BLOCK + 10
    d = _data([0] * n, [(i, i + 1) for i in range(n - 1)])
    b = find_blocks(d.edge_index, n)
    assert (b.spans[:, 1] - b.spans[:, 0]).max() == MAX_BLOCK


def test_repeating_or_removing_a_block_changes_depth_only():
    # input, then three residual blocks of motifs (5 -> 6 -> add 7, skip), then a head
    motifs, edges, prev = [1], [], 0
    for _ in range(3):
        a = len(motifs)
        motifs += [5, 6, 7]
        edges += [(prev, a), (a, a + 1), (a + 1, a + 2), (prev, a + 2)]
        prev = a + 2
    motifs.append(2)
    edges.append((prev, len(motifs) - 1))
    d = _data(motifs, edges)
    blocks = find_blocks(d.edge_index, int(d.num_nodes))
    k = next(k for k, (i, j) in enumerate(blocks.spans.tolist()) if (i, j) == (4, 7))
    gen = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(40):
        spans = blocks.spans[k : k + 1]
        one = type(blocks)(blocks.order, spans)
        v = rewrite(d, gen, blocks=one, near=None, p_depth=1.0, p_swap=0.0)
        assert _is_dag(v)
        seen.add(v.num_nodes)
        want = [1] + [5, 6, 7] * ((v.num_nodes - 2) // 3) + [2]
        assert v.x.tolist() == want  # nodes come out in topological order
        # every block is still a residual block: one edge per skip, weights summed
        assert v.edge_index.shape[1] == 4 * ((v.num_nodes - 2) // 3) + 1
        assert torch.equal(v.edge_weight, torch.ones(v.edge_index.shape[1]))
    assert seen == {8, 14}  # one block fewer, one more


def test_removing_a_block_beside_a_skip_sums_the_parallel_edges():
    d = _data([9, 1, 2, 3, 8], [(0, 1), (1, 2), (2, 3), (0, 3), (3, 4)])
    blocks = find_blocks(d.edge_index, 5)
    k = next(k for k, s in enumerate(blocks.spans.tolist()) if s == [1, 3])
    one = type(blocks)(blocks.order, blocks.spans[k : k + 1])
    gen = torch.Generator().manual_seed(0)
    outs = {}
    for _ in range(20):
        v = rewrite(d, gen, blocks=one, near=None, p_depth=1.0, p_swap=0.0)
        outs[v.num_nodes] = v
    removed = outs[3]
    assert removed.x.tolist() == [9, 3, 8]
    edges = removed.edge_index.T.tolist()
    assert sorted(zip(edges, removed.edge_weight.tolist(), strict=True)) == [
        ([0, 1], 2.0),
        ([1, 2], 1.0),
    ]


def test_siblings_differ_in_exactly_one_operator():
    a = OpGraph.from_edges(["input", "conv3", "relu", "conv3", "add"],
                           [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)], name="a")  # fmt: skip
    b = OpGraph.from_edges(["input", "conv5", "relu", "conv3", "add"],
                           [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)], name="b")  # fmt: skip
    c = OpGraph.from_edges(["input", "conv5", "gelu", "conv3", "add"],
                           [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)], name="c")  # fmt: skip
    mined = archmotif.mine([a, a, b, b, c, c], progress=False)
    vocab = mined.vocabulary
    near = siblings(vocab)
    for m in vocab:
        for s in near[m.index]:
            o = vocab[int(s)]
            assert o.num_nodes == m.num_nodes and o.id != m.id
            assert sum((Counter(m.ops) - Counter(o.ops)).values()) == 1
    top = {tuple(sorted(m.ops)): m.index for m in vocab if m.num_nodes == 5}
    ia, ib, ic = (top[tuple(sorted(g.op_names[o] for o in g.ops))] for g in (a, b, c))
    assert ib in near[ia] and ia in near[ib] and ic in near[ib]
    assert ic not in near[ia]  # two operators apart


def test_swapping_draws_only_siblings():
    near = [np.array([1, 2]), np.array([0]), np.array([0]), np.array([], dtype=np.int64)]
    d = _data([0, 3, 1], [(0, 1), (1, 2)])
    gen = torch.Generator().manual_seed(1)
    got = [rewrite(d, gen, blocks=None, near=near, p_depth=0.0, p_swap=1.0).x.tolist()
           for _ in range(30)]  # fmt: skip
    assert {tuple(x) for x in got} == {(1, 3, 0), (2, 3, 0)}
    assert d.x.tolist() == [0, 3, 1]  # the input is not changed


@pytest.fixture(scope="module")
def builtin_mined():
    return archmotif.mine(load("builtin"), progress=False)


def test_rewritten_views_of_real_macro_graphs_are_valid_dags(builtin_mined):
    near = siblings(builtin_mined.vocabulary)
    views = Views(p_depth=1.0, p_swap=0.3)
    gen = torch.Generator().manual_seed(0)
    changed = 0
    for mg in builtin_mined.macro_graphs:
        d = macro_data(mg)
        rw = GraphRewrites(find_blocks(d.edge_index, mg.num_nodes), None, near)
        for _ in range(5):
            v = views(d, gen, None, rw)
            assert _is_dag(v) and v.x.shape == (v.num_nodes,)
            assert v.edge_weight.shape == (v.edge_index.shape[1],)
            assert int(v.x.min()) >= 0 and int(v.x.max()) < len(builtin_mined.vocabulary)
            changed += v.num_nodes != d.num_nodes
    assert changed > 100


def test_views_without_rewrites_draw_as_before():
    d = _data([0, 1, 2, 3], [(0, 1), (1, 2), (2, 3)])
    near = [np.zeros(0, dtype=np.int64)] * 4
    rw = GraphRewrites(find_blocks(d.edge_index, 4), None, near)
    a = Views()(d, torch.Generator().manual_seed(3))
    b = Views()(d, torch.Generator().manual_seed(3), None, None)
    c = Views(p_depth=0.0, p_swap=0.0)(d, torch.Generator().manual_seed(3), None, rw)
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    assert c.num_nodes >= 1


def test_hard_negatives_are_the_nearest_graphs_of_another_class():
    bag = np.array([[1, 0], [0.9, 0.1], [0.8, 0.6], [0, 1], [0.95, 0.05]], dtype=np.float64)
    bag /= np.linalg.norm(bag, axis=1, keepdims=True)
    ys = [0, 0, 1, 1, -100]
    got = bag_neighbours(bag, 1, ys)
    assert [g.tolist() for g in got] == [[2], [2], [1], [1], []]
    got = bag_neighbours(bag, 5, ys)
    assert got[0].tolist() == [2, 3]  # only the other class, nearest first; no unlabelled


def test_batches_join_each_anchor_with_one_partner_at_most_once():
    partners = [np.array([3]), np.array([3, 4]), np.array([], dtype=np.int64)] + [np.array([0])] * 2
    gen = torch.Generator().manual_seed(0)
    out = _with_partners([0, 1, 2], partners, gen)
    assert out[:3] == [0, 1, 2] and len(out) == len(set(out))
    assert set(out[3:]) <= {3, 4} and 3 in out


def test_an_encoder_file_from_before_rewrites_loads_with_them_off(tmp_path):
    from archmotif.learn import encoder_file

    toy = load("builtin")[:12]
    on = {"rewrite_depth": 0.3, "rewrite_swap": 0.1, "hard_negatives": True, "distill": 1.0}
    enc = Encoder(stage1_epochs=1, stage2_epochs=1, progress=False, **on).fit(toy, seed=0)
    off = Encoder(stage1_epochs=1, stage2_epochs=1, progress=False).fit(toy, seed=0)
    assert not np.array_equal(enc.embed(toy), off.embed(toy))  # the settings train
    path, old = tmp_path / "enc.pt", tmp_path / "old.pt"
    enc.save(path)
    d = encoder_file.read(str(path), encoder_file.ENCODER_FORMAT)
    config = json.loads(d["config"])
    for k in on:
        del config[k]
    encoder_file.write(old, encoder_file.ENCODER_FORMAT, {**d, "config": json.dumps(config)})
    loaded = Encoder.load(old, progress=False)
    assert (loaded.config["rewrite_depth"], loaded.config["rewrite_swap"]) == (0.0, 0.0)
    assert loaded.config["hard_negatives"] is False and loaded.config["distill"] == 0.0
    np.testing.assert_array_equal(loaded.embed(toy), enc.embed(toy))
    with pytest.raises(ValueError, match="rewrite_swap"):
        Encoder(rewrite_swap=1.5)
    with pytest.raises(ValueError, match="distill"):
        Encoder(distill=-1.0)
