"""Data-parallel pretraining: two gloo ranks under torchrun train the model one process
trains for the same seed and global batch, and end with the same parameters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import archmotif
from archmotif.learn import ddp
from archmotif.learn.encoder import Encoder

SETTINGS = {"stage1_epochs": 2, "stage2_epochs": 3, "batch_size": 8}


def _params(enc: Encoder, name: str) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in getattr(enc._require(), name).parameters()])


def test_one_process_is_not_data_parallel():
    assert not ddp.active() and ddp.world_size() == 1 and ddp.rank() == 0
    assert ddp.local_range(5) == (0, 5)
    x = torch.ones(3, 2)
    assert ddp.gather(x, 3) is x and ddp.wrap(torch.nn.Linear(2, 2)).__class__ is torch.nn.Linear


# torchrun picks and holds its own rendezvous port (--standalone). The test used to pick
# a free port, close it and pass it on; one CI run of eight then saw rank 1 abort
# ("terminate called without an active exception") about 4 s in, the symptom of rank 0
# failing to bind its store while rank 1 was torn down. Not seen since in 42 runs under
# load (28 with the old port choice, 14 with --standalone).
def test_two_gloo_ranks_train_what_one_process_trains(tmp_path: Path):
    graphs = archmotif.datasets.load("builtin")[:24]
    corpus = tmp_path / "c.npz"
    archmotif.save_corpus(graphs, corpus)
    out = tmp_path / "enc.pt"
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--nproc_per_node=2", "--standalone",
           "-m", "archmotif.experiments.pretrain", str(corpus), "-o", str(out),
           "--stage1-epochs", "2", "--stage2-epochs", "3", "--batch-size", "8",
           "--device", "cpu"]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-6000:]
    assert "rank 0 of 2" in run.stdout and "agree to 0.0e+00" in run.stdout, run.stdout

    one = Encoder(progress=False, device="cpu", **SETTINGS)
    one.fit(archmotif.datasets.load(corpus), seed=0)
    two = Encoder.load(out, device="cpu")
    # Equal up to float32 rounding: the all-reduce sums two half-batch gradients where one
    # process sums the whole batch, and Adam, which divides by the gradient's running
    # scale, turns that rounding into steps on parameters whose gradients are near zero
    # (measured: at most 1.4e-4 after these 5 epochs). A rank training on the wrong
    # graphs moves parameters by about lr = 1e-3 per step.
    for name in ("motif_enc", "macro_enc"):
        a, b = _params(one, name), _params(two, name)
        assert torch.allclose(a, b, atol=5e-4), (name, float((a - b).abs().max()))
    assert abs(one.embed(graphs) - two.embed(graphs)).max() < 1e-4


def test_more_ranks_than_gpus_is_a_clear_error_or_the_cpu(monkeypatch):
    """`--device cuda` with fewer GPUs than ranks on the node stops before any process
    group starts, naming both counts; `--device auto` trains on the CPU instead."""
    from archmotif.errors import InvalidArgument
    from archmotif.experiments import pretrain

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(InvalidArgument, match=rf"{gpus + 1} ranks on this node, {gpus} GPU"):
        pretrain._use_cuda("cuda", gpus + 1)
    assert pretrain._use_cuda("auto", gpus + 1) is False
    assert pretrain._use_cuda("cpu", 1) is False
    assert pretrain._use_cuda("auto", 1) is (gpus >= 1)
