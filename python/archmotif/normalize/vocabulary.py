"""The operator tables of the normalisation pass: one vocabulary for both front ends.

The canonical names are torch's (``torch.export`` traces, after
:func:`archmotif.frontends.ops.normalize_op`): the built-in data and the zoo speak
them already. :data:`RENAMES` maps an ONNX ``op_type`` and the torch spellings of
one operator to them; the other tables say what an operator *is* to the pass:

- :data:`NO_OPS`: compute nothing at inference; dropped, their readers wired to
  their input;
- :data:`LAYOUT_OPS`: move or reinterpret data without computing
  (``view`` ... ``permute``); dropped the same way (see docs/normalisation.md for
  why they are dropped rather than collapsed into one node);
- :data:`SHAPE_READERS`: read a tensor's shape, not its values: what they feed is
  computed from shapes and constants;
- :data:`CAUSAL_OPS`, :data:`TRIANGLES`: a subgraph of shapes and constants that
  compares two index tensors (``le(kv_idx, q_idx)``) or takes a triangle
  (``tril``) and feeds the model's data is a causal mask, kept as one
  ``causal_mask`` marker per node it feeds.
"""

from __future__ import annotations

__all__ = [
    "CAUSAL_MASK",
    "CAUSAL_OPS",
    "INPUT",
    "LAYOUT",
    "LAYOUT_OPS",
    "NO_OPS",
    "PARTS",
    "RENAMES",
    "SHAPE_READERS",
    "TRIANGLES",
]

#: The op of a graph input (both front ends).
INPUT = "input"
#: The marker op that stands for a causal mask.
CAUSAL_MASK = "causal_mask"
#: The op of a collapsed chain of layout operators (``layout="collapse"``).
LAYOUT = "layout"

_ONNX: dict[str, str] = {
    "Conv": "convolution",
    "ConvTranspose": "conv_transpose",
    "Gemm": "addmm",  # a matrix product; with a weight it folds into linear
    "MatMul": "matmul",
    "Relu": "relu",
    "LeakyRelu": "leaky_relu",
    "PRelu": "prelu",
    "Elu": "elu",
    "Selu": "selu",
    "Clip": "hardtanh",  # ReLU6 and hardtanh export as Clip
    "Sigmoid": "sigmoid",
    "HardSigmoid": "hardsigmoid",
    "HardSwish": "hardswish",
    "Tanh": "tanh",
    "Gelu": "gelu",
    "Mish": "mish",
    "Softplus": "softplus",
    "Erf": "erf",
    "Add": "add",
    "Sub": "sub",
    "Mul": "mul",
    "Div": "div",
    "Pow": "pow",
    "Sqrt": "sqrt",
    "Reciprocal": "reciprocal",
    "Neg": "neg",
    "Exp": "exp",
    "Log": "log",
    "Abs": "abs",
    "Max": "maximum",
    "Min": "minimum",
    "Where": "where",
    "Equal": "eq",
    "Less": "lt",
    "LessOrEqual": "le",
    "Greater": "gt",
    "GreaterOrEqual": "ge",
    "Not": "logical_not",
    "And": "logical_and",
    "Or": "logical_or",
    "Trilu": "tril",
    "Range": "arange",
    "CumSum": "cumsum",
    "MaxPool": "max_pool",
    "AveragePool": "avg_pool",
    "GlobalAveragePool": "avg_pool",
    "GlobalMaxPool": "max_pool",
    "Gather": "select",  # an index into one axis (an embedding lookup reads as one too)
    "BatchNormalization": "batch_norm",
    "LayerNormalization": "layer_norm",
    "GroupNormalization": "group_norm",
    "InstanceNormalization": "instance_norm",
    "RMSNormalization": "rms_norm",
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
    "Concat": "cat",
    "Split": "split",
    "Slice": "slice",
    "Pad": "constant_pad_nd",
    "Resize": "upsample",
    "Upsample": "upsample",
    "ReduceMean": "mean",
    "ReduceSum": "sum",
    "ReduceMax": "amax",
    "ReduceMin": "amin",
    "Einsum": "einsum",
    "Tile": "repeat",
    "TopK": "topk",
    "ArgMax": "argmax",
    "Flatten": "flatten",
    "Reshape": "reshape",
    "Transpose": "permute",
    "Squeeze": "squeeze",
    "Unsqueeze": "unsqueeze",
    "Expand": "expand",
    "Identity": "alias",
    "Dropout": "dropout",
    "Cast": "to",
    "CastLike": "to",
    "Shape": "sym_size",
    "Size": "sym_numel",
    "Constant": "constant",
    "ConstantOfShape": "full",
}

_TORCH: dict[str, str] = {
    "relu6": "hardtanh",
    "silu_": "silu",
    "chunk": "split",
    "split_with_sizes": "split",
    "unsafe_split": "split",
    "concat": "cat",
    "concatenate": "cat",
    "bmm": "matmul",
    "mm": "matmul",
    "true_divide": "div",
    "multiply": "mul",
    "subtract": "sub",
    "rsub": "sub",
    "__and__": "logical_and",
    "bitwise_and": "logical_and",
    "__or__": "logical_or",
    "bitwise_or": "logical_or",
    "bitwise_not": "logical_not",
    "_unsafe_view": "view",
    # a pooling's window (fixed, adaptive, global) is an attribute, not an operator:
    # an adaptive pool exports to ONNX as a fixed or global one
    **{
        f"{a}{k}_pool{d}d": f"{k}_pool"
        for a in ("", "adaptive_")
        for k in ("avg", "max")
        for d in (1, 2, 3)
    },
    "unbind": "split",
    "narrow": "slice",
    "upsample_nearest2d": "upsample",
    "upsample_bilinear2d": "upsample",
    "_upsample_nearest_exact2d": "upsample",
    "_upsample_bilinear2d_aa": "upsample",
    "upsample_bicubic2d": "upsample",
    "pad": "constant_pad_nd",
    "type_as": "to",
    "_assert_tensor_metadata": "alias",
}

#: Op name -> canonical op name (ONNX op types and torch synonyms).
RENAMES: dict[str, str] = {**_ONNX, **_TORCH}

NO_OPS: frozenset[str] = frozenset(
    {
        "alias", "detach", "lift_fresh_copy", "clone", "contiguous", "to", "copy",
        "dropout", "native_dropout", "feature_dropout", "alpha_dropout",
        "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d",
    }
)  # fmt: skip

LAYOUT_OPS: frozenset[str] = frozenset(
    {
        "view", "reshape", "flatten", "unflatten", "unsqueeze", "squeeze", "expand",
        "expand_as", "transpose", "permute", "t", "view_as", "movedim", "swapaxes",
        # copies along an axis: what expand + reshape give (grouped-query attention's
        # keys and values, repeated by transformers with expand + reshape and by hand
        # with repeat_interleave or repeat); ONNX's Tile is renamed repeat
        "repeat", "repeat_interleave",
    }
)  # fmt: skip

#: Operators that take a part of a tensor; siblings reading one tensor fold into one
#: ``split`` (``chunk`` traces to one ``split``, and exports to ONNX as two ``Slice``).
PARTS: frozenset[str] = frozenset({"slice", "select", "split"})

SHAPE_READERS: frozenset[str] = frozenset({"sym_size", "sym_numel", "size"})

CAUSAL_OPS: frozenset[str] = frozenset({"lt", "le", "gt", "ge"})
TRIANGLES: frozenset[str] = frozenset({"tril", "triu"})
