"""The retrieval commands: archmotif index build, search, eval."""

from __future__ import annotations

import json
import re

import pytest

from archmotif.cli import main
from archmotif.corpus import save_corpus
from archmotif.retrieval.index import Index


def test_index_build_then_search(toy, tmp_path, capsys):
    corpus = tmp_path / "toy.npz"
    save_corpus(toy, corpus)
    index = tmp_path / "toy-index.npz"
    assert main(["index", "build", str(corpus), "-o", str(index), "--method", "wl"]) == 0
    assert len(Index.load(index)) == 15
    query = tmp_path / "q.json"
    toy[11].save(query)  # attention3
    capsys.readouterr()
    assert main(["search", str(query), "--index", str(index), "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["1", "1.000", "attention3"]
    assert all("family=attention" in line for line in lines[1:4])


def test_a_misspelt_labels_field_is_an_error_naming_the_fields(toy, tmp_path, capsys):
    corpus, index, query = tmp_path / "toy.npz", tmp_path / "i.npz", tmp_path / "q.json"
    save_corpus(toy, corpus)
    assert main(["index", "build", str(corpus), "-o", str(index), "--method", "wl"]) == 0
    toy[11].save(query)
    capsys.readouterr()
    assert main(["search", str(query), "--index", str(index), "--labels", "famly"]) == 1
    err = capsys.readouterr().err
    assert "--labels: no field 'famly' in this index; fields: " in err and "family" in err
    assert main(["search", str(query), "--index", str(index), "--labels", "name,family"]) == 0


def test_search_with_a_missing_index_file_is_a_clean_error(tmp_path, capsys):
    assert main(["search", "x.json", "--index", str(tmp_path / "none.npz")]) == 1
    assert "none.npz" in capsys.readouterr().err


def test_eval_writes_markdown_and_plot(tmp_path):
    out = tmp_path / "docs" / "retrieval.md"
    argv = ["eval", "--datasets", "builtin", "--methods", "wl", "--quick", "-o", str(out)]
    assert main(argv) == 0
    text = out.read_text()
    assert "archmotif eval --datasets builtin --methods wl" in text
    assert "## builtin: transductive" in text and "## builtin: inductive" in text
    assert "| wl | " in text and "*paper: NAR (their data)*" in text
    png = out.with_suffix(".png").read_bytes()
    assert png.startswith(b"\x89PNG") and "retrieval.png" in text
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert {(r["protocol"], r["method"]) for r in rows} == {
        ("transductive", "wl"),
        ("inductive", "wl"),
    }
    assert all(0.0 <= r["metrics"]["MAP@20"] <= 1.0 for r in rows)
    assert "| method | MRR@20 |" in text and "fit s (graphs/s)" in text


def test_eval_without_output_writes_its_report_where_it_runs(tmp_path, monkeypatch, capsys):
    """A user's `archmotif eval` writes retrieval.md in the working folder, not into a
    docs/ folder of the repository's layout that it would have to make."""
    monkeypatch.chdir(tmp_path)
    argv = ["eval", "--datasets", "builtin", "--methods", "wl", "--protocols", "transductive"]
    assert main([*argv, "--quick"]) == 0
    assert "wrote retrieval.md" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "retrieval.json",
        "retrieval.md",
        "retrieval.png",
    ]


def test_eval_names_a_method_that_does_not_exist(tmp_path, capsys):
    argv = ["eval", "--datasets", "builtin", "--methods", "wl,bogus", "-o", str(tmp_path / "r.md")]
    assert main(argv) == 2  # an unknown choice is a bad argument
    assert "unknown method 'bogus'" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_report_with_every_available_method(tmp_path):
    # importorskip silences the FutureWarning torch_geometric's import raises (torch.jit)
    pytest.importorskip("torch_geometric")
    out = tmp_path / "retrieval.md"
    argv = ["eval", "--quick", "--skip-missing", "--methods", "ours,nar,gcn,gat,wl", "-o", str(out)]
    assert main(argv) == 0
    text = out.read_text()
    assert "## builtin: inductive" in text and "## darts: transductive" in text
    assert "failed:" not in text and "| wl | " in text and "| ours | " in text


def _run(*argv):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "archmotif.cli", *argv], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.fixture
def costed_index(toy, tmp_path):
    """The toy corpus with a parameter count per graph (deeper: more), indexed with WL."""
    for g in toy:
        g.labels["params"] = str(1000 * g.num_nodes)
    corpus = tmp_path / "toy.npz"
    save_corpus(toy, corpus)
    index = tmp_path / "toy-index.npz"
    assert main(["index", "build", str(corpus), "-o", str(index), "--method", "wl"]) == 0
    query = tmp_path / "q.json"
    toy[11].save(query)  # attention3, 25 nodes: params 25k
    return toy, index, query


def _names(out):
    return [line.split()[2] for line in out.splitlines()[1:] if line.strip()]


