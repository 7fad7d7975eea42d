"""One way to name an input in every command: your own model as FILE.py:NAME, its
inputs, dataset names, files; run through the real ``archmotif`` entry point."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import archmotif

MODELS = textwrap.dedent(
    """
    import torch
    from torch import nn


    class TinyUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down1 = nn.Conv2d(3, 8, 3, padding=1)
            self.down2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
            self.out = nn.Conv2d(16, 2, 1)

        def forward(self, x):
            a = torch.relu(self.down1(x))
            b = torch.relu(self.down2(a))
            return self.out(torch.cat([self.up(b), a], dim=1))


    class TinyGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(100, 16)
            self.head = nn.Linear(16, 100)

        def forward(self, input_ids):
            return self.head(torch.relu(self.emb(input_ids)))


    class TinyTok(TinyGPT):
        def forward(self, ids):  # token ids under another name than transformers'
            return super().forward(ids)


    def make_unet():
        return TinyUNet()
    """
)


def run(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archmotif.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )  # fmt: skip


@pytest.fixture
def models(tmp_path):
    p = tmp_path / "mymodels.py"
    p.write_text(MODELS)
    return p


def test_trace_your_own_model_from_a_file(models, tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "unet.json"
    r = run("trace", f"{models}:TinyUNet", "--input-shape", "1,3,32,32", "-o", str(out))
    assert r.returncode == 0, r.stderr
    g = archmotif.OpGraph.load(out)
    assert g.name == "TinyUNet" and g.op_counts()["convolution"] == 3
    # a factory works as well as a class, and the default input is (1, 3, 224, 224)
    r = run("trace", f"{models}:make_unet", "-o", str(out))
    assert r.returncode == 0, r.stderr


def test_a_model_that_needs_integer_ids_says_how_to_pass_them(models, tmp_path):
    pytest.importorskip("torch")
    r = run("trace", f"{models}:TinyGPT")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "--input-dtype long" in r.stderr, r.stderr
    out = tmp_path / "gpt.json"
    r = run("trace", f"{models}:TinyGPT", "--input-shape", "1,8", "--input-dtype", "long",
            "-o", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run("trace", f"{models}:TinyGPT", "--inputs", "input_ids=long[1,8]", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert archmotif.OpGraph.load(out).op_counts()["embedding"] == 1


def test_input_hints_use_the_models_own_argument_names(models, tmp_path):
    """The hint after a failed default trace names the model's own argument, and
    `--inputs` with a name forward lacks says what it takes."""
    pytest.importorskip("torch")
    r = run("trace", f"{models}:TinyTok")
    assert r.returncode == 1 and "--inputs 'ids=long[1,16]'" in r.stderr, r.stderr
    r = run("trace", f"{models}:TinyTok", "--inputs", "input_ids=long[1,16]")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "archmotif: error: --inputs names 'input_ids', but TinyTok.forward takes (ids)"
    )
    out = tmp_path / "t.json"
    r = run("trace", f"{models}:TinyTok", "--inputs", "ids=long[1,16]", "-o", str(out))
    assert r.returncode == 0, r.stderr


def test_a_python_file_without_a_name_says_how_to_name_the_model(models):
    r = run("trace", str(models))
    assert r.returncode == 2 and f"name the model in it as {models}:NAME" in r.stderr


def test_a_module_path_names_a_model(models, tmp_path):
    pytest.importorskip("torch")
    r = run("info", "mymodels:TinyUNet", "--input-shape", "1,3,16,16", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("TinyUNet: ")


def test_view_and_mine_take_your_model(models, tmp_path):
    pytest.importorskip("torch")
    html = tmp_path / "unet.html"
    r = run("view", f"{models}:TinyUNet", "--input-shape", "1,3,32,32", "-o", str(html))
    assert r.returncode == 0, r.stderr
    assert html.stat().st_size > 1000
    r = run("mine", f"{models}:TinyUNet", f"{models}:make_unet")
    assert r.returncode == 0, r.stderr
    # one --input-shape for two models: the one it does not fit says the shape went to both
    r = run("mine", f"{models}:TinyUNet", f"{models}:TinyGPT", "--input-shape", "1,3,32,32")
    assert r.returncode == 1
    assert f"the example inputs given go to every model named ({models}:TinyUNet, " in r.stderr
    assert "mine the .json files together" in r.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["trace", "nofile.py:Net"], "nofile.py: no such Python file"),
        (["trace", "x:Net", "--inputs", "float[1,a]"], "not [NAME=]DTYPE[SHAPE]"),
        (
            ["trace", "x:Net", "--input-shape", "1,3", "--input-dtype", "complex"],
            "unknown input dtype",
        ),
        (["trace", "x:Net", "--input-shape", "1,3,x,224"], "'1,3,x,224' is not comma-separated"),
        (["trace", "x:Net", "--input-shape", "1,3,,224"], "'1,3,,224' is not comma-separated"),
        (["trace", "x:Net", "--input-shape", "1,3,0,224"], "a size of 0; every size must be >= 1"),
        (["info", "missing.json"], "missing.json: no such file"),
        (["mine", "builtin", "--max-motif-nodes", "0"], "--max-motif-nodes must be"),
        (["view", "builtin", "--graph", "999"], "graph number 999 out of range"),
    ],
)
def test_bad_inputs_are_one_line(args, needle):
    r = run(*args)
    assert r.returncode in (1, 2), r.stderr
    assert r.stderr.startswith("archmotif: error:") and r.stderr.count("\n") == 1, r.stderr
    assert needle in r.stderr and not r.stdout


def test_info_and_mine_accept_dataset_names():
    r = run("info", "builtin", "--top", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("builtin: ") and "... and" in r.stdout
    r = run("mine", "builtin", "--top", "3")
    assert r.returncode == 0, r.stderr
    assert "vocabulary:" in r.stdout


def test_node_names_are_module_paths_and_info_tables_them(models, tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "unet.json"
    r = run("trace", f"{models}:TinyUNet", "--input-shape", "1,3,16,16", "-o", str(out))
    assert r.returncode == 0, r.stderr
    names = archmotif.OpGraph.load(out).node_names
    assert {"down1", "down2", "up", "out"} <= set(names)
    r = run("info", str(out), "--modules")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].split() == ["module", "ops", "output", "shape", "params", "operators"]
    rows = [line.split() for line in lines[2:]]
    # module, operators, its last output's shape, the parameters it reads, which operators
    assert ["down1", "1", "1×8×16×16", "224", "convolution[k3]"] in rows  # default: attrs
    assert ["up", "1", "1×8×16×16", "520", "conv_transpose[k2,s2,t]"] in rows
    assert ["(inputs)", "1", "1×3×16×16", "0", "input"] in rows
    # the total row: every operator, the model's output, its parameter count
    g = archmotif.OpGraph.load(out)
    total = rows[-1]
    assert total == ["total", str(g.num_nodes), "1×2×16×16", "1,946"]
    assert g.labels["params"] == "1946" == str(int(g.node_params.sum()))
    # a graph without shapes or parameters: those columns are left out
    plain = tmp_path / "plain.json"
    archmotif.OpGraph(g.ops, g.edges, op_names=g.op_names, node_names=g.node_names).save(plain)
    r = run("info", str(plain), "--modules")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].split() == ["module", "ops", "operators"]
    # --depth alone asks for the table too; a depth below 1 is refused
    assert run("info", str(out), "--depth", "2").stdout == run("info", str(out), "--modules").stdout
    r = run("info", str(out), "--depth", "0")
    assert r.returncode == 2 and "--depth must be at least 1, got 0" in r.stderr
