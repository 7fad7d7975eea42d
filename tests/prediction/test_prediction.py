"""The prediction harness and the ``archmotif predict`` command: splits, the ridge's
leave-one-out choice, the benchmark report, and the CLI run as users run it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import archmotif
from archmotif.datasets import nasbench201 as nb
from archmotif.prediction.benchmark import rank_correlations, split
from archmotif.prediction.methods import RIDGE_GRID, ridge_loo

pytest.importorskip("torch_geometric")
pytest.importorskip("scipy")


def test_split_is_seeded_disjoint_and_complete():
    tr, te = split(100, 10, seed=3)
    assert len(tr) == 10 and len(te) == 90
    assert set(tr) | set(te) == set(range(100)) and not set(tr) & set(te)
    np.testing.assert_array_equal(split(100, 10, seed=3)[0], tr)
    assert not np.array_equal(split(100, 10, seed=4)[0], tr)
    with pytest.raises(archmotif.InvalidArgument, match="training size"):
        split(100, 100, seed=0)


def test_ridge_picks_the_strength_with_least_leave_one_out_error():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5))
    y = x @ np.array([1.0, -2.0, 0.0, 0.5, 0.0]) + 0.1 * rng.normal(size=30)
    w, ym, lam = ridge_loo(x, y)

    yc = y - y.mean()  # ridge_loo centres the targets once, on all rows

    def loo(lam: float) -> float:  # refit without each row, the slow way
        errs = []
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            wk = np.linalg.solve(x[keep].T @ x[keep] + lam * np.eye(5), x[keep].T @ yc[keep])
            errs.append((yc[i] - x[i] @ wk) ** 2)
        return float(np.mean(errs))

    assert lam == min(RIDGE_GRID, key=loo)
    np.testing.assert_allclose(w, np.linalg.solve(x.T @ x + lam * np.eye(5), x.T @ yc))
    assert ym == pytest.approx(y.mean())
    assert rank_correlations(x @ w + ym, y)["kendall_tau"] > 0.8


def test_rank_correlations_of_a_perfect_and_a_reversed_order():
    a = np.arange(10.0)
    assert rank_correlations(a, a) == pytest.approx({"kendall_tau": 1.0, "spearman_rho": 1.0})
    assert rank_correlations(-a, a)["kendall_tau"] == pytest.approx(-1.0)


def test_quick_benchmark_writes_the_report_and_raw_rows(tmp_path):
    if nb.cifar10_accuracies() is None:
        pytest.skip("analog-nasbench is not installed")
    from archmotif.prediction.benchmark import run_benchmark

    out = tmp_path / "prediction.md"
    cmd = "archmotif eval --task predict --quick"
    rows = run_benchmark(
        ["ophist-gbm", "wl-ridge"], seeds=[0], output=out, quick=True, command=cmd, log=print
    )
    assert {(r["method"], r["size"]) for r in rows} == {
        (m, s) for m in ("ophist-gbm", "wl-ridge") for s in (20, 40)
    }
    assert all(-1 <= r["kendall_tau"] <= 1 for r in rows)
    text = out.read_text()
    assert "archmotif eval --task predict --quick" in text.split("## Kendall")[0]
    assert "quick run" in text and "Partial" not in text
    assert "NAR-Former V2" not in text  # published figures exist only at 156 and 1,563 labels
    raw = json.loads((tmp_path / "prediction.json").read_text())
    assert raw["rows"] == rows and raw["meta"]["networks"] == 400


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archmotif.cli", *args],
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_cli_fits_a_predictor_then_predicts_with_it(tmp_path):
    from archmotif.learn.encoder import Encoder

    graphs = []
    for g in nb.generate(30, with_accuracy=False):
        labels = {**g.labels, "target": str(g.num_nodes + g.num_edges)}
        graphs.append(g.with_labels(labels) if hasattr(g, "with_labels") else archmotif.OpGraph(
            g.ops, g.edges, op_names=g.op_names, attrs=g.attrs, attr_names=g.attr_names,
            name=g.name, labels=labels))  # fmt: skip
    corpus = tmp_path / "nb.npz"
    archmotif.save_corpus(graphs, corpus)
    enc = Encoder(detail="attrs", hidden=8, out=8, stage1_epochs=1, stage2_epochs=1)
    enc.progress = False
    enc.fit(graphs).save(tmp_path / "enc.npz")

    fit = _run("predict", str(corpus), "--fit", "target", "--labelled", "12",
               "--encoder", str(tmp_path / "enc.npz"), "-o", str(tmp_path / "p.npz"))  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    assert "fitted on 12 labelled graphs (target)" in fit.stdout
    assert "tree head's share" in fit.stdout  # head auto, the default
    run = _run("predict", str(corpus), "--predictor", str(tmp_path / "p.npz"))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "name,prediction" and len(lines) == 31
    assert lines[1].startswith("nasbench201-00000,")
    float(lines[1].split(",")[1])

    both = _run("predict", str(corpus))
    assert both.returncode == 2 and "either --fit LABEL" in both.stderr
    none = _run("predict", str(corpus), "--fit", "nolabel", "-o", str(tmp_path / "q.npz"))
    assert none.returncode == 2 and "0 graphs carry the label 'nolabel'" in none.stderr
    trees = _run("predict", str(corpus), "--fit", "target", "--head", "trees",
                 "--encoder", str(tmp_path / "enc.npz"), "-o", str(tmp_path / "t.npz"))  # fmt: skip
    assert trees.returncode == 0 and "share" not in trees.stdout, trees.stderr
    assert archmotif.Predictor.load(tmp_path / "t.npz").tree_share == 1.0
    missing = _run("predict", str(tmp_path / "absent.npz"), "--predictor", "p.npz")
    assert missing.returncode == 1 and "no such file" in missing.stderr
    # --epochs 0 is the default spelled out (an encoder built here, not trained
    # contrastively), so it is taken; a negative count is not
    zero = _run("predict", str(corpus), "--fit", "target", "--head", "trees", "--epochs", "0",
                "-o", str(tmp_path / "z.npz"))  # fmt: skip
    assert zero.returncode == 0, zero.stderr
    neg = _run("predict", str(corpus), "--fit", "target", "--epochs", "-1", "-o", "n.npz")
    assert neg.returncode == 2 and "--epochs must be at least 0, got -1" in neg.stderr


def test_the_tree_row_reads_the_same_inputs_whatever_else_is_asked(tmp_path):
    """The tree head's surrogate columns are fixed over the space: a graph's inputs do not
    depend on which other graphs are featurised with it."""
    if nb.cifar10_accuracies() is None:
        pytest.skip("analog-nasbench is not installed")
    from archmotif.prediction.benchmark import load_space, run_benchmark
    from archmotif.prediction.methods import make_methods

    space, _ = load_space(60)
    methods, _ = make_methods(["ours-trees"], space, quick=True, log=lambda _: None)
    pred = methods["ours-trees"]

    def inputs(graphs):
        return pred._tree_inputs(graphs)

    alone = inputs([space[3]])
    pred._wired = {}  # computed afresh among others
    among = inputs([space[10], space[3], space[20]])
    assert alone.shape[1] == among.shape[1] > pred._walks.plain_width
    np.testing.assert_allclose(alone[0], among[1])
    rows = run_benchmark(["ours-trees"], seeds=[0], output=tmp_path / "p.md", quick=True,
                         log=lambda _: None)  # fmt: skip
    assert {r["size"] for r in rows} == {20, 40}
    assert all(-1 <= r["kendall_tau"] <= 1 for r in rows)
