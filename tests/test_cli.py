"""The archmotif command line, run as users run it."""

from __future__ import annotations

import subprocess
import sys

import pytest

import archmotif
from archmotif.cli import main


def test_help_lists_the_commands():
    out = subprocess.run(
        [sys.executable, "-m", "archmotif.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for cmd in ("trace", "info", "demo"):
        assert cmd in out


def test_trace_writes_a_graph_and_info_reads_it(tmp_path, capsys):
    pytest.importorskip("torchvision")
    out = tmp_path / "resnet18.json"
    assert main(["trace", "torchvision:resnet18", "-o", str(out)]) == 0
    g = archmotif.OpGraph.load(out)
    assert g.name == "resnet18" and g.op_counts()["convolution"] == 20
    traced = capsys.readouterr().out
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "resnet18: 49 nodes" in info  # normalised (70 as exported)
    # both summaries name the operators alike (with their attributes, as mining does)
    assert "convolution[k3] 13" in traced and "convolution[k3] 13" in info


def test_trace_writes_a_corpus_of_one_graph_for_npz_and_refuses_onnx(tmp_path, capsys, diamond):
    """-o FILE.npz gives a corpus every corpus reader takes; an .onnx (or .mined) name
    would be read back as that format, so it is a usage error and nothing is written."""
    src = tmp_path / "d.json"
    diamond.save(src)
    one = tmp_path / "one.npz"
    assert main(["trace", str(src), "-o", str(one)]) == 0
    assert "(a corpus of one graph)" in capsys.readouterr().out
    [back] = archmotif.load_corpus(one)
    assert back.op_names == diamond.op_names and (back.edges == diamond.edges).all()
    assert main(["info", str(one)]) == 0
    assert f"{one}: 1 graph, 4 nodes" in capsys.readouterr().out
    for bad in ("x.onnx", "x.mined"):
        assert main(["trace", str(src), "-o", str(tmp_path / bad)]) == 2
        assert "trace writes an OpGraph" in capsys.readouterr().err
        assert not (tmp_path / bad).exists()


def test_info_on_a_corpus(tmp_path, capsys, diamond):
    p = tmp_path / "c.npz"
    archmotif.save_corpus([diamond, diamond], p)
    assert main(["info", str(p)]) == 0
    assert "2 graphs, 8 nodes, 8 edges, 4 ops" in capsys.readouterr().out


def test_errors_are_one_line_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_text("nope")
    assert main(["info", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("archmotif: error:") and "bad.npz" in err
    assert main(["trace", "no_such_model_xyz"]) == 1
    assert "no_such_model_xyz" in capsys.readouterr().err


def test_mine_prints_vocabulary_and_reductions(tmp_path, capsys):
    from archmotif.synthetic import resnet_like, transformer_like

    p = tmp_path / "c.npz"
    archmotif.save_corpus([resnet_like(301), transformer_like(161)], p)
    assert main(["mine", str(p), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "vocabulary:" in out and "bottleneck-301: 301 nodes ->" in out
    assert out.count(" ops x ") == 3
    assert main(["mine", str(p), "--strategy", "nar"]) == 0
    assert "strategy='nar'" in capsys.readouterr().out


def test_mine_streams_a_corpus_with_the_same_result(tmp_path, capsys):
    from archmotif.synthetic import resnet_like, transformer_like

    p = tmp_path / "c.npz"
    archmotif.save_corpus([resnet_like(301), transformer_like(161), resnet_like(120)], p)
    assert main(["mine", str(p), "--top", "3"]) == 0
    whole = capsys.readouterr().out
    assert main(["mine", str(p), "--top", "3", "--chunk-nodes", "200"]) == 0
    streamed = capsys.readouterr().out
    assert "streamed in chunks of 200 nodes" in streamed
    tail = lambda out: out[out.index("motifs covering the most operators") :]  # noqa: E731
    assert tail(streamed) == tail(whole)  # the same motifs, counts and support
    assert "all 3 graphs: 582 nodes ->" in streamed
    assert main(["mine", str(p), str(p), "--chunk-nodes", "200"]) == 2
    assert "streams one corpus file" in capsys.readouterr().err


def _leaf_commands(parser, prefix=()):
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, p in subs[0].choices.items():
        yield from _leaf_commands(p, (*prefix, name))


def test_every_command_has_examples_and_every_option_help():
    from archmotif.cli import _parser

    leaves = dict(_leaf_commands(_parser()))
    assert len(leaves) >= 14
    for cmd, p in leaves.items():
        assert p.epilog and p.epilog.startswith("examples:"), cmd
        for action in p._actions:
            assert action.help, (cmd, action.dest)
    out = subprocess.run([sys.executable, "-m", "archmotif.cli", "search", "--help"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "examples:\n  archmotif search resnet50 --index index.npz -k 5" in out
