"""WLBaseline: WL subtree TF-IDF + SVD, the unsupervised baseline on raw op graphs."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif.errors import FormatError, RetrievalError
from archmotif.learn import Embedder
from archmotif.learn.wl import WLBaseline, wl_features


def test_implements_the_embedder_interface(toy):
    wl = WLBaseline(dim=8)
    assert isinstance(wl, Embedder) and wl.name == "wl"
    assert wl.fit(toy, seed=0) is wl
    z = wl.embed(toy)
    assert z.dtype == np.float32 and z.shape == (len(toy), 8)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)


def test_isomorphic_graphs_embed_identically(toy):
    g = toy[7]
    perm = np.random.default_rng(0).permutation(g.num_nodes)
    inv = np.argsort(perm)  # node i of g becomes node inv[i]
    ops = [g.node_ops()[p] for p in perm]
    shuffled = archmotif.OpGraph(ops, inv[g.edges], op_names=tuple(reversed(g.op_names)))
    wl = WLBaseline(dim=8).fit(toy)
    z = wl.embed([g, shuffled])
    np.testing.assert_array_equal(z[0], z[1])


def test_edge_direction_and_ops_change_features():
    fwd = archmotif.OpGraph(["conv", "relu"], [[0], [1]])
    rev = archmotif.OpGraph(["conv", "relu"], [[1], [0]])
    other = archmotif.OpGraph(["conv", "gelu"], [[0], [1]])
    f, r, o = (wl_features(x)[0] for x in (fwd, rev, other))
    # the same ops at round 0 ...
    np.testing.assert_array_equal(wl_features(fwd, 0)[0], wl_features(rev, 0)[0])
    assert not np.array_equal(f, r)  # ... but direction tells them apart afterwards
    assert not np.array_equal(f, o)


def test_features_do_not_depend_on_op_numbering():
    a = archmotif.OpGraph(["input", "conv", "relu"], [[0, 1], [1, 2]])
    b = archmotif.OpGraph([0, 2, 1], [[0, 1], [1, 2]], op_names=["input", "relu", "conv"])
    for x, y in zip(wl_features(a), wl_features(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_same_family_is_nearest(toy):
    z = WLBaseline(dim=16).fit(toy).embed(toy)
    sims = z @ z.T
    np.fill_diagonal(sims, -np.inf)
    fam = [g.labels["family"] for g in toy]
    assert all(fam[int(np.argmax(sims[i]))] == fam[i] for i in range(len(toy)))


def test_deterministic_and_save_load_round_trip(toy, tmp_path):
    a = WLBaseline(dim=8).fit(toy)
    b = WLBaseline(dim=8).fit(list(toy))
    np.testing.assert_array_equal(a.embed(toy), b.embed(toy))
    a.save(tmp_path / "wl.npz")
    c = WLBaseline.load(tmp_path / "wl.npz")
    np.testing.assert_array_equal(a.embed(toy), c.embed(toy))


def test_unseen_graph_gets_a_zero_row_not_nan(toy):
    wl = WLBaseline(dim=4).fit(toy)
    alien = archmotif.OpGraph(["zzz_unknown_op"], None)
    z = wl.embed([alien])
    assert np.isfinite(z).all()


def test_errors(toy, tmp_path):
    with pytest.raises(RetrievalError, match="before fit"):
        WLBaseline().embed(toy)
    with pytest.raises(RetrievalError, match="dim must be"):
        WLBaseline(dim=0)
    with pytest.raises(RetrievalError, match="at least one graph"):
        WLBaseline().fit([])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="bad.npz"):
        WLBaseline.load(bad)


def test_large_corpora_take_the_randomized_svd_and_embed_as_the_exact_one(monkeypatch):
    """Past EXACT_SVD_LIMIT on both sides (15,625 NAS-Bench-201 networks), the basis comes
    from randomized subspace iteration; it must span what the exact one spans, so the
    embeddings agree (here the limit is lowered to force the path on small data)."""
    from archmotif.datasets import load
    from archmotif.learn import wl

    graphs = load("builtin")
    exact = WLBaseline(dim=16).fit(graphs).embed(graphs)
    monkeypatch.setattr(wl, "EXACT_SVD_LIMIT", 8)
    fitted = WLBaseline(dim=16).fit(graphs)
    again = WLBaseline(dim=16).fit(graphs)
    approx = fitted.embed(graphs)
    assert np.array_equal(approx, again.embed(graphs))  # a fixed seed: deterministic
    np.testing.assert_allclose(approx, exact, atol=1e-5)
