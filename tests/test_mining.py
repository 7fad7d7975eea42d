"""mine(), Mined.apply/context and contract(): the invariants users rely on."""

from __future__ import annotations

import os
import signal
import threading
import time

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archmotif
from archmotif import GraphError, OpGraph, canonical_hash, contract, mine
from archmotif.synthetic import repeated_blocks, resnet_like, transformer_like


def _corpus():
    return [
        resnet_like(201),
        transformer_like(161),
        repeated_blocks("bottleneck", 91, name="short-resnet"),
        OpGraph(["input", "linear", "relu", "linear"], [[0, 1, 2], [1, 2, 3]], name="mlp"),
    ]


def _check_invariants(m: archmotif.Mined) -> None:
    for g, mg in zip(m.graphs, m.macro_graphs, strict=True):
        n2m = mg.node_to_macro
        assert n2m.shape == (g.num_nodes,)
        # every node in exactly one instance; instances agree with node_to_macro
        inst = mg.instances
        assert sorted(np.concatenate(inst).tolist()) == list(range(g.num_nodes)) if inst else True
        for j, nodes in enumerate(inst):
            assert (n2m[nodes] == j).all() and len(nodes) > 0
        # macro graph of a DAG is a DAG
        nxg = nx.DiGraph()
        nxg.add_nodes_from(range(mg.num_nodes))
        nxg.add_edges_from(mg.edges.T.tolist())
        assert nx.is_directed_acyclic_graph(nxg)
        # weights add up to the original edges that cross instances
        src, dst = n2m[g.edges[0]], n2m[g.edges[1]]
        crossing = src != dst
        assert int(mg.weights.sum()) == int(crossing.sum())
        pairs = sorted(set(zip(src[crossing].tolist(), dst[crossing].tolist(), strict=True)))
        assert pairs == sorted(map(tuple, mg.edges.T.tolist()))
        # each instance is an occurrence of its motif
        for j in range(0, mg.num_nodes, max(1, mg.num_nodes // 25)):
            nodes = inst[j]
            sub = OpGraph(g.ops[nodes], _induced(g, nodes), op_names=g.op_names)
            motif = m.vocabulary[int(mg.motifs[j])]
            assert canonical_hash(sub) == motif.id
            assert canonical_hash(motif.to_opgraph()) == motif.id


def _induced(g: OpGraph, nodes: np.ndarray) -> np.ndarray:
    local = {int(v): i for i, v in enumerate(nodes)}
    e = [(local[s], local[d]) for s, d in g.edges.T.tolist() if s in local and d in local]
    return np.array(e, dtype=np.int64).T.reshape(2, -1)


@pytest.mark.parametrize("strategy", ["merge", "nar"])
def test_macro_graphs_keep_every_invariant(strategy):
    m = mine(_corpus(), strategy=strategy, progress=False)
    assert len(m.macro_graphs) == 4
    _check_invariants(m)


def test_repeated_blocks_become_one_motif():
    g = resnet_like(1 + 10 * 40)  # input + 40 bottlenecks
    m = mine(g, progress=False)
    mg = m.macro_graphs[0]
    assert mg.reduction >= 5
    sizes = {(mt.num_nodes, mt.count) for mt in m.vocabulary}
    assert any(n >= 10 and c >= 19 for n, c in sizes), sizes


def test_vocabulary_is_hierarchical_and_consistent():
    m = mine(_corpus(), progress=False)
    v = m.vocabulary
    assert [(mt.level, mt.id) for mt in v] == sorted((mt.level, mt.id) for mt in v)
    for mt in v:
        assert v.index_of(mt.id) == mt.index and mt.id in v
        if mt.level == 0:
            assert mt.num_nodes == 1 and mt.children == ()
        else:
            assert len(mt.children) == 2
            kids = [v[c] for c in mt.children]
            assert all(k.level < mt.level for k in kids)
            assert sum(k.num_nodes for k in kids) == mt.num_nodes
            assert mt.count >= 2 and mt.support >= 1
    with pytest.raises(KeyError):
        v.index_of(12345)


def test_min_support_requires_motifs_across_graphs():
    gs = [resnet_like(101), transformer_like(97)]
    m = mine(gs, min_support=2, progress=False)
    assert all(mt.support >= 2 for mt in m.vocabulary if mt.level > 0)
    m1 = mine(gs, min_support=1, progress=False)
    assert len(m1.vocabulary) > len(m.vocabulary)


def _fingerprint(m: archmotif.Mined):
    vocab = [(mt.id, mt.level, mt.count, mt.support, mt.children) for mt in m.vocabulary]
    macros = {
        g.name: (mg.motif_ids, mg.node_to_macro.tolist(), mg.edges.tolist(), mg.weights.tolist())
        for g, mg in zip(m.graphs, m.macro_graphs, strict=True)
    }
    return vocab, macros


@pytest.mark.parametrize("strategy", ["merge", "nar"])
def test_results_do_not_depend_on_threads_or_input_order(strategy):
    gs = _corpus()
    one = _fingerprint(mine(gs, strategy=strategy, threads=1, progress=False))
    many = _fingerprint(mine(gs, strategy=strategy, threads=3, progress=False))
    shuffled = _fingerprint(mine(gs[::-1], strategy=strategy, threads=2, progress=False))
    assert one == many == shuffled


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(["bottleneck", "encoder"]), min_size=1, max_size=4),
    st.integers(20, 120),
    st.integers(2, 4),
)
def test_random_corpora_keep_invariants(blocks, n, min_count):
    gs = [repeated_blocks(b, n + 7 * i, name=f"g{i}") for i, b in enumerate(blocks)]
    m = mine(gs, min_count=min_count, progress=False)
    _check_invariants(m)
    assert all(t.count >= min_count for t in m.vocabulary if t.level > 0)


