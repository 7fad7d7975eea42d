"""The label-free pretraining of the Predictor's heads (archmotif.learn.surrogate): the
wiring statistics of a hand-made DAG, the surrogate targets, and that pretraining makes
the heads' hidden layer carry what the architecture says (its FLOPs) where an untrained
head's does not."""

from __future__ import annotations

import numpy as np
import pytest

from archmotif import OpGraph
from archmotif.datasets import nasbench201 as nb

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from archmotif.learn.encoder import Encoder  # noqa: E402
from archmotif.learn.predictor import Predictor  # noqa: E402
from archmotif.learn.surrogate import (  # noqa: E402
    Surrogates,
    surrogate_targets,
    walk_counts,
    wiring,
)

N = 160  # NAS-Bench-201 networks; the first half fits the read-outs, the rest tests them


def skip_block(flops: list[float] | None = None) -> OpGraph:
    """input -> conv -> relu -> add <- input (a skip), add -> linear."""
    return OpGraph.from_edges(
        ["input", "convolution", "relu", "add", "linear"],
        [(0, 1), (1, 2), (2, 3), (0, 3), (3, 4)],
        node_flops=flops,
    )


def test_wiring_of_a_skip_block():
    depth, weighted, paths, heavy = wiring(skip_block([0.0, 10.0, 1.0, 1.0, 5.0]))
    assert depth == 5  # input, conv, relu, add, linear
    assert weighted == 2  # the convolution and the linear layer on the long path
    assert paths == pytest.approx(np.log1p(2))  # through the convolution, and the skip
    assert heavy == pytest.approx(np.log1p(17.0))
    assert wiring(skip_block())[3] == 0.0  # no FLOPs carried: none counted


def test_surrogate_targets_are_standardised_and_drop_constant_columns():
    graphs = [skip_block(), OpGraph.from_edges(["input", "relu"], [(0, 1)])]
    t = surrogate_targets(graphs + graphs, "op")
    assert t.dtype == np.float32 and t.shape[0] == 4
    assert np.allclose(t.mean(axis=0), 0.0, atol=1e-6)
    assert np.allclose(t.std(axis=0), 1.0, atol=1e-5)
    # input is in every graph once: its count is constant and dropped
    assert t.shape[1] < len({"input", "convolution", "relu", "add", "linear"}) + 6


def test_fitted_surrogates_give_a_graph_the_same_row_whatever_it_is_featurised_with():
    space = [skip_block([0.0, 10.0, 1.0, 1.0, 5.0]), skip_block([0.0, 2.0, 1.0, 1.0, 5.0])]
    space.append(OpGraph.from_edges(["input", "relu"], [(0, 1)], node_flops=[0.0, 1.0]))
    s = Surrogates("op", walks=True)
    table = s.fit_transform(space)
    plain = surrogate_targets(space, "op")
    np.testing.assert_array_equal(table[:, : s.plain_width], plain)
    assert s.width > s.plain_width == plain.shape[1]  # the walks vary between the graphs
    np.testing.assert_array_equal(s.transform(space[1:2]), table[1:2])
    assert s.width == table.shape[1]
    # an operator the space lacks adds no column
    other = OpGraph.from_edges(["input", "softmax", "linear"], [(0, 1), (1, 2)])
    assert s.transform([other]).shape == (1, s.width)
    again = Surrogates.from_payload(s.to_payload())
    np.testing.assert_array_equal(again.transform(space), table)
    bad = s.to_payload()
    bad["std"] = -bad["std"]
    with pytest.raises(ValueError, match="scale"):
        Surrogates.from_payload(bad)


def test_walk_counts_of_a_skip_block():
    ops = ["add", "convolution", "input", "linear", "relu"]
    k = len(ops)
    a, c, i, l, r = range(k)  # noqa: E741
    codes, counts = walk_counts(skip_block(), "op", ops)
    pairs = {i * k + c, c * k + r, r * k + a, i * k + a, a * k + l}
    triples = {(i, c, r), (c, r, a), (r, a, l), (i, a, l)}
    want = sorted(pairs | {k * k + (x * k + y) * k + z for x, y, z in triples})
    assert codes.tolist() == want and (counts == 1).all()
    # a diamond with a doubled branch counts each walk once per way through it
    g = OpGraph.from_edges(["input", "relu", "relu", "add"], [(0, 1), (0, 2), (1, 3), (2, 3)])
    codes, counts = walk_counts(g, "op", ops)
    got = dict(zip(codes.tolist(), counts.tolist(), strict=True))
    assert got[k * k + (i * k + r) * k + a] == 2 and got[i * k + r] == 2
    # an operator outside ``ops`` cuts every walk through it
    codes, _ = walk_counts(skip_block(), "op", ["add", "input", "linear"])
    assert codes.tolist() == sorted([1 * 3 + 0, 0 * 3 + 2, 9 + (1 * 3 + 0) * 3 + 2])
    # numbering does not matter
    p = OpGraph.from_edges(["relu", "add", "input", "linear", "convolution"],
                           [(2, 4), (4, 0), (0, 1), (2, 1), (1, 3)])  # fmt: skip
    np.testing.assert_array_equal(
        walk_counts(p, "op", ops)[0], walk_counts(skip_block(), "op", ops)[0]
    )


