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
