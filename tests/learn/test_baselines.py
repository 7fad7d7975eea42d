"""The GCN/GAT and NAR baselines: embedder interface, determinism, normalised rows, and
that training moves their losses."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif.datasets import load
from archmotif.learn import Embedder
from archmotif.learn.baselines import GNNBaseline, NARBaseline, nar_contrastive


@pytest.fixture(scope="module")
def real():
    """Every fifth builtin model: real traced graphs of several families, small enough
    for the default suite."""
    return load("builtin")[::5]


def _check_rows(z: np.ndarray, n: int, d: int) -> None:
    assert z.dtype == np.float32 and z.shape == (n, d)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("conv", ["gcn", "gat"])
def test_gnn_baseline_is_a_deterministic_embedder(conv, real):
    make = lambda: GNNBaseline(conv, hidden=32, out=32, epochs=3, progress=False)  # noqa: E731
    a = make().fit(real, seed=0)
    assert isinstance(a, Embedder) and a.name == conv
    za = a.embed(real)
    _check_rows(za, len(real), 32)
    np.testing.assert_array_equal(za, make().fit(real, seed=0).embed(real))
    assert not np.allclose(za, make().fit(real, seed=1).embed(real))


def test_gnn_baseline_learns_the_toy_families(toy):
    m = GNNBaseline("gcn", hidden=32, out=32, epochs=30, batch_size=16, progress=False).fit(toy)
    assert np.mean(m.history[-3:]) < 0.8 * np.mean(m.history[:3])
    z = m.embed(toy)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    fam = np.array([g.labels["family"] for g in toy])
    assert (fam[sim.argmax(axis=1)] == fam).all()


def test_nar_baseline_is_a_deterministic_embedder(real):
    real = real[::2]  # the paper's 512-wide encoders are the slowest part of the suite

    def make():
        return NARBaseline(hidden=64, out=32, stage1_epochs=2, stage2_epochs=5, progress=False)

    a = make().fit(real, seed=0)
    assert isinstance(a, Embedder) and a.name == "nar"
    za = a.embed(real)
    _check_rows(za, len(real), 32)
    np.testing.assert_array_equal(za, make().fit(real, seed=0).embed(real))
    assert a.history["stage2"][-1] < a.history["stage2"][0]
    # a graph with an op never seen (a motif the vocabulary lacks) still embeds
    odd = archmotif.OpGraph.from_edges(["input", "never_seen_op", "linear"], [(0, 1), (1, 2)])
    _check_rows(a.embed([odd]), 1, 32)


def test_nar_contrastive_matches_hand_computed_ratio():
    import torch

    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 0, 1])
    e = np.exp
    same = 4 * e(1.0) + e(1.0)  # pairs (0,0) (0,1) (1,0) (1,1) and (2,2)
    total = same + 4 * e(0.0)  # (0,2) (2,0) (1,2) (2,1)
    assert float(nar_contrastive(z, y)) == pytest.approx(-np.log(same / total), rel=1e-6)


def test_embed_before_fit_raises():
    with pytest.raises(archmotif.errors.LearnError, match="before fit"):
        GNNBaseline("gcn").embed([])
    with pytest.raises(archmotif.errors.LearnError, match="before fit"):
        NARBaseline().embed([])


def test_gnn_baseline_save_load_and_index_from_the_cli(toy, tmp_path):
    import subprocess
    import sys

    from archmotif.corpus import save_corpus
    from archmotif.learn.baselines import GNNBaseline
    from archmotif.retrieval.index import Index

    model = GNNBaseline("gat", hidden=16, out=16, epochs=2, progress=False).fit(toy)
    model.save(tmp_path / "gat.npz")
    again = GNNBaseline.load(tmp_path / "gat.npz")
    np.testing.assert_allclose(again.embed(toy), model.embed(toy), rtol=1e-5, atol=1e-6)
    save_corpus(toy, tmp_path / "toy.npz")
    index = tmp_path / "index.npz"
    r = subprocess.run([sys.executable, "-m", "archmotif.cli", "index", "build",
                        str(tmp_path / "toy.npz"), "--method", "gcn", "-o", str(index)],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert type(Index.load(index).encoder) is GNNBaseline


def test_a_gnn_baseline_file_outside_its_schema_is_a_format_error(toy, tmp_path):
    from archmotif.learn import encoder_file
    from archmotif.learn.baselines import GNN_FORMAT, GNNBaseline

    p = tmp_path / "bad.npz"
    encoder_file.write(p, GNN_FORMAT, {"settings": '{"conv": "gcn", "hidden": 8192, "out": 8}',
                                       "op_names": "[]", "encoder": {}})  # fmt: skip
    with pytest.raises(archmotif.FormatError, match="bad.npz: malformed GNN baseline"):
        GNNBaseline.load(p)