def hidden_r2(pred: Predictor, graphs: list[OpGraph], target: np.ndarray, state) -> float:
    """R² on the second half of ``target`` regressed (least squares, fitted on the first
    half) from the hidden layer of the head whose weights are ``state``."""
    head = pred._surrogate_head(pred.features(graphs[:1]).shape[1], 1)
    head.load_state_dict({k: v for k, v in state.items() if not k.startswith("readout")},
                         strict=False)  # fmt: skip
    head.eval()
    with torch.no_grad():
        h = head.head.net[:2](torch.from_numpy(pred.features(graphs))).numpy().astype(np.float64)
    h = np.hstack([h, np.ones((len(h), 1))])
    half = len(graphs) // 2
    w = np.linalg.lstsq(h[:half], target[:half], rcond=None)[0]
    err = target[half:] - h[half:] @ w
    return 1.0 - float((err**2).mean() / target[half:].var())


def test_pretrained_heads_carry_the_flops_an_untrained_head_does_not():
    graphs = nb.generate(N, with_accuracy=False)
    flops = np.log([float(np.asarray(g.node_flops).sum()) for g in graphs])
    enc = Encoder(detail="attrs", hidden=16, out=16, stage1_epochs=0, stage2_epochs=0)
    enc.progress = False
    enc.fit(graphs, seed=0)
    mlp = {"head": "mlp", "features": "motifs", "hidden": 16, "members": 1}
    pred = Predictor(enc, **mlp, pretrain_steps=300).pretrain(graphs)
    assert pred._pretrained is not None and len(pred._pretrained) == 1
    untrained = Predictor(enc, **mlp, pretrain_steps=0).pretrain(graphs)
    assert untrained._pretrained is not None
    r2_pre = hidden_r2(pred, graphs, flops, pred._pretrained[0])
    r2_raw = hidden_r2(pred, graphs, flops, untrained._pretrained[0])
    assert r2_pre > 0.9
    assert r2_pre > r2_raw + 0.05


def test_no_pretraining_and_no_walks_means_no_surrogates(monkeypatch):
    graphs = nb.generate(12, with_accuracy=False)
    y = np.array([float(g.num_nodes) + i for i, g in enumerate(graphs)])
    enc = Encoder(detail="attrs", hidden=8, out=8, stage1_epochs=0, stage2_epochs=0)
    enc.progress = False
    enc.fit(graphs, seed=0)

    def boom(*a, **k):
        raise AssertionError("surrogates computed without pretraining")

    monkeypatch.setattr("archmotif.learn.predictor.Surrogates", boom)
    monkeypatch.setattr("archmotif.learn.predictor.surrogate_targets", boom)
    off = {"pretrain_steps": 0, "surrogate_weight": 0.0}
    pred = Predictor(enc, head="mlp", features="motifs", steps=5, members=1, **off)
    assert pred.fit(graphs, y).predict(graphs).shape == (12,)


def _wiring_by_recurrence(g: OpGraph) -> list[float]:
    """The statistics of :func:`wiring` by the plain per-node recurrence in Kahn's order
    (what the core computes in one pass)."""
    n = g.num_nodes
    edges = np.asarray(g.edges, dtype=np.int64).reshape(2, -1)
    weighted = np.array([g.op_names[o].startswith(("convolution", "linear")) for o in g.ops], float)
    flops = np.zeros(n) if g.node_flops is None else np.asarray(g.node_flops, np.float64)
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = np.zeros(n, dtype=np.int64)
    for a, b in edges.T.tolist():
        succ[a].append(b)
        indeg[b] += 1
    depth, convs, heavy = np.ones(n), weighted.copy(), flops.copy()
    paths = (indeg == 0).astype(np.float64)
    left, ready = indeg.copy(), [int(v) for v in np.flatnonzero(indeg == 0)]
    while ready:
        v = ready.pop()
        for w in succ[v]:
            depth[w] = max(depth[w], depth[v] + 1)
            convs[w] = max(convs[w], convs[v] + weighted[w])
            heavy[w] = max(heavy[w], heavy[v] + flops[w])
            paths[w] += paths[v]
            left[w] -= 1
            if left[w] == 0:
                ready.append(w)
    sinks = [v for v in range(n) if not succ[v]] or list(range(n))
    return [depth[sinks].max(), convs[sinks].max(), np.log1p(paths[sinks].sum()),
            np.log1p(heavy[sinks].max())]  # fmt: skip


def test_path_counts_past_the_float_range_saturate():
    from archmotif.synthetic import resnet_like

    depth, _, paths, _ = wiring(resnet_like(20_000))  # 2**2000 paths and more
    assert depth > 1000 and np.isfinite(paths) and paths == pytest.approx(709.78, abs=0.01)


def test_wiring_matches_the_per_node_recurrence_on_real_graphs():
    import archmotif

    graphs = archmotif.datasets.load("builtin")[:12] + nb.generate(6, with_accuracy=False)
    for g in graphs:
        np.testing.assert_allclose(wiring(g), _wiring_by_recurrence(g), rtol=1e-12)
