"""The real-world zoo: catalogue, labels, the parallel resumable build, the built-in
subset and the corpus file it all lives in."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import archmotif
from archmotif import datasets
from archmotif.cli import main as cli
from archmotif.corpus import corpus_info
from archmotif.datasets import zoo
from archmotif.datasets.builtin import BUILTIN_SPECS
from archmotif.normalize import normalizer_id


@pytest.mark.parametrize(
    ("source", "name", "family"),
    [
        ("timm", "resnet50d", "resnet"),
        ("timm", "tf_efficientnet_b3", "efficientnet"),
        ("timm", "gluon_resnet101_v1c", "resnet"),
        ("timm", "vit_base_patch16_224", "vit"),
        ("timm", "res2net50_26w_4s", "res2net"),
        ("timm", "mobilenetv3_large_100", "mobilenetv3"),
        ("timm", "convnextv2_atto", "convnextv2"),
        ("timm", "nf_resnet50", "nf_resnet"),
        ("timm", "cs3darknet_m", "cs3darknet"),
        ("torchvision", "mobilenet_v3_large", "mobilenetv3"),
        ("torchvision", "wide_resnet50_2", "wide_resnet"),
        ("torchvision", "resnext101_32x8d", "resnext"),
        ("torchvision", "vit_b_16", "vit"),
        ("torchvision", "swin_v2_t", "swinv2"),
        ("torchvision", "efficientnet_b7", "efficientnet"),
        ("transformers", "gpt2", "gpt2"),
    ],
)
def test_family_strips_recipes_sizes_and_variants(source: str, name: str, family: str) -> None:
    assert zoo.family_of(source, name) == family


def test_catalogue_covers_every_source_in_a_fixed_order() -> None:
    specs = zoo.catalogue()
    by_source = {s: sum(1 for x in specs if x.startswith(s + ":")) for s in zoo.SOURCES}
    assert by_source["timm"] > 1300  # every timm.list_models() name
    assert by_source["torchvision"] >= 100  # classification, segmentation, detection, ...
    assert by_source["transformers"] > 500  # config types an AutoModel* class builds
    assert len(set(specs)) == len(specs) == sum(by_source.values())
    assert specs == zoo.catalogue(reversed(zoo.SOURCES))
    with pytest.raises(ValueError, match="unknown zoo source"):
        zoo.catalogue(["keras"])


@pytest.mark.parametrize(
    ("spec", "family", "coarse"),
    [
        ("timm:resnet18", "resnet", "cnn"),
        ("timm:mixer_s16_224", "mixer", "mlp"),
        ("torchvision:vit_b_32", "vit", "vision-transformer"),
        ("torchvision:fcn_resnet50", "fcn", "cnn"),
        ("transformers:bert", "bert", "text-encoder"),
        ("transformers:gpt2", "gpt2", "decoder-only"),
        ("transformers:t5", "t5", "encoder-decoder"),
        ("transformers:whisper", "whisper", "speech"),
        ("transformers:clip", "clip", "multimodal"),
    ],
)
def test_a_sample_from_each_source_traces_with_its_labels(
    spec: str, family: str, coarse: str
) -> None:
    g = zoo.trace_one(spec)
    source, _, name = spec.partition(":")
    assert g.num_nodes > 10
    assert g.labels["source"] == source
    assert g.labels["model"] == name
    assert g.labels["family"] == family
    assert g.labels["coarse"] == coarse
    assert int(g.labels["params"]) > 1000
    if source == "torchvision":
        assert g.labels["task"] == ("segmentation" if "fcn" in name else "classification")


def test_config_overrides_change_depth_not_family() -> None:
    small = zoo.trace_one("transformers:bert@num_hidden_layers=2")
    big = zoo.trace_one("transformers:bert@num_hidden_layers=4")
    assert small.labels["family"] == big.labels["family"] == "bert"
    assert small.labels["model"] == "bert@num_hidden_layers=2"
    assert big.num_nodes > small.num_nodes
    with pytest.raises(archmotif.TraceError, match="no attribute 'no_such_key'"):
        zoo.trace_one("transformers:bert@no_such_key=1")
    with pytest.raises(archmotif.TraceError, match="not key=value"):
        zoo.trace_one("transformers:bert@oops")


def test_build_records_failures_resumes_and_writes_one_corpus(tmp_path) -> None:
    out = tmp_path / "zoo.npz"
    specs = ["timm:resnet10t", "transformers:no_such_model_type", "torchvision:squeezenet1_1"]
    s = zoo.build(out, specs=specs, workers=2, progress=False)
    assert s.traced == {"timm": 1, "torchvision": 1}
    assert s.failed == {"transformers": 1}
    assert "no_such_model_type" in s.failures[0]["error"]
    graphs = archmotif.load_corpus(out)
    assert [g.labels["model"] for g in graphs] == ["resnet10t", "squeezenet1_1"]  # catalogue order
    info = corpus_info(out)
    assert info["meta"]["failed"] == {"transformers": 1}
    assert info["meta"]["failures"][0]["spec"] == "transformers:no_such_model_type"
    assert not (tmp_path / "zoo.npz.journal").exists()

    # An interrupted build: the journal holds one finished model and a torn line.
    out2 = tmp_path / "resumed.npz"
    journal = tmp_path / "resumed.npz.journal"
    done = {"spec": "timm:resnet10t", "ok": True, "graph": graphs[0].to_dict(), "seconds": 1.0}
    journal.write_text(json.dumps(done) + "\n" + '{"spec": "torchvision:squ')
    s2 = zoo.build(out2, specs=specs, workers=1, progress=False)
    assert s2.traced == s.traced and s2.failed == s.failed
    resumed = archmotif.load_corpus(out2)
    assert resumed == graphs  # nothing traced twice, nothing lost


def test_a_build_without_normalisation_normalises_to_the_default_build(tmp_path, capsys) -> None:
    """`zoo build --no-normalize` is the corpus that retrieval "before normalisation"
    searches: the traces as spelt, with the same labels, and normalising it gives the
    default build exactly."""
    specs = ["transformers:gpt2@n_layer=1", "torchvision:squeezenet1_1"]
    norm = zoo.build(tmp_path / "norm.npz", specs=specs, workers=2, progress=False)
    # a journal left by a normalised build is not reused for a build without
    first = archmotif.load_corpus(norm.path)[0]
    journal = tmp_path / "raw.npz.journal"
    done = {"spec": specs[0], "ok": True, "graph": first.to_dict(), "seconds": 1.0}
    journal.write_text(json.dumps(done) + "\n")
    raw = zoo.build(tmp_path / "raw.npz", specs=specs, workers=2, progress=False,
                    normalize=False)  # fmt: skip
    normalised, spelt = archmotif.load_corpus(norm.path), archmotif.load_corpus(raw.path)
    assert [g.labels for g in spelt] == [g.labels for g in normalised]
    assert "tanh" in spelt[0].op_counts() and "tanh" not in normalised[0].op_counts()
    assert spelt[0].num_nodes > normalised[0].num_nodes
    assert archmotif.datasets.load(raw.path) == normalised
    assert archmotif.datasets.load(raw.path, normalize=False) == spelt
    assert corpus_info(raw.path)["meta"]["normalized"] is False
    assert corpus_info(norm.path)["meta"]["normalized"] is True
    # stamped with the pass that wrote it, so loading it by name does not normalise again
    assert corpus_info(norm.path)["meta"]["normalizer"] == normalizer_id()
    assert corpus_info(raw.path)["meta"]["normalizer"] is None
    assert cli(["dataset", "info", raw.path]) == 0
    assert "operators as torch.export spells them" in capsys.readouterr().out


def test_a_model_over_the_timeout_is_a_recorded_failure(tmp_path) -> None:
    s = zoo.build(tmp_path / "z.npz", specs=["timm:resnet10t"], timeout=0.01, progress=False)
    assert s.total == 0
    assert s.failures[0]["error"] == "timed out after 0.01 s"


def test_builtin_subset_ships_in_the_package() -> None:
    t = time.perf_counter()
    graphs = datasets.load("builtin")
    seconds = time.perf_counter() - t
    assert len(graphs) == len(BUILTIN_SPECS) >= 90
    assert seconds < 5
    families: dict[str, int] = {}
    for g in graphs:
        assert {"source", "family", "coarse", "model"} <= set(g.labels)
        families[g.labels["family"]] = families.get(g.labels["family"], 0) + 1
    assert sum(1 for n in families.values() if n >= 3) >= 10  # retrieval needs members
    assert {g.labels["source"] for g in graphs} == {"timm", "torchvision", "transformers"}
    assert datasets.BUILTIN_PATH.stat().st_size < 8_000_000
    resnet50 = next(g for g in graphs if g.labels["model"] == "resnet50")
    assert resnet50.op_counts()["convolution"] == 53


def test_builtin_entries_match_a_fresh_trace() -> None:
    stored = {g.labels["model"]: g for g in datasets.load("builtin")}
    for spec in ("torchvision:resnet18", "transformers:gpt2@n_layer=2"):
        fresh = zoo.trace_one(spec)
        old = stored[spec.partition(":")[2]]
        assert fresh.node_ops() == old.node_ops()
        assert np.array_equal(fresh.edges, old.edges)
        assert fresh.labels == old.labels
        np.testing.assert_array_equal(fresh.node_flops, old.node_flops)  # costs are stored


def test_load_names_paths_and_bad_input(tmp_path) -> None:
    assert set(datasets.available()) >= {"builtin", "zoo", "darts", "nasbench201"}
    with pytest.raises(FileNotFoundError, match="neither a dataset name"):
        datasets.load("no-such-dataset")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(archmotif.FormatError, match="bad.npz"):
        datasets.load(bad)
    with pytest.raises(archmotif.FormatError, match="directory"):
        datasets.load(tmp_path)


def test_cli_dataset_info_and_zoo_list(capsys) -> None:
    assert cli(["dataset", "info", "builtin"]) == 0
    out = capsys.readouterr().out
    assert f"{len(BUILTIN_SPECS)} graphs" in out
    assert "coarse:" in out and "family:" in out
    assert cli(["zoo", "list", "--sources", "torchvision"]) == 0
    assert "torchvision" in capsys.readouterr().out


def test_limit_samples_across_families() -> None:
    from archmotif.datasets.zoo import family_of, spread

    specs = [f"timm:aimv2_{s}" for s in ("large", "huge", "1b", "3b")] + [
        "timm:resnet18", "timm:resnet50", "timm:vit_base_patch16_224",
    ]  # fmt: skip
    picked = spread(specs, 3)
    assert len({family_of("timm", s.split(":")[1]) for s in picked}) == 3
    assert sorted(spread(specs, 100)) == sorted(specs)  # all of them, each once


def test_dataset_info_zoo_before_a_build_says_what_to_run(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "ARCHMOTIF_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "archmotif.cli", "dataset", "info", "zoo"],
                       capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert r.returncode == 1 and "run `archmotif zoo build` first" in r.stderr
    assert r.stderr.count("\n") == 1
