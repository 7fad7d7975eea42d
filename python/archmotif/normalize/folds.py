"""The fold rules: spelled-out forms of one operator, as :class:`~.patterns.Pattern`
lists, in the order the pass applies them (bigger forms first, attention before
linear so that ``q @ k`` of one tensor is not taken for a weight product).

Each rule names its result op; docs/normalisation.md tables them, and
tests/frontends/test_normalize.py builds each spelling and checks it folds.
"""

from __future__ import annotations

from archmotif.normalize.patterns import Pattern, pattern
from archmotif.normalize.vocabulary import LAYOUT

__all__ = ["FOLDS"]

MATMUL = {"matmul", "addmm"}
SCALE = {"mul", "div"}
MASK = {"add", "masked_fill", "where"}


def _conv_bn() -> list[Pattern]:
    # ONNX exporters fold an inference batch norm into the convolution before it
    return [pattern("conv+bn", "convolution", "x>c c>b", "b", b={"batch_norm"}, c={"convolution"})]


def _attention() -> list[Pattern]:
    """softmax(q kᵀ · s [+ mask]) v in every placement of the scale, with and
    without a mask, q and k distinct or one tensor (a fused projection split after
    layout operators are dropped)."""
    out = []
    for mask in ("input", "plain", "none"):
        for scale in ("qk", "q", "post", "none"):
            for shared in (False, True):
                q, k = ("q", "q") if shared else ("q", "k")
                ops: dict[str, set[str]] = {"sm": {"softmax"}, "s": {"matmul"}, "o": {"matmul"}}
                if scale == "qk":
                    edges = [f"{q}>cq", f"{k}>ck", "cq>s", "ck>s"]
                    ops |= {"cq": SCALE, "ck": SCALE}
                elif scale == "q":
                    edges = [f"{q}>cq", "cq>s", f"{k}>s"]
                    ops["cq"] = SCALE
                else:
                    edges = [f"{q}>s", f"{k}>s"]
                last = "s"
                if scale == "post":
                    edges.append("s>c")
                    ops["c"], last = SCALE, "c"
                if mask != "none":
                    edges.append(f"{last}>mk")
                    ops["mk"], last = MASK, "mk"
                    if mask == "input":
                        edges.append("m>mk")
                edges += [f"{last}>sm", "sm>o", "v>o"]
                if shared and scale == "qk":
                    continue  # one tensor scaled twice: not a spelling anyone writes
                rule = f"attention(scale={scale}, mask={mask}{', q=k' if shared else ''})"
                out.append(
                    pattern(rule, "scaled_dot_product_attention", " ".join(edges), "o", **ops)
                )
    return out


def _linear() -> list[Pattern]:
    """A weight product (one input: the weight is not a node), with its bias add, and
    (``layout="collapse"``) the reshapes around it: ``view -> addmm -> view`` is how a
    3-D input reaches a 2-D product (transformers' ``Conv1D``, decomposed ``linear``).

    Not a product whose input is a ``split``: that one input stands for two of its parts
    (``q @ kᵀ`` of a fused projection, once rule 4 made the parts one node and the
    attention around it matched no rule, as Swin's relative position bias does not), and
    it would be folded into a ``linear`` on a second pass that the first did not make."""
    out = []
    for pre in (True, False):
        for post in (True, False):
            for bias in (True, False):
                # with reshapes around it, a linear too: nn.Linear takes 3-D input whole
                product = MATMUL | {"linear"} if pre or post else MATMUL
                edges, ops, last = ["x>m"], {"m": product}, "m"
                if pre:
                    edges, ops["l"] = ["x>l", "l>m"], {LAYOUT}
                if bias:
                    edges.append("m>a")
                    ops["a"], last = {"add"}, "a"
                if post:
                    edges.append(f"{last}>r")
                    ops["r"], last = {LAYOUT}, "r"
                parts = ["reshape+" * pre, "matmul", "+add" * bias, "+reshape" * post]
                out.append(pattern(f"{''.join(parts)} → linear", "linear", " ".join(edges),
                                   last, not_from={"split"}, **ops))  # fmt: skip
    return out