def test_apply_reproduces_mining_and_handles_unseen_graphs():
    gs = _corpus()
    m = mine(gs, progress=False)
    again = m.apply(gs, progress=False)
    for a, b in zip(m.macro_graphs, again, strict=True):
        assert a.motifs.tolist() == b.motifs.tolist()
        assert a.node_to_macro.tolist() == b.node_to_macro.tolist()
        assert a.edges.tolist() == b.edges.tolist()
    new = OpGraph(["input", "convolution", "batch_norm", "relu", "softmax"],
                  [[0, 1, 2, 3], [1, 2, 3, 4]], name="new")  # fmt: skip
    (mg,) = m.apply(new, progress=False)
    assert mg.graph is new
    ops_of = [new.node_ops()[int(inst[0])] for inst in mg.instances]
    unseen = [i for i, op in enumerate(ops_of) if op == "softmax"]
    assert mg.motifs[unseen[0]] == -1  # never seen while mining
    assert (mg.motifs[[i for i in range(mg.num_nodes) if i not in unseen]] >= 0).all()


def test_context_grows_with_hops():
    m = mine(_corpus(), progress=False)
    mg = m.macro_graphs[0]
    j = mg.num_nodes // 2
    inst = mg.instances[j]
    c0, c1, c2 = (m.context(0, j, hops=h) for h in (0, 1, 2))
    assert c0.num_nodes == len(inst)
    assert c0.num_nodes < c1.num_nodes < c2.num_nodes
    assert set(map(int, c0.node_names)) <= set(map(int, c1.node_names))
    assert c1.labels == {"graph": "0", "macro_node": str(j), "hops": "1"}
    # the context's nodes carry the original ops
    g = m.graphs[0]
    assert c1.node_ops() == [g.node_ops()[int(v)] for v in c1.node_names]
    with pytest.raises(IndexError):
        m.context(0, mg.num_nodes)


def test_contract_by_partition():
    g = OpGraph(["input", "conv", "relu", "conv", "relu", "add"],
                [[0, 1, 2, 3, 0], [1, 2, 3, 4, 5]])  # fmt: skip
    g = OpGraph(g.node_ops(), [[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 5, 5]])
    mg = contract(g, [0, 1, 1, 2, 2, 3])
    assert mg.num_nodes == 4
    assert mg.motif_ids[1] == mg.motif_ids[2]
    assert mg.motifs[1] == mg.motifs[2]
    assert mg.vocabulary[int(mg.motifs[1])].count == 2
    assert mg.edges.tolist() == [[0, 0, 1, 2], [1, 3, 2, 3]]
    assert mg.weights.tolist() == [1, 1, 1, 1]


