"""The CLI is quiet and fast to fail: one line per error with a documented exit status,
Ctrl-C exits 130, library noise stays off the terminal, and argument or path errors are
found before torch is imported. Runs the real entry point in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import archmotif
from archmotif.synthetic import resnet_like, transformer_like


def run(*args: str, env=None, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archmotif.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


@pytest.fixture
def corpus(tmp_path):
    gs = [resnet_like(60 + 3 * i) for i in range(3)] + [transformer_like(50 + i) for i in range(3)]
    for i, g in enumerate(gs):
        g.name = f"g{i}"
    p = tmp_path / "small.npz"
    archmotif.save_corpus(gs, p)
    return p


@pytest.mark.parametrize(
    "args",
    [
        ["info", "typo.json"],
        ["search", "q.json", "--index", "missing.npz"],
        ["search", "{corpus}", "--index", "{corpus}", "-k", "0"],
        ["search", "{corpus}", "--index", "{corpus}", "--buckets", "params", "--bucket-count", "0"],
        ["mine", "{corpus}", "--max-motif-nodes", "0"],
        ["view", "nothere.py:Net"],
        ["index", "build", "{corpus}", "-o", "{out}", "--method", "nosuch"],
        ["index", "build", "{corpus}", "-o", "no/such/folder/idx.npz"],
        ["view", "{corpus}", "-o", "nofolder/v.html"],
    ],
)
def test_argument_and_path_errors_come_before_torch(args, corpus):
    args = [a.format(corpus=corpus, out=corpus.parent / "out.npz") for a in args]
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "archmotif.cli", *args],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    errors = [line for line in r.stderr.splitlines() if not line.startswith("import time:")]
    assert r.returncode in (1, 2) and len(errors) == 1 and errors[0].startswith("archmotif")
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines()}
    assert "torch" not in imported, errors


@pytest.mark.parametrize(
    "args",
    [
        ["index", "build", "{corpus}", "-o", "{tmp}/missing/idx.npz"],
        ["mine", "{corpus}", "-o", "{tmp}/missing/m.mined"],
        ["trace", "{tmp}/net.py:Net", "-o", "{tmp}/missing/net.json"],
    ],
)
def test_an_output_in_a_missing_folder_is_refused_before_any_work(args, corpus, tmp_path):
    """`-o out/x` where `out` does not exist: one line naming the folder, exit 1, before
    tracing, mining or fitting (not after minutes of work), and nothing written."""
    args = [a.format(corpus=corpus, tmp=tmp_path) for a in args]
    r = run(*args)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == (
        f"archmotif: error: cannot write {args[-1]}: there is no folder {tmp_path}/missing"
    )
    assert not (tmp_path / "missing").exists()


def test_os_errors_read_without_their_errno(corpus):
    """A write the system refuses names the file and the reason, without Python's
    `[Errno N]` prefix (/proc takes no new files, whoever asks)."""
    r = run("mine", str(corpus), "-o", "/proc/m.mined")
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "archmotif: error: cannot write /proc/m.mined (No such file or directory)"
    )


def test_os_error_messages_drop_the_errno_prefix():
    from archmotif.cli import _os_message

    assert _os_message(OSError(13, "cannot write x (Permission denied)")) == (
        "cannot write x (Permission denied)"
    )
    assert _os_message(FileNotFoundError(2, "No such file or directory", "a.json")) == (
        "a.json: No such file or directory"
    )
    assert _os_message(FileNotFoundError("a.json: no such file")) == "a.json: no such file"


@pytest.mark.parametrize(
    "args, says",
    [
        (["search", "idx.npz", "net.py:Net"],
         "the index file goes after --index: archmotif search net.py:Net --index idx.npz"),
        (["search", "net.py:Net"], "--index is required: archmotif search net.py:Net --index"),
        (["search", "a.json", "b.json", "--index", "idx.npz"],
         "one query, not two: a.json and b.json"),
        (["plot", "search", "idx.npz", "net.py:Net", "-o", "f.png"],
         "goes after --index: archmotif plot search net.py:Net --index idx.npz"),
    ],
)  # fmt: skip
def test_a_search_without_its_index_flag_shows_the_command_as_it_should_read(args, says):
    """`search INDEX QUERY` is the slip a new user makes first: the error spells out the
    right command (exit 2), before any file is read."""
    r = run(*args)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.startswith("archmotif: error: ") and says in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_data_dependent_branch_fails_in_one_line(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "dd.py").write_text(
        textwrap.dedent(
            """
            from torch import nn

            class DD(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.lin = nn.Linear(4, 4)

                def forward(self, x):
                    y = self.lin(x)
                    return y * 2 if y.sum() > 0 else y
            """
        )
    )
    r = run("trace", "dd.py:DD", "--input-shape", "1,4", cwd=tmp_path)
    assert r.returncode == 1 and not r.stdout
    assert r.stderr.count("\n") == 1 and "could not trace DD" in r.stderr, r.stderr
    assert "branches or loops on a tensor's values" in r.stderr  # says what to change


def test_library_warnings_stay_off_the_terminal(corpus, tmp_path):
    pytest.importorskip("torch_geometric")  # importing it warns about torch.jit.script
    out = tmp_path / "ours.npz"
    r = run("index", "build", str(corpus), "--method", "ours", "-o", str(out))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run("-v", "search", str(corpus.parent / "q.json"), "--index", str(out))
    assert r.returncode == 1  # q.json does not exist; -v alone prints no traceback
    assert r.stderr.splitlines()[-1].startswith("archmotif: error: ")


def test_ctrl_c_exits_130_quietly():
    p = subprocess.Popen(
        [sys.executable, "-m", "archmotif.cli", "mine", "nasbench201"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    time.sleep(4)  # past start-up, generating or mining 15,625 cells
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err == "archmotif: interrupted\n", err


def test_internal_errors_are_one_line_with_a_hint(tmp_path):
    bad = tmp_path / "g.json"
    bad.write_text("[]")
    r = run("info", str(bad))
    assert r.returncode in (1, 70) and r.stderr.count("\n") == 1
    env = {**os.environ, "ARCHMOTIF_DEBUG": "1"}
    r = run("info", str(bad), env=env)
    assert r.stderr.splitlines()[-1].startswith("archmotif: error: ")


def test_a_missing_index_file_says_how_to_build_one(tmp_path):
    """`--index builtin` (a dataset, not an index file) is a natural first guess."""
    r = run("search", "resnet18", "--index", "builtin", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "archmotif: error: builtin: no such index file (build one from a corpus or "
        "dataset, e.g. archmotif index build builtin -o idx.npz)"
    )


def test_an_output_that_is_a_folder_is_refused_before_any_work(corpus, tmp_path):
    (tmp_path / "sub").mkdir()
    r = run("index", "build", str(corpus), "-o", str(tmp_path / "sub"))
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"archmotif: error: cannot write {tmp_path}/sub: it is a folder; name a file in it"
    )


@pytest.mark.parametrize(
    "args, says",
    [
        (["plot"], "required: {levels,reduction,embedding,search}"),
        (["index"], "required: {build}"),
        (["dataset"], "required: {info,export}"),
    ],
)
def test_a_command_group_without_its_subcommand_names_the_choices(args, says):
    r = run(*args)
    assert r.returncode == 2 and says in r.stderr, r.stderr
