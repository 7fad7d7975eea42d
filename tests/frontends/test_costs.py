"""Costs at trace time: parameters, FLOPs per operator and in total (2 x MACs), peak
activation memory; the same FLOPs from an ONNX export; costs through files and macro
graphs."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

import archmotif
from archmotif import GraphError, OpGraph

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


def _costs(g: OpGraph) -> tuple[int, int, int]:
    return int(g.labels["params"]), int(g.labels["flops"]), int(g.labels["memory"])


def test_resnet50_matches_the_published_figures():
    """25,557,032 parameters and 4.09 G multiply-accumulates (torchvision's table)."""
    g = archmotif.trace("resnet50")
    params, flops, memory = _costs(g)
    assert params == 25_557_032
    assert flops == 8_178_368_512 and flops / 2 == pytest.approx(4.09e9, rel=1e-3)
    assert g.node_flops.sum() == flops
    ops = g.node_ops()
    conv = [f for op, f in zip(ops, g.node_flops, strict=True) if op == "convolution"]
    assert len(conv) == 53 and all(f > 0 for f in conv)
    assert all(f == 0 for op, f in zip(ops, g.node_flops, strict=True) if op == "relu")
    assert 0 < memory < 64 * 2**20  # batch 1 at 224x224: megabytes of activations


def test_vit_b_16_matches_the_published_figures():
    g = archmotif.trace("vit_b_16")
    params, flops, _ = _costs(g)
    assert params == 86_567_656
    assert flops / 2 == pytest.approx(17.56e9, rel=2e-3)  # torchvision: 17.56 "GFLOPS"


def test_bert_per_operator_flops_sum_to_torchs_count_of_the_whole_model():
    """An independent count: FlopCounterMode around the model's own forward."""
    from torch.utils.flop_counter import FlopCounterMode

    from archmotif.frontends import builders

    built = builders.build("transformers:bert", meta=True)
    g = archmotif.trace("transformers:bert")
    with FlopCounterMode(display=False) as counter:
        built.module.eval()(**built.inputs)
    assert int(g.labels["flops"]) == counter.get_total_flops() > 0
    assert int(g.labels["params"]) == sum(p.numel() for p in built.module.parameters())
    assert g.node_ops().count("scaled_dot_product_attention") == 12


def test_peak_memory_follows_tensor_lifetimes():
    """[1, 1000] float32 through linear, relu, linear: at most two 4 kB activations are
    live at once (an input and its operator's output); a view allocates nothing."""

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = torch.nn.Linear(1000, 1000), torch.nn.Linear(1000, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(torch.relu(self.a(x)).view(1, 1000))

    g = archmotif.trace(Net(), (torch.zeros(1, 1000),))
    params, flops, memory = _costs(g)
    assert memory == 2 * 4000
    assert params == 2 * (1000 * 1000 + 1000)
    assert flops == 2 * 2 * 1000 * 1000  # two [1,1000] x [1000,1000] products


def test_onnx_export_gives_the_same_flops_as_tracing(tmp_path):
    pytest.importorskip("onnx")
    m = torchvision.models.resnet18().eval()
    path = tmp_path / "r18.onnx"
    with pytest.warns(DeprecationWarning):  # the TorchScript exporter says it is legacy
        torch.onnx.export(m, (torch.zeros(1, 3, 224, 224),), path, dynamo=False,
                          export_params=False)  # fmt: skip
    onnx_graph = archmotif.from_onnx(path, normalize=False)  # the file's own op types
    traced = archmotif.trace(m)
    assert onnx_graph.labels["flops"] == traced.labels["flops"] == "3628146688"
    assert "params" not in onnx_graph.labels  # exported without weights
    conv = [f for op, f in zip(onnx_graph.node_ops(), onnx_graph.node_flops, strict=True)
            if op == "Conv"]  # fmt: skip
    assert len(conv) == 20 and all(f > 0 for f in conv)


def test_node_flops_travel_through_json_corpus_networkx_and_macro_graphs(tmp_path):
    g = OpGraph(["input", "conv", "relu", "conv"], [[0, 1, 2], [1, 2, 3]],
                node_flops=[0, 10, None, 30])  # fmt: skip
    plain = OpGraph(["input", "conv"], [[0], [1]])
    back = OpGraph.from_json(g.to_json())
    assert back == g and np.isnan(back.node_flops[2])
    assert json.loads(g.to_json())["node_flops"] == [0.0, 10.0, None, 30.0]
    archmotif.save_corpus([g, plain], tmp_path / "c.npz")
    a, b = archmotif.load_corpus(tmp_path / "c.npz")
    assert a == g and b.node_flops is None and b == plain
    assert g.to_networkx().nodes[3]["flops"] == 30.0
    mg = archmotif.contract(g, [0, 1, 1, 2])
    np.testing.assert_array_equal(mg.flops[[0, 2]], [0, 30])
    assert np.isnan(mg.flops[1])  # one operator of it is unknown
    assert archmotif.contract(plain, [0, 1]).flops is None


def test_version_2_corpora_still_read_without_flops(tmp_path):
    """A version-2 file is the version-3 layout without node_flops."""
    import zipfile

    g = OpGraph(["input", "conv"], [[0], [1]], node_flops=[0, 5])
    archmotif.save_corpus([g], tmp_path / "v3.npz")
    with zipfile.ZipFile(tmp_path / "v3.npz") as z:
        members = {n: z.read(n) for n in z.namelist() if n != "node_flops.npy"}
    header = np.load(tmp_path / "v3.npz")["header"].tobytes()
    h = json.loads(header)
    h["version"] = 2
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(json.dumps(h).encode(), dtype=np.uint8))
    members["header.npy"] = buf.getvalue()
    with zipfile.ZipFile(tmp_path / "v2.npz", "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    (old,) = archmotif.load_corpus(tmp_path / "v2.npz")
    assert old.node_flops is None and old.node_ops() == ["input", "conv"]


@pytest.mark.parametrize(
    ("flops", "match"),
    [([0, -1], "finite and >= 0"), ([0, float("inf")], "finite"), ([1], r"shape \(1,\)"),
     (["a", "b"], "must be numbers")],
)  # fmt: skip
def test_bad_node_flops_are_graph_errors(flops, match):
    with pytest.raises(GraphError, match=match):
        OpGraph(["input", "conv"], [[0], [1]], node_flops=flops)
