"""archmotif mine: a summary that scales, --json and -o; MacroGraph.to_networkx."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import archmotif


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archmotif.cli", *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_mine_summary_scales_and_lists_no_single_operators():
    r = run("mine", "builtin", "--top", "5")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) < 15, r.stdout  # 98 graphs: one total line, not one line each
    assert any(line.startswith("  reduction per graph: median") for line in lines)
    motifs = lines[lines.index("motifs covering the most operators (operators x instances):") + 1 :]
    assert len(motifs) == 5
    assert all(int(m.split()[3]) > 1 for m in motifs)  # "#i level l  N ops x C ..."
    assert not r.stderr  # no progress bar or warnings when stderr is not a terminal


def test_mine_json_and_output_file(tmp_path):
    r = run("mine", "builtin", "--json", "--top", "3")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["format"] == "archmotif.mine-summary" and s["total"]["graphs"] == len(s["graphs"])
    assert len(s["top_motifs"]) == 3 and all(m["nodes"] > 1 for m in s["top_motifs"])
    assert len(s["top_motifs"][0]["ops"]) == s["top_motifs"][0]["nodes"]  # ops not cut
    out = tmp_path / "mined.json"
    r = run("mine", "builtin", "-o", str(out))
    assert r.returncode == 0 and f"wrote {out}" in r.stdout
    assert json.loads(out.read_text())["graphs"] == s["graphs"]


def test_mine_saves_the_mined_result_that_info_and_load_mined_read(tmp_path):
    """`-o FILE.mined` writes the result itself (not a summary): `archmotif.load_mined`
    gets the vocabulary and macro graphs `archmotif.mine` gives, and `archmotif info`
    summarises the file."""
    out = tmp_path / "b.mined"
    r = run("mine", "builtin", "--top", "3", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("mined 98 graphs") and f"wrote {out}: the mined result" in r.stdout
    got = archmotif.load_mined(out)
    want = archmotif.mine(archmotif.datasets.load("builtin"), progress=False)
    assert got.vocabulary.ids == want.vocabulary.ids
    assert [m.motif_ids for m in got.macro_graphs] == [m.motif_ids for m in want.macro_graphs]
    r = run("info", str(out), "--top", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{out}: mined with strategy='merge' at detail='attrs'"
    assert (
        lines[1]
        == f"vocabulary: {len(want.vocabulary)} motifs over {want.vocabulary.num_levels} levels"
    )
    # with --json the summary keeps stdout to itself
    r = run("mine", "builtin", "--json", "-o", str(tmp_path / "j.mined"))
    assert r.returncode == 0 and json.loads(r.stdout)["vocabulary"]["motifs"] == len(
        want.vocabulary
    )
    assert "wrote" in r.stderr and (tmp_path / "j.mined").is_file()
    # commands that read graphs say what the file is, not "OpGraph JSON is not UTF-8"
    for cmd in ("mine", "view"):
        r = run(cmd, str(out))
        assert r.returncode == 1
        assert f"{out} is a mined result, not graphs: archmotif info {out} summarises" in r.stderr


def test_mine_refuses_an_npz_output_before_mining(tmp_path):
    """.npz is the corpus format: writing a summary under that name would make a file
    every reader refuses, so it is a usage error naming the right suffixes."""
    out = tmp_path / "m.npz"
    r = run("mine", "builtin", "-o", str(out))
    assert r.returncode == 2 and not out.exists()
    assert (
        r.stderr.startswith(f"archmotif: error: {out}: .npz is the corpus format")
        and ".mined" in r.stderr
    )


def test_macro_graph_to_networkx(diamond):
    nx = pytest.importorskip("networkx")
    mined = archmotif.mine([diamond, diamond], progress=False)
    mg = mined.macro_graphs[0]
    g = mg.to_networkx()
    assert isinstance(g, nx.DiGraph) and g.number_of_nodes() == mg.num_nodes
    assert sum(d["size"] for _, d in g.nodes(data=True)) == diamond.num_nodes
    for i, d in g.nodes(data=True):
        assert d["motif"] == int(mg.motifs[i])
        assert d["name"] == mined.vocabulary[d["motif"]].name
    assert sum(w for _, _, w in g.edges(data="weight")) == int(mg.weights.sum())