def test_search_under_a_budget_from_the_command_line(costed_index):
    toy, index, query = costed_index
    r = _run("search", str(query), "--index", str(index), "-k", "20", "--max-params", "20k")
    assert r.returncode == 0, r.stderr
    names = _names(r.stdout)
    cheap = {g.name for g in toy if 1000 * g.num_nodes <= 20_000}
    assert set(names) == cheap and "attention3" not in names
    # a filtered field is printed with the hits, as --where spells it (20k, not 20000)
    assert re.search(r"params=\d+(\.\d+)?k\b", r.stdout) and "000," not in r.stdout
    r = _run("search", str(query), "--index", str(index), "--where",
             "params <= 40k and coarse == transformer")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert _names(r.stdout)[0] == "attention3"
    assert all(n.startswith("attention") for n in _names(r.stdout))


def test_an_impossible_budget_prints_that_nothing_qualifies(costed_index):
    _, index, query = costed_index
    r = _run("search", str(query), "--index", str(index), "--max-params", "1")
    assert r.returncode == 0 and "no architecture meets params <= 1" in r.stdout


def test_a_filter_on_a_missing_field_is_a_one_line_error(costed_index):
    _, index, query = costed_index
    r = _run("search", str(query), "--index", str(index), "--max-flops", "1G")
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "archmotif: error: where: no field 'flops' in this index; fields: coarse, family, "
        "name, params"
    )
    r = _run("search", str(query), "--index", str(index), "--max-params", "lots")
    assert r.returncode == 2 and "'lots' is not a number" in r.stderr


def test_buckets_and_front_from_the_command_line(costed_index):
    _, index, query = costed_index
    r = _run("search", str(query), "--index", str(index), "--buckets", "params",
             "--bucket-count", "3", "-k", "2")  # fmt: skip
    assert r.returncode == 0, r.stderr
    heads = [line for line in r.stdout.splitlines() if line.startswith("params in [")]
    assert (
        len(heads) == 3
        and heads[0].startswith("params in [8k, ")
        and heads[-1].endswith("]: 2 nearest")
    )
    r = _run("search", str(query), "--index", str(index), "--pareto")
    assert r.returncode == 0, r.stderr
    assert "not dominated on (similarity, params)" in r.stdout
    assert _names(r.stdout.split("\n", 1)[1])[-1] == "attention3"  # the most similar ends it


def test_plot_search_draws_the_front(costed_index, tmp_path):
    pytest.importorskip("matplotlib")
    _, index, query = costed_index
    out = tmp_path / "search.png"
    r = _run("plot", "search", str(query), "--index", str(index), "-o", str(out),
             "--width", "6", "--height", "4")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "15 architectures" in r.stdout and "attention3" in r.stdout
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert int.from_bytes(data[16:20], "big") == 600 and int.from_bytes(data[20:24], "big") == 400


def test_search_under_a_flops_budget_on_generated_nas_networks(tmp_path, capsys):
    # the NAS generators label every network with its costs, as tracing does
    from archmotif.datasets import darts
    from archmotif.datasets import nasbench201 as nb

    graphs = darts.generate(num_genotypes=4, depths=(5, 8)) + nb.generate(limit=30)
    flops = {g.name: int(g.labels["flops"]) for g in graphs}
    corpus, index = tmp_path / "nas.npz", tmp_path / "nas-index.npz"
    save_corpus(graphs, corpus)
    assert main(["index", "build", str(corpus), "-o", str(index), "--method", "wl"]) == 0
    query = tmp_path / "q.json"
    nb.network(1462, with_accuracy=False).save(query)  # all 3x3 convolutions: 440 M FLOPs
    budget = 100_000_000
    cheap = {name for name, f in flops.items() if f <= budget}
    assert 5 < len(cheap) < len(graphs)
    capsys.readouterr()
    assert main(["search", str(query), "--index", str(index), "-k", "50", "--max-flops",
                 "100M"]) == 0  # fmt: skip
    names = [line.split()[2] for line in capsys.readouterr().out.splitlines()[1:]]
    assert set(names) == cheap


def test_an_index_of_the_rewrite_trained_encoder_keeps_its_settings(toy, tmp_path):
    # `--method ours-rewrites` is the opt-in encoder of issue 16 (rewrite views and hard
    # negatives), at the values fixed before it was measured; its index file carries it.
    pytest.importorskip("torch_geometric")
    corpus = tmp_path / "toy.npz"
    save_corpus(toy, corpus)
    index = tmp_path / "rw.npz"
    assert main(["index", "build", str(corpus), "-o", str(index), "--method", "ours-rewrites"]) == 0
    enc = Index.load(index).encoder
    assert {k: enc.config[k] for k in ("rewrite_depth", "rewrite_swap", "hard_negatives")} == {
        "rewrite_depth": 0.3, "rewrite_swap": 0.1, "hard_negatives": True}  # fmt: skip