def _gelu() -> list[Pattern]:
    out = []
    for cube in ("pow", "mul"):
        p3 = "x>p p>b" if cube == "pow" else "x>p p>p2 x>p2 p2>b"
        ops = {"p": {cube}, "b": {"mul"}, "c": {"add"}, "d": {"mul"}, "e": {"add"}}
        if cube == "mul":
            ops["p2"] = {"mul"}
        inner = f"{p3} x>c b>c c>d d>t t>e"
        out.append(
            pattern(
                f"tanh gelu (half first, x³ by {cube})",
                "gelu",
                f"{inner} x>a a>y e>y",
                "y",
                t={"tanh"},
                **ops,
                a={"mul"},
                y={"mul"},
            )
        )
        out.append(
            pattern(
                f"tanh gelu (half last, x³ by {cube})",
                "gelu",
                f"{inner} x>m e>m m>y",
                "y",
                t={"tanh"},
                **ops,
                m={"mul"},
                y=SCALE,
            )
        )
    out.append(
        pattern(
            "erf gelu (half first)",
            "gelu",
            "x>s s>f f>e x>a a>y e>y",
            "y",
            f={"erf"},
            s=SCALE,
            e={"add"},
            a={"mul"},
            y={"mul"},
        )
    )
    out.append(
        pattern(
            "erf gelu (half last)",
            "gelu",
            "x>s s>f f>e x>m e>m m>y",
            "y",
            f={"erf"},
            s=SCALE,
            e={"add"},
            m={"mul"},
            y=SCALE,
        )
    )
    return out  # fmt: skip


def _activations() -> list[Pattern]:
    return [
        pattern("silu", "silu", "x>s x>y s>y", "y", s={"sigmoid"}, y={"mul"}),
        pattern("mish", "mish", "x>s s>t x>y t>y", "y", s={"softplus"}, t={"tanh"}, y={"mul"}),
        pattern("hardswish (x·h)/6", "hardswish", "x>a a>h x>m h>m m>d", "d",
                h={"hardtanh"}, a={"add"}, m={"mul"}, d=SCALE),
        pattern("hardswish x·(h/6)", "hardswish", "x>a a>h h>d x>m d>m", "m",
                h={"hardtanh"}, a={"add"}, d=SCALE, m={"mul"}),
        pattern("hardsigmoid", "hardsigmoid", "x>a a>h h>d", "d",
                h={"hardtanh"}, a={"add"}, d=SCALE),
    ]  # fmt: skip


def _norms() -> list[Pattern]:
    out = []
    for sq in ("pow", "mul"):
        for inv in ("rsqrt", "sqrt/div", "sqrt/reciprocal"):
            if inv == "rsqrt":
                tail, ops = "a>r r>y", {"r": {"rsqrt"}, "y": {"mul"}}
            elif inv == "sqrt/div":
                tail, ops = "a>r r>y", {"r": {"sqrt"}, "y": {"div"}}
            else:
                tail, ops = "a>r r>i i>y", {"r": {"sqrt"}, "i": {"reciprocal"}, "y": {"mul"}}
            rms = f"x>p p>m m>a {tail} x>y"
            sqo = {"p": {sq}, "m": {"mean"}, "a": {"add"}}
            out.append(
                pattern(
                    f"rms norm ({sq}, {inv}, weight)",
                    "rms_norm",
                    f"{rms} y>g",
                    "g",
                    **ops,
                    **sqo,
                    g={"mul"},
                )
            )
            out.append(pattern(f"rms norm ({sq}, {inv})", "rms_norm", rms, "y", **ops, **sqo))
            scaled = tail.replace("r>y", "r>y d>y").replace("i>y", "i>y d>y")
            ln = f"x>u x>d u>d d>p p>m m>a {scaled}"
            lno = {"u": {"mean"}, "d": {"sub"}, **sqo}
            for affine, root, more in (
                ("weight, bias", "b", " y>g g>b"),
                ("weight", "g", " y>g"),
                ("", "y", ""),
            ):
                extra = (
                    {"g": {"mul"}, "b": {"add"}}
                    if root == "b"
                    else ({"g": {"mul"}} if root == "g" else {})
                )
                out.append(
                    pattern(
                        f"layer norm ({sq}, {inv}{', ' if affine else ''}{affine})",
                        "layer_norm",
                        ln + more,
                        root,
                        **ops,
                        **lno,
                        **extra,
                    )
                )
    # layer norms first: an rms pattern is not inside one (no mean-subtraction), but
    # the bigger form must win where both could claim the scale
    return sorted(out, key=lambda p: p.result != "layer_norm")  # fmt: skip


def _affine() -> list[Pattern]:
    """``x * a + b`` with constant ``a`` and ``b`` (each op has one input: parameters
    are no nodes) is ``addcmul(b, a, x)``, how timm spells ResMLP's affine layer and
    ConvNeXt-V2's response-norm gain. After the norms, whose weight and bias are the
    same two ops."""
    return [pattern("affine x·a + b", "addcmul", "x>m m>a", "a", m={"mul"}, a={"add"})]


#: Every fold rule, in the order the pass applies them.
FOLDS: tuple[Pattern, ...] = (
    *_conv_bn(), *_attention(), *_linear(), *_gelu(), *_activations(), *_norms(), *_affine(),
)  # fmt: skip