def test_contract_of_interchangeable_nodes(interchangeable):
    for name in ("diamonds x1024", "layered 64x64 dense"):
        g = interchangeable[name]
        whole = contract(g, np.zeros(g.num_nodes, dtype=np.int64))
        assert whole.num_nodes == 1 and whole.motif_ids[0] == canonical_hash(g), name
    # one group per diamond: 1,024 macro nodes of one motif
    g = interchangeable["diamonds x1024"]
    mg = contract(g, np.arange(g.num_nodes) // 4)
    assert mg.num_nodes == 1024 and len(mg.vocabulary) == 1
    assert mg.vocabulary[0].count == 1024


def test_mining_a_star_of_identical_leaves_merges_it_whole():
    star = OpGraph(["hub"] + ["op"] * 256, [[0] * 256, list(range(1, 257))])
    m = mine([star, star], max_motif_nodes=4096, max_levels=10**4, progress=False)
    assert [mg.num_nodes for mg in m.macro_graphs] == [1, 1]
    top = m.vocabulary[int(m.macro_graphs[0].motifs[0])]
    assert top.id == canonical_hash(star) and top.count == 2 and top.level == 256


def test_contract_names_a_non_convex_group():
    g = OpGraph(["a", "b", "c"], [[0, 1], [1, 2]])
    with pytest.raises(GraphError, match=r"group 7 is not convex: .* through group 3"):
        contract(g, [7, 3, 7])
    with pytest.raises(GraphError, match="partition has 2 entries for 3 nodes"):
        contract(g, [0, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategy": "bpe"}, "strategy must be one of"),
        ({"min_count": 0}, "min_count must be an integer >= 1"),
        ({"min_support": -1}, "min_support must be an integer >= 1"),
        ({"max_motif_nodes": 1}, "max_motif_nodes must be an integer >= 2"),
        ({"max_motif_nodes": 10**6}, "max_motif_nodes must be an integer >= 2 and <= 4,096"),
        ({"threads": 0}, "threads must be an integer >= 1"),
        # an OS thread each: ten thousand would not start in a minute
        ({"threads": 10**4}, "threads must be an integer >= 1 and <= "),
        # the core takes 64-bit integers; wider ones used to escape as OverflowError
        ({"min_count": 2**64}, "min_count must be an integer >= 1 that fits in 64 bits"),
        ({"max_levels": -(2**70)}, "max_levels must be an integer >= 0"),
        ({"strategy": "bpe"}, "strategy must be one of"),
    ],
)
def test_bad_parameters_are_invalid_arguments(kwargs, match):
    with pytest.raises(archmotif.InvalidArgument, match=match) as e:
        mine(_corpus()[:1], progress=False, **kwargs)
    assert isinstance(e.value, ValueError) and isinstance(e.value, archmotif.ArchmotifError)


def test_a_name_that_is_no_corpus_file_says_what_to_pass(tmp_path):
    # the CLI reads model and dataset names; the API takes graphs or a corpus path
    with pytest.raises(FileNotFoundError, match=r"archmotif.trace\('resnet18'\)"):
        mine("resnet18", progress=False)
    with pytest.raises(FileNotFoundError, match=r"archmotif.datasets.load\('builtin'\)"):
        mine("builtin", progress=False)  # the CLI's dataset name
    with pytest.raises(FileNotFoundError, match=r"gone.npz: no such corpus file$"):
        mine(str(tmp_path / "gone.npz"), progress=False)


def test_context_hops_beyond_64_bits_is_an_invalid_argument():
    m = mine(_corpus()[:2], progress=False)
    with pytest.raises(archmotif.InvalidArgument, match="hops must be an integer >= 0"):
        m.context(0, 0, hops=2**64)


def test_empty_inputs():
    m = mine([], progress=False)
    assert len(m.vocabulary) == 0 and m.macro_graphs == []
    m = mine([OpGraph([], None, name="empty"), _corpus()[3]], progress=False)
    assert m.macro_graphs[0].num_nodes == 0 and m.macro_graphs[0].reduction == 1.0


def test_macro_graph_to_pyg():
    pytest.importorskip("torch_geometric")
    m = mine(_corpus(), progress=False)
    d = m.macro_graphs[1].to_pyg()
    assert d.num_nodes == m.macro_graphs[1].num_nodes
    assert d.edge_index.shape[1] == d.edge_weight.shape[0]
    assert int(d.motif.max()) < len(m.vocabulary)


def test_progress_callback_reaches_tqdm(capsys):
    pytest.importorskip("tqdm")
    m = mine(_corpus(), progress=True)
    assert len(m.macro_graphs) == 4


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery")
def test_ctrl_c_interrupts_within_a_second():
    big = [resnet_like(2_000_000), transformer_like(2_000_000)]
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        mine(big, progress=False)
    elapsed = time.perf_counter() - t0
    timer.join()
    assert elapsed < 1.5, elapsed
