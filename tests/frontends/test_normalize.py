"""The normalisation pass, one test per rule of docs/normalisation.md (hand-built
graphs, no torch), then the two front ends meeting on real models."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif import OpGraph
from archmotif.normalize import normalize, normalize_many


def G(spec: str, *, flops: dict[str, float] | None = None) -> OpGraph:
    """``"x: input; h: relu <- x; y: add <- h, x"``: one node per item, named."""
    names, ops, pairs = [], [], []
    for item in filter(None, (s.strip() for s in spec.split(";"))):
        name, _, rest = item.partition(":")
        op, _, deps = rest.partition("<-")
        names.append(name.strip())
        ops.append(op.strip())
        pairs += [(names.index(d.strip()), len(names) - 1) for d in deps.split(",") if d.strip()]
    f = None if flops is None else [flops.get(n, 0.0) for n in names]
    return OpGraph.from_edges(ops, pairs, node_names=names, node_flops=f, name="g")


def shape(g: OpGraph) -> tuple[list[str], list[tuple[str, str]]]:
    """Ops in node order and edges as (op, op) pairs, sorted: what a rule changes."""
    ops = g.node_ops()
    return ops, sorted((ops[a], ops[b]) for a, b in g.edges.T.tolist())


def same(a: OpGraph, b: OpGraph) -> bool:
    return archmotif.canonical_hash(a) == archmotif.canonical_hash(b)


# -- rename -------------------------------------------------------------------


def test_onnx_op_types_take_torch_names():
    g = normalize(G("x: input; c: Conv <- x; r: Relu <- c; p: GlobalAveragePool <- r; "
                    "f: Flatten <- p; l: Gemm <- f"))  # fmt: skip
    assert g.node_ops() == ["input", "convolution", "relu", "avg_pool", "linear"]


def test_pool_windows_are_attributes_not_ops():
    a = normalize(G("x: input; p: adaptive_avg_pool2d <- x; q: max_pool2d <- p"))
    b = normalize(G("x: input; p: AveragePool <- x; q: MaxPool <- p"))
    assert a.node_ops() == b.node_ops() == ["input", "avg_pool", "max_pool"]


# -- drop and prune -----------------------------------------------------------


def test_no_ops_are_dropped_and_their_readers_read_their_input():
    g = normalize(G("x: input; d: dropout <- x; c: contiguous <- d; k: clone <- c; "
                    "t: to <- k; i: Identity <- t; r: relu <- i; y: add <- r, d"))  # fmt: skip
    assert shape(g) == (["input", "relu", "add"], [("input", "add"), ("input", "relu"),
                                                   ("relu", "add")])  # fmt: skip


def test_a_dropped_node_with_two_inputs_bridges_both():
    g = normalize(G("x: input; y: input; e: expand_as <- x, y; r: relu <- e"))
    assert shape(g)[1] == [("input", "relu"), ("input", "relu")]


def test_layout_chains_are_dropped_or_collapsed():
    spec = (
        "x: input; v: view <- x; t: transpose <- v; p: permute <- t; r: relu <- p; s: Reshape <- r"
    )
    assert normalize(G(spec)).node_ops() == ["input", "relu"]
    collapsed = normalize(G(spec), layout="collapse")
    edges = [("input", "layout"), ("layout", "relu"), ("relu", "layout")]
    assert shape(collapsed) == (["input", "layout", "relu", "layout"], edges)
    with pytest.raises(archmotif.InvalidArgument, match="layout"):
        normalize(G(spec), layout="merge")  # type: ignore[arg-type]


def test_shape_and_constant_subgraphs_are_pruned():
    # GPT-2's position embedding (arange -> embedding) and ONNX's reshape target
    g = normalize(G("x: input; e: embedding <- x; a: arange; p: embedding <- a; s: add <- e, p; "
                    "h: Shape <- s; k: Constant; c: Concat <- h, k; r: Reshape <- s, c; "
                    "y: relu <- r"))  # fmt: skip
    edges = [("add", "relu"), ("embedding", "add"), ("input", "embedding")]
    assert shape(g) == (["input", "embedding", "add", "relu"], edges)


def test_a_graph_without_inputs_is_not_pruned():
    g = G("a: convolution; b: relu <- a")
    assert normalize(g).node_ops() == ["convolution", "relu"]


def test_a_causal_mask_leaves_one_marker_per_reader():
    spec = ("x: input; q: linear <- x; k: linear <- x; v: linear <- x; i: arange; j: arange; "
            "m: le <- i, j; a1: scaled_dot_product_attention <- q, k, v, m; "
            "a2: scaled_dot_product_attention <- a1, k, v, m")  # fmt: skip
    g = normalize(G(spec))
    assert g.op_counts()["causal_mask"] == 2
    assert g.op_counts()["arange"] == 0 and g.op_counts()["le"] == 0
    assert normalize(g) == g  # a marker stands for data: the pass is idempotent
    # a bound check against a constant (BERT's padding mask) is no causal mask
    bert = normalize(G("x: input; q: linear <- x; i: arange; m: ge <- i; "
                       "a: scaled_dot_product_attention <- q, x, m"))  # fmt: skip
    assert bert.op_counts()["causal_mask"] == 0


def test_is_causal_attention_traces_to_the_same_marker():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    class Attn(torch.nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    x = torch.zeros(1, 2, 4, 8)
    raw = archmotif.trace(Attn(), (x, x, x), normalize=False)
    assert (
        raw.op_counts()["causal_mask"] == 1
        and raw.node_flops[raw.node_ops().index("causal_mask")] == 0
    )


def test_scores_filled_from_a_constant_mask_are_causal():
    # minGPT: a tril buffer (its values are no node) sliced, compared, and filled
    # into the scores before the softmax; is_causal=True gives the same graph
    spec = ("x: input; q: linear <- x; k: linear <- x; v: linear <- x; s: matmul <- q, k; "
            "c: mul <- s; b: slice; e: eq <- b; f: masked_fill <- c, e; m: softmax <- f; "
            "o: matmul <- m, v")  # fmt: skip
    g = normalize(G(spec))
    assert g.op_counts()["causal_mask"] == 1 and g.op_counts()["eq"] == 0
    assert same(
        g,
        normalize(
            G(
                "x: input; q: linear <- x; k: linear <- x; v: linear <- x; "
                "m: causal_mask; o: scaled_dot_product_attention <- q, k, v, m"
            )
        ),
    )
    assert normalize(g) == g
    # a constant filled into data that no softmax reads is no mask of scores
    other = normalize(G("x: input; b: slice; e: eq <- b; f: masked_fill <- x, e; r: relu <- f"))
    assert other.op_counts()["causal_mask"] == 0


# -- folds ---------------------------------------------------------------------


def test_conv_then_batch_norm_is_one_convolution():
    g = normalize(G("x: input; c: convolution <- x; b: batch_norm <- c; r: relu <- b"))
    assert g.node_ops() == ["input", "convolution", "relu"]
    shared = normalize(G("x: input; c: convolution <- x; b: batch_norm <- c; r: relu <- c"))
    assert shared.op_counts()["batch_norm"] == 1  # the convolution's output is read twice


def test_operator_attributes_follow_their_node_through_every_rule():
    ops = ["input", "convolution", "batch_norm", "dropout", "max_pool2d", "convolution"]
    raw = OpGraph.from_edges(ops, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
                             attrs=["", "k3,s2,dw", "", "", "k3,s2", "k1"])  # fmt: skip
    g = normalize(raw)
    assert g.view("attrs").node_ops() == [
        "input",
        "convolution[k3,s2,dw]",
        "max_pool[k3,s2]",
        "convolution[k1]",
    ]
    many = normalize_many([raw, OpGraph.from_edges(["input", "relu"], [(0, 1)])])
    assert many[0] == g and many[1].attrs is None


def test_weight_products_are_linear_and_attention_products_are_not():
    gpt2 = normalize(G("x: input; v: view <- x; m: addmm <- v; w: view <- m; r: relu <- w"))
    onnx = normalize(G("x: input; m: MatMul <- x; a: Add <- m; r: Relu <- a"))
    mm = normalize(G("x: input; m: mm <- x; r: relu <- m"))
    assert gpt2.node_ops() == onnx.node_ops() == mm.node_ops() == ["input", "linear", "relu"]
    two = normalize(G("x: input; y: input; m: matmul <- x, y"))
    assert two.node_ops() == ["input", "input", "matmul"]


GELU_TANH = ("x: input; a: mul <- x; p: pow <- x; b: mul <- p; c: add <- x, b; d: mul <- c; "
             "t: tanh <- d; e: add <- t; y: mul <- a, e; z: relu <- y")  # fmt: skip
GELU_ERF = ("x: input; s: Div <- x; f: Erf <- s; e: Add <- f; m: Mul <- x, e; y: Mul <- m; "
            "z: Relu <- y")  # fmt: skip


@pytest.mark.parametrize("spec", [GELU_TANH, GELU_ERF], ids=["tanh", "erf"])
def test_spelled_out_gelu_is_gelu(spec):
    assert normalize(G(spec)).node_ops() == ["input", "gelu", "relu"]


@pytest.mark.parametrize(
    ("spec", "op"),
    [
        ("x: input; s: Sigmoid <- x; y: Mul <- x, s", "silu"),
        ("x: input; a: add <- x; h: hardtanh <- a; m: mul <- x, h; d: div <- m", "hardswish"),
        ("x: input; a: add <- x; h: relu6 <- a; d: div <- h; m: mul <- x, d", "hardswish"),
        ("x: input; a: add <- x; h: hardtanh <- a; d: div <- h", "hardsigmoid"),
        ("x: input; s: softplus <- x; t: tanh <- s; y: mul <- x, t", "mish"),
    ],
    ids=["silu", "hardswish-a", "hardswish-b", "hardsigmoid", "mish"],
)
def test_activations_from_their_pieces(spec, op):
    assert normalize(G(spec)).node_ops() == ["input", op]


def test_spelled_out_rms_norm_and_layer_norm():
    llama = ("x: input; t: to <- x; p: pow <- t; m: mean <- p; a: add <- m; r: rsqrt <- a; "
             "y: mul <- t, r; c: to <- y; g: mul <- c; z: relu <- g")  # fmt: skip
    assert normalize(G(llama)).node_ops() == ["input", "rms_norm", "relu"]
    ln = ("x: input; u: ReduceMean <- x; d: Sub <- x, u; p: Pow <- d; m: ReduceMean <- p; "
          "a: Add <- m; s: Sqrt <- a; q: Div <- d, s; g: Mul <- q; b: Add <- g; "
          "z: Relu <- b")  # fmt: skip
    assert normalize(G(ln)).node_ops() == ["input", "layer_norm", "relu"]


def test_an_affine_layer_is_addcmul_however_spelled():
    # timm's ResMLP: addcmul(beta, alpha, x); a user's: alpha * x + beta; ONNX: Mul, Add
    timm = normalize(G("x: input; a: addcmul <- x; y: linear <- a"))
    hand = normalize(G("x: input; m: mul <- x; a: add <- m; y: linear <- a"))
    onnx = normalize(G("x: input; m: Mul <- x; a: Add <- m; y: Gemm <- a"))
    assert timm.node_ops() == hand.node_ops() == onnx.node_ops() == ["input", "addcmul", "linear"]
    # a layer scale added to the residual is no affine layer: its add has two inputs
    scale = normalize(G("x: input; l: linear <- x; m: mul <- l; a: add <- m, x"))
    assert scale.node_ops() == ["input", "linear", "mul", "add"]


def test_repeated_keys_and_values_are_layout():
    # grouped-query attention: transformers repeats keys and values by expand + reshape,
    # a user by repeat_interleave or repeat; all three give the same graph
    attn = "o: scaled_dot_product_attention <- q, r1, r2"
    base = "x: input; q: linear <- x; k: linear <- x; v: linear <- x"
    hf = normalize(G(f"{base}; e1: expand <- k; r1: reshape <- e1; e2: expand <- v; "
                     f"r2: reshape <- e2; {attn}"))  # fmt: skip
    for op in ("repeat_interleave", "repeat", "Tile"):
        hand = normalize(G(f"{base}; r1: {op} <- k; r2: {op} <- v; {attn}"))
        assert same(hand, hf), op


def test_spelled_out_attention_is_scaled_dot_product_attention():
    # the TorchScript ONNX exporter: q and k scaled by sqrt(scale) read off a shape
    onnx = ("x: input; q: linear <- x; k: linear <- x; v: linear <- x; h: Shape <- q; "
            "s: Sqrt <- h; cq: Mul <- q, s; t: Transpose <- k; ck: Mul <- t, s; "
            "a: MatMul <- cq, ck; sm: Softmax <- a; o: MatMul <- sm, v; y: relu <- o")  # fmt: skip
    hand = ("x: input; q: linear <- x; k: linear <- x; v: linear <- x; "
            "o: scaled_dot_product_attention <- q, k, v; y: relu <- o")  # fmt: skip
    assert same(normalize(G(onnx)), normalize(G(hand)))
    # one fused projection split three ways, scale after the product, an additive mask
    eager = ("x: input; l: linear <- x; sp: split <- l; a: matmul <- sp; d: div <- a; "
             "i: arange; j: arange; c: le <- i, j; mk: add <- d, c; sm: softmax <- mk; "
             "dr: dropout <- sm; o: matmul <- dr, sp")  # fmt: skip
    g = normalize(G(eager))
    assert g.op_counts() == {"input": 1, "linear": 1, "split": 1, "causal_mask": 1,
                             "scaled_dot_product_attention": 1}  # fmt: skip


def test_sibling_parts_of_one_tensor_are_one_split():
    chunk = normalize(G("x: input; s: split <- x; a: relu <- s; b: cat <- a, s"))
    onnx = normalize(G("x: input; s1: Slice <- x; s2: Slice <- x; a: relu <- s1; b: cat <- a, s2"))
    assert same(chunk, onnx)


# -- what every node keeps ----------------------------------------------------------


def test_folded_nodes_sum_flops_and_keep_names_and_ops():
    g = normalize(G("x: input; m: MatMul <- x; a: Add <- m", flops={"m": 6.0, "a": 1.0}))
    assert g.node_flops.tolist() == [0.0, 7.0]
    assert g.node_names == ("x", "m + a (MatMul,Add)")
    unknown = normalize(G("x: input; m: MatMul <- x; a: Add <- m", flops={"m": np.nan}))
    assert np.isnan(unknown.node_flops[1])  # one unknown member: the group is unknown
    assert normalize(G("x: input; r: relu <- x")).node_flops is None  # none given, none made


def test_independent_of_node_numbering_and_batching():
    g = G(GELU_TANH)
    perm = np.random.default_rng(0).permutation(g.num_nodes)
    inv = np.argsort(perm)
    shuffled = OpGraph(g.ops[perm], inv[g.edges], op_names=g.op_names)
    assert same(normalize(g), normalize(shuffled))
    graphs = [G(GELU_TANH), G(GELU_ERF), G("a: convolution; b: relu <- a")]
    assert normalize_many(graphs) == [normalize(x) for x in graphs]
    assert normalize_many([]) == []
    with pytest.raises(TypeError, match="OpGraph"):
        normalize("resnet18")  # type: ignore[arg-type]


def test_loaders_normalise_unless_told_not_to(tmp_path):
    # a corpus saved raw (as files from before the pass are) is normalised on loading
    path = tmp_path / "raw.npz"
    archmotif.save_corpus([G("x: input; d: dropout <- x; v: view <- d; r: relu <- v")], path)
    assert archmotif.datasets.load(path, normalize=False)[0].node_ops() == [
        "input", "dropout", "view", "relu"
    ]  # fmt: skip
    assert archmotif.datasets.load(path)[0].node_ops() == ["input", "relu"]
    # the built-in data stores what trace gives: normalised graphs, a fixpoint of the pass
    stored = archmotif.datasets.load("builtin", normalize=False)
    norm = archmotif.datasets.load("builtin")
    assert len(stored) == len(norm) == 98
    assert normalize_many(norm) == norm == stored


def test_a_corpus_this_pass_wrote_is_not_normalised_again(tmp_path, capsys):
    from archmotif.cli import main
    from archmotif.datasets import normalized_meta
    from archmotif.normalize import normalizer_id

    raw = [G("x: input; d: dropout <- x; r: relu <- d")]
    # the stamp is believed: a file that says this pass wrote it loads as stored (a real
    # one holds a fixpoint of the pass, so skipping gives what normalising would)
    stamped = tmp_path / "stamped.npz"
    archmotif.save_corpus(raw, stamped, meta=normalized_meta())
    assert archmotif.datasets.load(stamped) == raw
    # other rules, or no stamp: normalised on loading
    for meta in ({"normalized": True, "normalizer": "0" * 16}, {"normalized": True}, {}):
        other = tmp_path / "other.npz"
        archmotif.save_corpus(raw, other, meta=meta)
        assert archmotif.datasets.load(other)[0].node_ops() == ["input", "relu"]
    # dataset export stamps what it writes, and info says so
    out = tmp_path / "builtin.npz"
    assert main(["dataset", "export", "builtin", "-o", str(out)]) == 0
    assert archmotif.corpus.corpus_info(out)["meta"]["normalizer"] == normalizer_id()
    assert archmotif.datasets.load(out) == archmotif.datasets.load("builtin")
    capsys.readouterr()
    assert main(["dataset", "info", str(out)]) == 0
    assert "loading it does not normalise again" in capsys.readouterr().out
    # the id names the code: 16 hex digits, the same on every call
    assert len(normalizer_id()) == 16 and normalizer_id() == normalizer_id()


# -- the two front ends and two spellings meet -----------------------------------------


def test_resnet18_onnx_export_meets_its_trace(tmp_path):
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    pytest.importorskip("onnx")
    m = torchvision.models.resnet18().eval()
    path = tmp_path / "r18.onnx"
    with pytest.warns(DeprecationWarning):
        torch.onnx.export(m, (torch.zeros(1, 3, 224, 224),), path, dynamo=False)
    onnx_graph, traced = archmotif.from_onnx(path), archmotif.trace(m)
    assert onnx_graph.op_counts() == traced.op_counts()
    assert same(onnx_graph, traced)
    assert archmotif.from_onnx(path, normalize=False).op_counts()["Conv"] == 20
    # shapes from ONNX shape inference meet the trace's, node for node
    assert onnx_graph.output_shapes() == traced.output_shapes()
    assert onnx_graph.output_shapes()[-1] == "1×1000"
    # parameters: the file's initializers (batch norms folded into the convolutions)
    assert int(onnx_graph.node_params.sum()) == int(onnx_graph.labels["params"])


def test_reachability_in_the_core_checks_its_input():
    from archmotif import _core

    no = np.zeros(2, dtype=bool)
    with pytest.raises(archmotif.GraphError, match="missing node"):
        _core.reach_forward(2, np.array([[0], [5]]), no, no)
    with pytest.raises(ValueError, match="one entry per node"):
        _core.reach_forward(3, np.array([[0], [1]]), no, no)
    seeds, stop = np.array([True, False, False]), np.array([False, True, False])
    edges = np.array([[0, 1], [1, 2]])
    assert _core.reach_forward(3, edges, seeds, stop).tolist() == [True, True, False]


# -- after the folds -------------------------------------------------------------


def test_a_division_by_a_constant_is_dropped():
    # DeiT's two heads averaged: (a + b) / 2; a division of two tensors stays
    g = normalize(G("x: input; a: relu <- x; b: tanh <- x; s: add <- a, b; d: div <- s; "
                    "y: relu <- d"))  # fmt: skip
    assert shape(g)[0] == ["input", "relu", "tanh", "add", "relu"]
    assert ("add", "relu") in shape(g)[1]
    two = normalize(G("x: input; a: relu <- x; b: tanh <- x; d: div <- a, b"))
    assert two.op_counts()["div"] == 1


def test_projections_of_one_tensor_are_one_linear_and_a_split():
    spec = ("x: input; q: linear <- x; k: linear <- x; v: linear <- x; "
            "a: scaled_dot_product_attention <- q, k, v; o: linear <- a")  # fmt: skip
    separate = normalize(G(spec))
    fused = normalize(G("x: input; p: linear <- x; s: split <- p; "
                        "a: scaled_dot_product_attention <- s; o: linear <- a"))  # fmt: skip
    assert same(separate, fused) and separate.op_counts()["split"] == 1
    assert normalize(separate) == separate
    # one linear of a tensor is no projection to fuse
    assert normalize(G("x: input; p: linear <- x; r: relu <- p")).op_counts()["split"] == 0


def test_a_product_of_two_parts_of_one_projection_is_no_linear():
    # Swin's attention: q and k of one fused projection, the query scaled, a relative
    # position bias and a mask added: no attention rule matches. Once the scale is
    # dropped (rule 6a) the product reads the split alone, as a weight product reads its
    # input; it is still q @ kᵀ, and a second pass must not fold it into a linear.
    spec = ("x: input; p: linear <- x; q: slice <- p; k: slice <- p; v: slice <- p; "
            "c: div <- q; m: matmul <- c, k; b: add <- m; a: add <- b; sm: softmax <- a; "
            "o: matmul <- sm, v; r: relu <- o")  # fmt: skip
    once = normalize(G(spec))
    assert once.op_counts()["matmul"] == 2 and once.op_counts()["linear"] == 1
    assert normalize(once) == once
    # a product of one computed tensor and a weight is still a linear
    assert (
        normalize(G("x: input; s: split <- x; m: matmul <- x; r: relu <- m")).op_counts()["linear"]
        == 1
    )


def test_projections_fused_level_by_level_settle_in_one_call():
    # two low-rank projections of one tensor (Kimi's forget-gate and gate): the first
    # level fuses into one linear and a split, which the second level then both read,
    # so it fuses too, and a second call changes nothing
    spec = ("x: input; a1: linear <- x; a2: linear <- x; b1: linear <- a1; "
            "b2: linear <- a2; r: add <- b1, b2")  # fmt: skip
    once = normalize(G(spec))
    assert once.op_counts() == {"input": 1, "linear": 2, "split": 2, "add": 1}
    assert normalize(once) == once


def test_multihead_attention_meets_separate_projections():
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional

    class MHA(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.MultiheadAttention(32, 4, batch_first=True)

        def forward(self, x):
            return self.a(x, x, x, need_weights=False)[0]

    class ByHand(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(32, 32) for _ in range(4))

        def forward(self, x):
            heads = [f(x).view(1, 6, 4, 8).transpose(1, 2) for f in (self.q, self.k, self.v)]
            return self.o(F.scaled_dot_product_attention(*heads).transpose(1, 2).reshape(1, 6, 32))

    x = torch.zeros(1, 6, 32)
    assert same(archmotif.trace(MHA(), x), archmotif.trace(ByHand(), x))


def test_a_constant_factor_on_an_attention_input_is_its_scale():
    # Whisper: q = q_proj(x) * head_dim ** -0.5, then SDPA (which would scale by itself)
    scaled = normalize(G("x: input; p: linear <- x; s: split <- p; m: mul <- s; "
                         "a: scaled_dot_product_attention <- m, s; o: linear <- a"))  # fmt: skip
    plain = normalize(G("x: input; p: linear <- x; s: split <- p; "
                        "a: scaled_dot_product_attention <- s; o: linear <- a"))  # fmt: skip
    assert same(scaled, plain) and "mul" not in scaled.op_counts()
    # a chain of factors goes whole, and the pass is a fixpoint
    chain = normalize(G("x: input; p: linear <- x; s: split <- p; m: mul <- s; n: mul <- m; "
                        "a: scaled_dot_product_attention <- n, s; o: linear <- a"))  # fmt: skip
    assert same(chain, plain) and normalize(chain) == chain
    # a factor read by anything else may be learnt (a layer scale): it stays
    kept = normalize(G("x: input; p: linear <- x; m: mul <- p; "
                       "a: scaled_dot_product_attention <- m, p; r: relu <- m"))  # fmt: skip
    assert kept.op_counts()["mul"] == 1
    assert normalize(G("x: input; m: mul <- x; r: relu <- m")).op_counts()["mul"] == 1
