"""The retrieval commands: archmotif index build, search, eval."""

from __future__ import annotations

import json

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


def test_eval_names_a_method_that_does_not_exist(tmp_path, capsys):
    argv = ["eval", "--datasets", "builtin", "--methods", "wl,bogus", "-o", str(tmp_path / "r.md")]
    assert main(argv) == 1
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
