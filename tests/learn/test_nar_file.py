"""The NAR baseline's file: a loaded baseline embeds new graphs exactly as the one that
was saved, a bad file is a FormatError naming it, and an index of it builds, saves and
searches from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import archmotif
from archmotif.attributes import DEFAULT_DETAIL
from archmotif.datasets import load
from archmotif.errors import LearnError
from archmotif.learn import encoder_file
from archmotif.learn.nar import NAR_FORMAT, NARBaseline


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A small NAR baseline fitted on every fifth builtin model, and its file."""
    gs = load("builtin")[::5]
    model = NARBaseline(hidden=32, out=16, stage1_epochs=2, stage2_epochs=2, progress=False)
    model.fit(gs, seed=3)
    path = tmp_path_factory.mktemp("nar") / "nar.npz"
    model.save(path)
    return model, path


def test_a_loaded_nar_baseline_embeds_unseen_graphs_exactly_as_the_original(fitted):
    model, path = fitted
    unseen = load("builtin")[2::5]
    # the unseen graphs hold motifs the vocabulary lacks: the motif encoder is exercised
    macros = model._mined.apply(unseen, progress=False)
    assert any((m.motifs < 0).any() for m in macros)
    again = NARBaseline.load(path)
    assert (again.hidden, again.out, again.detail) == (32, 16, DEFAULT_DETAIL)
    assert again.stage2_epochs == 2 and again.history == {"stage1": [], "stage2": []}
    np.testing.assert_array_equal(again.embed(unseen), model.embed(unseen))
    assert again.embed([]).shape == (0, 16)


def test_an_index_of_a_nar_baseline_saves_and_loads(fitted, tmp_path):
    from archmotif.retrieval.index import Index

    model, _ = fitted
    gs = load("builtin")[1::7]
    index = Index.build(gs, model)
    index.save(tmp_path / "index.npz")
    again = Index.load(tmp_path / "index.npz")
    assert type(again.encoder) is NARBaseline
    np.testing.assert_array_equal(again.encoder.embed(gs[:3]), model.embed(gs[:3]))


def test_save_before_fit_is_a_learn_error(tmp_path):
    with pytest.raises(LearnError, match="save called before fit"):
        NARBaseline().save(tmp_path / "x.npz")


def _rewrite(path, tmp_path, **changes):
    d = encoder_file.read(path, NAR_FORMAT)
    settings = changes.pop("settings", None)
    if settings is not None:
        d["settings"] = json.dumps({**json.loads(d["settings"]), **settings})
    d.update(changes)
    out = tmp_path / "bad.npz"
    encoder_file.write(out, NAR_FORMAT, d)
    return out


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"settings": {"mine_kwargs": {"client": "tcp://x"}}}, "outside the schema"),
        ({"settings": {"hidden": 8192}}, "outside the schema"),
        ({"settings": {"hidden": 64}}, "motif table is not float32 .*64"),
        ({"table": torch.zeros(2, 32)}, "motif table is not float32"),
        ({"graph_enc": {}}, "graph encoder's weights do not match its settings"),
        ({"mined": torch.zeros(40, dtype=torch.uint8)}, "bad.npz"),
        ({"mined": "not bytes"}, "stored Mined is not a byte string"),
    ],
)
def test_a_nar_file_outside_its_schema_is_a_format_error(fitted, tmp_path, changes, match):
    with pytest.raises(archmotif.FormatError, match=match):
        NARBaseline.load(_rewrite(fitted[1], tmp_path, **changes))


def test_another_models_file_is_not_a_nar_file(tmp_path, toy):
    from archmotif.learn.gnn import GNNBaseline

    GNNBaseline(hidden=8, out=8, epochs=1, progress=False).fit(toy).save(tmp_path / "g.npz")
    with pytest.raises(archmotif.FormatError, match="g.npz"):
        NARBaseline.load(tmp_path / "g.npz")


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "archmotif.cli", *argv], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_index_build_method_nar_then_search_from_the_command_line(toy, tmp_path):
    from archmotif.corpus import save_corpus

    save_corpus(toy, tmp_path / "toy.npz")
    index = tmp_path / "nar-index.npz"
    r = _cli("index", "build", str(tmp_path / "toy.npz"), "--method", "nar", "-o", str(index))
    assert r.returncode == 0, r.stderr
    assert f"indexed {len(toy)} graphs with nar (dim 256)" in r.stdout
    query = tmp_path / "q.json"
    toy[-1].save(query)
    r = _cli("search", str(query), "--index", str(index), "-k", "3")
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[1].split()
    assert first[:3] == ["1", "1.000", toy[-1].name]
