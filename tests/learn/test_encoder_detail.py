"""The learnt encoders at the op-plus-attributes level of detail: fitted and applied at
one level, the level kept in their files (files from before it read as ``"op"``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from archmotif.datasets import nasbench201 as nb
from archmotif.learn import encoder_file
from archmotif.learn.baselines import GNNBaseline, NARBaseline
from archmotif.learn.encoder import Encoder


@pytest.fixture(scope="module")
def nets():
    return nb.generate(limit=12, with_accuracy=False)


def test_encoder_fits_and_embeds_at_its_detail_and_keeps_it(nets, small, tmp_path):
    enc = Encoder(**small, detail="attrs").fit(nets, seed=0)
    assert enc.detail == "attrs"
    assert any("convolution[k" in n for n in enc._fitted.ops.names)
    z = enc.embed(nets[:3])
    enc.save(tmp_path / "e.pt")
    back = Encoder.load(tmp_path / "e.pt")
    assert back.detail == "attrs"
    np.testing.assert_allclose(back.embed(nets[:3]), z, atol=1e-5)


def test_an_encoder_file_without_detail_reads_as_op(nets, small, tmp_path):
    Encoder(**small, detail="op").fit(nets, seed=0).save(tmp_path / "e.pt")
    d = encoder_file.read(str(tmp_path / "e.pt"), encoder_file.ENCODER_FORMAT)
    config = json.loads(d["config"])
    del config["detail"]  # as written before operator attributes
    encoder_file.write(tmp_path / "old.pt", encoder_file.ENCODER_FORMAT,
                       {**d, "config": json.dumps(config)})  # fmt: skip
    assert Encoder.load(tmp_path / "old.pt").detail == "op"


def test_gnn_baseline_keeps_its_detail(nets, tmp_path):
    m = GNNBaseline("gcn", hidden=16, out=16, epochs=1, progress=False, detail="attrs").fit(nets)
    assert "convolution[k3]" in m._ops.names
    m.save(tmp_path / "g.pt")
    back = GNNBaseline.load(tmp_path / "g.pt")
    assert back.detail == "attrs"
    np.testing.assert_allclose(back.embed(nets[:2]), m.embed(nets[:2]), atol=1e-5)


def test_nar_baseline_takes_the_attrs_view(nets):
    m = NARBaseline(hidden=16, out=16, stage1_epochs=1, stage2_epochs=1, progress=False,
                    detail="attrs").fit(nets)  # fmt: skip
    assert any("[" in n for n in m._ops.names)
    assert m.embed(nets[:2]).shape == (2, 16)
