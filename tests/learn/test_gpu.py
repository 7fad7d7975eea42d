"""On CUDA (marked ``gpu``: deselected by default; ``pytest -m gpu`` on a machine with a
GPU): a fit repeats bit for bit for a seed, as on the CPU, it leaves the caller's
determinism settings as they were, and what is trained on the GPU serves on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from archmotif.datasets import nasbench201 as nb  # noqa: E402
from archmotif.learn.encoder import Encoder  # noqa: E402
from archmotif.learn.gnn import GNNBaseline  # noqa: E402
from archmotif.learn.nar import NARBaseline  # noqa: E402
from archmotif.learn.predictor import Predictor  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

GNN = {"hidden": 32, "out": 32, "epochs": 5, "device": "cuda", "progress": False}
NAR = {"hidden": 64, "out": 32, "stage1_epochs": 1, "stage2_epochs": 3}
MAKERS = {
    "ours": lambda small: Encoder(**small, device="cuda"),
    "gcn": lambda small: GNNBaseline("gcn", **GNN),
    "gat": lambda small: GNNBaseline("gat", **GNN),
    "nar": lambda small: NARBaseline(**NAR, device="cuda", progress=False),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_cuda_fit_repeats_bit_for_bit_for_a_seed(name, toy, small):
    a, b = MAKERS[name](small), MAKERS[name](small)
    za = a.fit(toy, seed=5).embed(toy)
    zb = b.fit(toy, seed=5).embed(toy)
    assert a.device.type == "cuda"
    np.testing.assert_array_equal(za, zb)
    np.testing.assert_array_equal(a.embed(toy), za)  # embedding again, too


def test_a_cuda_fit_leaves_the_callers_determinism_settings(toy, small):
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled())  # fmt: skip
    Encoder(**{**small, "stage2_epochs": 2}, device="cuda").fit(toy[:4])
    after = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())  # fmt: skip
    assert after == before


def test_a_predictor_trained_on_cuda_predicts_on_the_cpu(tmp_path):
    graphs = nb.generate(32, with_accuracy=False)
    y = np.array([float(g.num_nodes) + g.view("attrs").op_counts().get("convolution[k3]", 0)
                  for g in graphs])  # fmt: skip
    enc = Encoder(detail="attrs", hidden=16, out=16, stage1_epochs=1, stage2_epochs=2,
                  device="cuda", progress=False)  # fmt: skip
    p = Predictor(enc.fit(graphs, seed=0), device="cuda", steps=15, members=2,
                  pretrain_steps=50).fit(graphs[:20], y[:20], seed=0)  # fmt: skip
    p.save(tmp_path / "p.npz")
    q = Predictor.load(tmp_path / "p.npz", device="cpu")
    assert q.device.type == "cpu"
    # bf16 autocast on the GPU, float32 on the CPU: equal up to a small part of the range
    np.testing.assert_allclose(q.predict(graphs), p.predict(graphs),
                               atol=0.02 * float(np.ptp(y)))  # fmt: skip
