"""``detail=`` through the encoders, Index and search: an index built on the
op-plus-attributes view tells a 1x1 from a 3x3 network, keeps its level of detail in its
file, and refuses a search at the other level."""

from __future__ import annotations

import json

import numpy as np
import pytest

import archmotif
from archmotif import RetrievalError
from archmotif.datasets import nasbench201 as nb
from archmotif.learn.motif_bag import MotifBag
from archmotif.learn.wl import WLBaseline
from archmotif.retrieval.index import Index, search


def uniform(op: str) -> str:
    return f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|"


@pytest.fixture(scope="module")
def kernels() -> list[archmotif.OpGraph]:
    """Networks that differ only in kernel size, pairwise: plain views are equal."""
    mixed = "|{c}~0|+|skip_connect~0|{c}~1|+|none~0|avg_pool_3x3~1|{c}~2|"
    archs = [uniform("nor_conv_1x1"), uniform("nor_conv_3x3"),
             mixed.format(c="nor_conv_1x1"), mixed.format(c="nor_conv_3x3")]  # fmt: skip
    return [nb.network(a, with_accuracy=False) for a in archs]


@pytest.mark.parametrize("make", [WLBaseline, MotifBag], ids=["wl", "motif-bag"])
def test_only_the_attrs_view_tells_kernel_sizes_apart(kernels, make):
    plain = make(detail="op").fit(kernels).embed(kernels)
    attrs = make().fit(kernels).embed(kernels)  # the default level: attrs
    assert np.allclose(plain[0], plain[1], atol=1e-6)
    assert not np.allclose(attrs[0], attrs[1], atol=1e-3)


@pytest.mark.parametrize("make", [WLBaseline, MotifBag], ids=["wl", "motif-bag"])
def test_an_index_keeps_its_detail_through_its_file(kernels, tmp_path, make):
    index = Index.build(kernels, make(detail="attrs"), fit=True)
    assert index.detail == "attrs"
    index.save(tmp_path / "i.npz")
    back = Index.load(tmp_path / "i.npz")
    assert back.detail == back.encoder.detail == "attrs"
    hits = search(kernels[3], back, k=2)
    assert hits[0].index == 3 and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert search(kernels[3], back, k=1, detail="attrs")[0].index == 3
    with pytest.raises(RetrievalError, match="built at detail='attrs', not 'op'"):
        search(kernels[3], back, detail="op")


def test_index_detail_must_agree_with_its_encoder(kernels):
    with pytest.raises(RetrievalError, match="encoder takes graphs at detail='op'"):
        Index.build(kernels, WLBaseline(detail="op"), fit=True, detail="attrs")
    assert Index(np.eye(2), detail="attrs").detail == "attrs"
    with pytest.raises(archmotif.InvalidArgument, match="detail"):
        WLBaseline(detail="full")


def test_mining_apply_views_new_graphs_at_the_mined_detail(kernels):
    mined = archmotif.mine(kernels[:2], detail="attrs", progress=False)
    assert mined.detail == "attrs" and "convolution[k1]" in mined.graphs[0].op_names
    (macro,) = mined.apply(kernels[1:2], progress=False)
    assert macro.motif_ids == mined.macro_graphs[1].motif_ids


def test_cli_builds_and_searches_an_attrs_index(kernels, tmp_path, capsys):
    from archmotif.cli import main

    corpus, index = tmp_path / "k.npz", tmp_path / "i.npz"
    archmotif.save_corpus(kernels, corpus)
    kernels[1].save(tmp_path / "q.json")
    args = ["index", "build", str(corpus), "-o", str(index), "--method", "wl"]
    assert main([*args, "--detail", "attrs"]) == 0
    assert main(["search", str(tmp_path / "q.json"), "--index", str(index), "-k", "1"]) == 0
    assert "nasbench201-" in capsys.readouterr().out
    assert main(["search", str(tmp_path / "q.json"), "--index", str(index), "--detail", "op"]) == 1
    assert "built at detail='attrs'" in capsys.readouterr().err
    assert main(["mine", str(corpus), "--detail", "attrs", "--top", "3"]) == 0
    assert "convolution[k" in capsys.readouterr().out
    assert main(["info", str(corpus), "--detail", "attrs"]) == 0
    assert "convolution[k3]" in capsys.readouterr().out


def test_eval_runs_every_method_at_the_asked_detail(tmp_path):
    from archmotif.attributes import DEFAULT_DETAIL, DETAILS
    from archmotif.cli import main
    from archmotif.datasets import darts

    corpus = tmp_path / "d.npz"
    archmotif.save_corpus(darts.generate(num_genotypes=4, depths=(5, 8)), corpus)
    out = tmp_path / "r.md"
    args = ["eval", "--datasets", str(corpus), "--methods", "wl", "--protocols", "transductive"]
    # the level that is not the default is written into the report's command
    other = next(d for d in DETAILS if d != DEFAULT_DETAIL)
    assert main([*args, "--detail", other, "-o", str(out)]) == 0
    assert f"--detail {other}" in out.read_text()
    rows = json.loads(out.with_suffix(".json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert rows and all(r["detail"] == other for r in rows)
    assert main([*args, "-o", str(out)]) == 0  # no --detail: the default level
    rows = json.loads(out.with_suffix(".json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert rows and all(r["detail"] == DEFAULT_DETAIL for r in rows)


def test_evaluate_ranks_by_attributes_at_attrs():
    # two designs one plain graph apart: all-1x1 and all-3x3 cells; evaluate's blind
    # copies must keep the attributes, or detail="attrs" silently ranks the plain view
    from archmotif.retrieval.evaluate import evaluate

    cells = {"k1": "nor_conv_1x1", "k3": "nor_conv_3x3"}
    graphs = []
    for fam, op in cells.items():
        for skip in ("skip_connect", "avg_pool_3x3", "none"):
            g = nb.network(f"|{op}~0|+|{op}~0|{skip}~1|+|{op}~0|{op}~1|{op}~2|")
            g.labels = {"family": fam}
            graphs.append(g)
    attrs = evaluate(WLBaseline(detail="attrs"), graphs, ks=(3,)).metrics["MAP@3"]
    plain = evaluate(WLBaseline(detail="op"), graphs, ks=(3,)).metrics["MAP@3"]
    assert attrs == pytest.approx(1.0) and plain < 1.0
