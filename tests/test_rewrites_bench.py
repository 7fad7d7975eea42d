"""The hand-written query benchmark (``benches/rewrites``): every model traces on the
meta device, every label is one the zoo uses, and the harness runs end to end."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

import archmotif
from archmotif.corpus import save_corpus
from archmotif.datasets import zoo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benches/ is not installed

from benches.rewrites import harness, queries
from benches.rewrites.report import write

# Written the way users write them: gMLP's spatial projection as a Conv1d over tokens
# (lucidrains' spelling) makes the op-based rule see a CNN; the design is an MLP.
_COARSE_BY_DESIGN = {"gmlp_tiny": "cnn"}


@pytest.fixture(scope="module")
def traced() -> dict[str, tuple[archmotif.OpGraph, float]]:
    out = {}
    for q in queries.QUERIES:
        t = time.perf_counter()
        out[q.name] = (queries.trace_queries([q])[0], time.perf_counter() - t)
    return out


def test_at_least_thirty_distinct_queries_over_the_issue_s_designs():
    names = [q.name for q in queries.QUERIES]
    assert len(names) >= 30 and len(set(names)) == len(names)
    families = {f for q in queries.QUERIES for f in q.families}
    for design in ("vgg", "resnet", "resnext", "wide_resnet", "densenet", "mobilenetv2",
                   "mobilenetv3", "efficientnet", "regnet", "convnext", "squeezenet",
                   "shufflenetv2", "vit", "deit", "swin", "mixer", "resmlp", "bert", "gpt2",
                   "llama", "t5", "whisper"):  # fmt: skip
        assert design in families, design
    assert any(q.name == "unet" and not q.families for q in queries.QUERIES)


def test_every_query_traces_on_meta_with_its_labels(traced):
    for q in queries.QUERIES:
        g, seconds = traced[q.name]
        assert g.name == q.name and g.num_nodes >= 15, q.name  # AlexNet: 18 normalised
        assert g.labels["coarse"] == q.coarse and g.labels["families"] == ",".join(q.families)
        assert seconds < 30, f"{q.name} took {seconds:.1f} s to trace"
        ops = g.op_counts()
        if q.inputs in ("tokens", "text2text"):
            assert "embedding" in ops, q.name
        else:
            assert "convolution" in ops, q.name


def test_labels_are_the_zoo_s():
    catalogue = zoo.catalogue()
    families = set()
    for spec in catalogue:
        source, _, name = spec.partition(":")
        families.add(zoo.family_of(source, name.partition("@")[0]))
    for q in queries.QUERIES:
        assert set(q.families) <= families, (q.name, set(q.families) - families)
        assert q.coarse in zoo.COARSE, q.name


def test_vision_coarse_labels_agree_with_the_zoo_s_rule(traced):
    for q in queries.QUERIES:
        if q.inputs == "image":
            want = _COARSE_BY_DESIGN.get(q.name, q.coarse)
            assert zoo.coarse_of(traced[q.name][0]) == want, q.name


def test_targets_keep_only_labels_the_corpus_holds():
    corpus = [archmotif.OpGraph(["input"], None, labels={"family": f, "coarse": c})
              for f, c in (("regnet", "cnn"), ("vit", "vision-transformer"))]  # fmt: skip
    qs = [q for q in queries.QUERIES if q.name in ("regnetx_300mf", "deit_tiny_distilled")]
    assert harness.targets_for(qs, corpus) == [
        {"family": {"regnet"}, "coarse": {"cnn"}},
        {"family": set(), "coarse": {"vision-transformer"}},
    ]


def test_op_difference():
    a = archmotif.OpGraph(["input", "linear", "gelu", "linear"], [[0, 1, 2], [1, 2, 3]])
    b = archmotif.OpGraph(["input", "addmm", "tanh", "pow", "addmm", "linear"], None)
    d = harness.op_difference(a, b)
    assert d["only_query"] == [("gelu", 1)]
    assert d["only_other"] == [("addmm", 2), ("pow", 1), ("tanh", 1)]
    assert d["shared"] == 0.75
    # linear: 2 of 4 query nodes, 1 of 6 other nodes; input: 1/4 vs 1/6
    assert d["shares"] == [("linear", 0.5, 0.167), ("input", 0.25, 0.167)]


def test_the_harness_runs_end_to_end(traced, tmp_path):
    # a corpus made of three traced queries themselves, relabelled as the zoo would: a
    # query identical to a corpus graph must find it first under WL
    names = ("vgg9_bn", "resnet14_basic", "mixer_s16_depth6")
    corpus = []
    for n in names:
        g = traced[n][0]
        q = next(q for q in queries.QUERIES if q.name == n)
        corpus.append(
            archmotif.OpGraph(
                g.ops,
                g.edges,
                op_names=g.op_names,
                name=f"c_{n}",
                labels={"family": q.families[0], "coarse": q.coarse},
            )
        )
    save_corpus(corpus, tmp_path / "corpus.npz")
    qs = [q for q in queries.QUERIES if q.name in (*names, "alexnet_narrow")]
    raw = harness.run_benchmark(
        str(tmp_path / "corpus.npz"), ["wl"], queries=qs, log=lambda s: None
    )
    (run,) = raw["runs"]
    (wl,) = run["methods"]
    assert wl["family"]["MRR@10"] == 1.0 and wl["family"]["HIT@1"] == 1.0
    assert wl["family_queries"] == 3 and wl["left_out"] == ["alexnet_narrow"]
    assert wl["coarse_queries"] == 4 and wl["coarse"]["HIT@5"] == 1.0
    assert all(wl["queries"][n]["family"] == 1 for n in names)
    write(raw, tmp_path / "docs" / "rewrites.md", command="cmd", generated="now", machine="m")
    text = (tmp_path / "docs" / "rewrites.md").read_text()
    assert "| wl | 1.000 | 1.000 | 1.000 |" in text and "alexnet_narrow" in text
    assert json.loads((tmp_path / "docs" / "rewrites.json").read_text())["command"] == "cmd"
    assert "--no-normalize" not in text
    # a zoo written without normalisation is named as such
    save_corpus(corpus, tmp_path / "raw.npz", meta={"dataset": "zoo", "normalized": False})
    raw["dataset"] = str(tmp_path / "raw.npz")
    write(raw, tmp_path / "raw.md", command="cmd", generated="now", machine="m")
    assert (
        "(3 graphs, the zoo as `archmotif zoo build --no-normalize` writes it"
        in (tmp_path / "raw.md").read_text()
    )


def test_a_tie_with_a_same_structure_graph_is_shown_as_such(traced, tmp_path):
    # the query's own structure twice in the corpus, first under another family's name:
    # the tie goes to the lower index, and the report says the rank is a tie
    g = traced["vgg9_bn"][0]
    corpus = [
        archmotif.OpGraph(g.ops, g.edges, op_names=g.op_names, name=name,
                          labels={"family": family, "coarse": "cnn"})
        for name, family in (("alias", "not_vgg"), ("c_vgg", "vgg"))
    ]  # fmt: skip
    save_corpus(corpus, tmp_path / "corpus.npz")
    qs = [q for q in queries.QUERIES if q.name == "vgg9_bn"]
    raw = harness.run_benchmark(
        str(tmp_path / "corpus.npz"), ["motif-bag"], queries=qs, log=lambda s: None
    )
    row = raw["runs"][0]["methods"][0]["queries"]["vgg9_bn"]
    assert row["family"] == 2 and row["family_tied"] == 1
    write(raw, tmp_path / "r.md", command="cmd", generated="now", machine="m")
    assert "| 1–2 |" in (tmp_path / "r.md").read_text()
