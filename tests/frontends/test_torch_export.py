"""trace(): torch.export on the meta device, the node policy, and errors."""

from __future__ import annotations

import pytest

import archmotif
from archmotif.frontends.ops import normalize_op

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


def test_resnet50_with_real_weights_is_a_large_dag():
    g = archmotif.trace(torchvision.models.resnet50(), normalize=False)  # the node policy
    assert g.num_nodes >= 150
    counts = g.op_counts()
    for op in ("convolution", "batch_norm", "relu", "add"):
        assert counts[op] > 0, op
    assert counts["convolution"] == 53 and counts["add"] == 16
    assert counts["input"] == 1
    assert g.name == "ResNet"


def test_parameters_and_buffers_are_not_nodes():
    m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU())
    g = archmotif.trace(m, (torch.zeros(2, 4),))
    assert g.node_ops() == ["input", "linear", "batch_norm", "relu"]
    assert g.edges.tolist() == [[0, 1, 2], [1, 2, 3]]


def test_trace_restores_the_training_flag():
    m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))
    m.train()
    archmotif.trace(m, torch.zeros(1, 4))
    assert m.training


def test_multi_output_ops_are_spliced_through_getitem():
    class Split(torch.nn.Module):
        def forward(self, x):
            a, b = torch.chunk(x, 2, dim=1)
            return torch.relu(a) + torch.sigmoid(b)

    g = archmotif.trace(Split(), torch.zeros(1, 4))
    ops = g.node_ops()
    assert "getitem" not in " ".join(ops)
    chunk = next(i for i, op in enumerate(ops) if op in ("chunk", "split", "split_with_sizes"))
    succ = {d for s, d in g.edges.T.tolist() if s == chunk}
    assert {ops[d] for d in succ} == {"relu", "sigmoid"}


def test_bert_traces_on_the_meta_device():
    transformers = pytest.importorskip("transformers")
    cfg = transformers.BertConfig()
    cfg.use_cache = False
    with torch.device("meta"):
        model = transformers.BertModel(cfg)
    g = archmotif.trace(model)
    assert g.op_counts()["scaled_dot_product_attention"] == cfg.num_hidden_layers
    assert g.op_counts()["layer_norm"] == 2 * cfg.num_hidden_layers + 1


@pytest.mark.parametrize(
    ("spec", "min_nodes"),
    [
        ("transformers:gpt2", 300),
        ("transformers:t5", 500),
        ("transformers:llama", 1000),
        ("transformers:vit", 200),
        ("transformers:whisper", 300),
        ("timm:vit_base_patch16_224", 200),
        ("torchvision:r3d_18", 50),
    ],
)
def test_models_by_name_trace_with_inputs_chosen_by_modality(spec, min_nodes):
    g = archmotif.trace(spec, normalize=False)  # as exported: the policy's node count
    assert g.num_nodes >= min_nodes
    assert g.labels["source"] == spec.split(":")[0]
    assert g.op_counts()["input"] >= 1


def test_failure_names_the_model_and_the_reason():
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("shape mismatch in block 3")

    with pytest.raises(
        archmotif.TraceError,
        match=r"could not trace Broken: RuntimeError: shape mismatch in block 3",
    ) as ei:
        archmotif.trace(Broken(), torch.zeros(1))
    assert isinstance(ei.value.__cause__, RuntimeError)


def test_unknown_model_name_is_a_trace_error():
    with pytest.raises(archmotif.TraceError, match="no_such_model_xyz"):
        archmotif.trace("no_such_model_xyz")
    with pytest.raises(
        archmotif.TraceError,
        match=r"unknown source 'keras' \(use one of torchvision, timm, transformers\)",
    ):
        archmotif.trace("keras:resnet50")
    with pytest.raises(
        archmotif.TraceError, match="name the model after the colon, as net.py:NAME"
    ):
        archmotif.trace("net.py:")


def test_a_mistyped_model_name_suggests_the_names_it_is_close_to():
    with pytest.raises(archmotif.TraceError, match=r"did you mean torchvision:resnet18\b"):
        archmotif.trace("resnet81")
    # a source named: its own names, unqualified
    with pytest.raises(archmotif.TraceError, match=r"\(did you mean convnext_tiny, "):
        archmotif.trace("timm:convnxt_tiny")
    with pytest.raises(archmotif.TraceError) as ei:  # nothing close: no guess
        archmotif.trace("no_such_model_xyz")
    assert "did you mean" not in str(ei.value)


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("aten.convolution.default", "convolution"),
        ("aten.conv2d.default", "convolution"),
        ("aten.add.Tensor", "add"),
        ("aten.add_.Tensor", "add"),
        ("aten.relu_.default", "relu"),
        ("aten._native_batch_norm_legit_no_training.default", "batch_norm"),
        ("aten.__and__.Tensor", "__and__"),
    ],
)
def test_op_names_are_normalised(target, name):
    assert normalize_op(target) == name


def test_resnet18_records_output_shapes_and_parameters_per_node():
    g = archmotif.trace("resnet18")
    assert g.labels["params"] == "11689512"
    assert int(g.node_params.sum()) == 11_689_512  # each parameter once, at its reader
    at = {n: i for i, n in reversed(list(enumerate(g.node_names)))}  # first node of each
    assert g.output_shapes()[0] == "1×3×224×224"
    assert g.output_shapes()[at["maxpool"]] == "1×64×56×56"
    assert g.output_shapes()[-1] == "1×1000"  # fc
    conv1 = at["conv1 + bn1 (convolution,batch_norm)"]
    assert g.node_params[conv1] == 64 * 3 * 7 * 7 + 2 * 64  # weight, batch norm's scale, shift
    assert g.output_shapes()[conv1] == "1×64×112×112"
    raw = archmotif.trace("resnet18", normalize=False)
    assert int(raw.node_params.sum()) == 11_689_512 and raw.num_nodes > g.num_nodes


def test_tied_and_spliced_parameters_count_once_and_tuples_show_what_is_read():
    class Tied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 4)
            self.head = torch.nn.Linear(4, 10, bias=False)
            self.head.weight = self.emb.weight  # one tensor, read twice
            self.scale = torch.nn.Parameter(torch.ones(4))

        def forward(self, ids):
            h = self.emb(ids) * self.scale.detach()  # read through a spliced alias
            a, b = h.chunk(2, dim=-1)
            return self.head(torch.cat([b, a], dim=-1))

    m = Tied()
    g = archmotif.trace(m, (torch.zeros(1, 3, dtype=torch.long),), normalize=False)
    assert int(g.node_params.sum()) == sum(p.numel() for p in m.parameters()) == 44
    shapes = dict(zip(g.node_ops(), g.output_shapes(), strict=False))
    assert shapes["embedding"] == "1×3×4" and shapes["linear"] == "1×3×10"
    assert shapes["chunk"] == "1×3×2 (×2)"  # both parts are read
    assert g.node_params[g.node_ops().index("mul")] == 4
