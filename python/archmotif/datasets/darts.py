"""DARTS-space networks (Liu et al., ICLR 2019) as operator graphs, built from the
published rules without torch.

**Genotype.** A normal cell and a reduction cell, each a list of (op, input) pairs, two
per intermediate node: node ``2 + i`` reads pairs ``2i`` and ``2i + 1``; input 0 and 1
are the cell's two inputs (the outputs of the two previous cells), 2.. the earlier
intermediate nodes. Random genotypes use the seven DARTS ops (:data:`PRIMITIVES`), four
intermediate nodes, two distinct inputs per node and concatenate nodes 2..5, as DARTS's
derived cells do; :data:`DARTS_V1` and :data:`DARTS_V2` are the published cells. (A
hand-made genotype may leave a node out of the concat and unread; like DARTS's cell,
which computes every node, we draw it anyway.)

**Network** (DARTS ``NetworkCIFAR`` in eval mode): ``input``; stem ``convolution`` +
``batch_norm``; ``cells`` cells, the ones at ``cells // 3`` and ``2 * cells // 3``
reduction cells; head ``adaptive_avg_pool2d``, ``view``, ``linear``. The first cell
reads the stem twice. ``stem="imagenet"`` builds ``NetworkImageNet`` instead (stem0:
conv, bn, relu, conv, bn; stem1: relu, conv, bn; head ``avg_pool2d``, ``view``,
``linear``; its first cell follows a "reduction"); ``auxiliary=True`` adds the training
-mode auxiliary head after cell ``2 * cells // 3`` (relu, avg_pool2d, conv, bn, relu,
conv, bn, relu, view, linear).

**Cell.** Inputs are preprocessed by ``relu``, ``convolution`` (1x1), ``batch_norm``,
or by FactorizedReduce when the previous cell reduced; each intermediate node is the
``add`` of its two op outputs; the cell's output is the ``cat`` of nodes 2..5. Ops expand
exactly as DARTS's ``operations.py`` does:

- ``sep_conv_kxk``: (``relu``, depthwise ``convolution``, pointwise ``convolution``,
  ``batch_norm``) twice;
- ``dil_conv_kxk``: ``relu``, dilated depthwise ``convolution``, pointwise
  ``convolution``, ``batch_norm``;
- ``max_pool_3x3`` / ``avg_pool_3x3``: ``max_pool2d`` / ``avg_pool2d`` alone. This is the
  evaluation network a genotype is trained as; the search network's mixed op adds a
  ``batch_norm`` after each pool, which we do not draw;
- ``skip_connect``: the identity (an edge, no node) at stride 1; at stride 2 (a
  reduction cell's op on a cell input) FactorizedReduce: ``relu``, one ``convolution``
  on it and one on ``slice``, ``slice`` of it (``x[:, :, 1:, 1:]``), ``cat``,
  ``batch_norm``.

Depthwise, pointwise and dilated convolutions are all ``convolution``, as in traced
PyTorch graphs, so DARTS graphs share their op vocabulary with traced models; every
convolution and pool carries the attributes tracing DARTS's PyTorch code records
(:mod:`archmotif.attributes`: kernel, stride, dilation, depthwise), so in the
``"attrs"`` view ``sep_conv_3x3`` (``convolution[k3,dw]``) and ``sep_conv_5x5``
(``convolution[k5,dw]``), or a dilated and a separable convolution, differ. In the plain
view, genotypes that differ only in 3x3 vs 5x5 draw the same graph (random genotypes
practically never do; the 100 default ones are 100 distinct graphs).

**Width does not change the graph.** The channel count C only changes tensor shapes,
so a genotype's networks differ by depth (``cells``) and, optionally, by stem and
auxiliary head. :func:`generate` gives ``num_genotypes`` random genotypes x ``depths``.

**Costs**, as :func:`archmotif.trace` records them for the PyTorch network, for one
image (:mod:`.graph_builder`): ``params``, ``flops`` (2 x multiply-accumulates of the
convolutions and the classifier), ``memory`` (peak activation bytes) and per node
``node_flops``, at DARTS's published width (``channels``: C = 36 with the CIFAR-10 stem
and a 32x32 input, 48 with the ImageNet stem and 224x224; 10 and 1,000 classes).
``DARTS_V2`` with 20 cells has 3,349,342 parameters (the paper: 3.3 M), with the
ImageNet stem and 14 cells 4,718,752 (4.7 M). The auxiliary head, when drawn, counts.

**Labels.** ``params``, ``flops``, ``memory``; ``source`` "darts"; ``family`` the
genotype's class (``darts-g017``: the 17th genotype drawn in :func:`generate`;
:func:`network` defaults to ``darts-`` plus 10 hex digits of a hash of the encoding);
``coarse`` "nas-cell"; ``genotype`` (:meth:`Genotype.encode`); ``cells``; ``stem``;
``auxiliary``; ``channels``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from archmotif.datasets.graph_builder import GraphBuilder
from archmotif.errors import SpecError
from archmotif.graph import OpGraph

__all__ = [
    "DARTS_V1",
    "DARTS_V2",
    "OP_EXPANSIONS",
    "PRIMITIVES",
    "Genotype",
    "generate",
    "network",
    "random_genotype",
]

#: The ops of the DARTS search space that a derived cell can hold (``none`` cannot).
PRIMITIVES: tuple[str, ...] = (
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
    "dil_conv_3x3", "dil_conv_5x5",
)  # fmt: skip

_SEP = ("relu", "convolution", "convolution", "batch_norm") * 2
_DIL = ("relu", "convolution", "convolution", "batch_norm")
#: Each op as its chain of primitive ops (``skip_connect`` at stride 1: none).
#: ``sep_conv_7x7`` and ``conv_7x1_1x7`` occur only in published non-DARTS genotypes.
OP_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "max_pool_3x3": ("max_pool2d",),
    "avg_pool_3x3": ("avg_pool2d",),
    "skip_connect": (),
    "sep_conv_3x3": _SEP,
    "sep_conv_5x5": _SEP,
    "sep_conv_7x7": _SEP,
    "dil_conv_3x3": _DIL,
    "dil_conv_5x5": _DIL,
    "conv_7x1_1x7": ("relu", "convolution", "convolution", "batch_norm"),
}


_OP_NAMES = (
    "input", "convolution", "batch_norm", "relu", "add", "cat", "slice", "max_pool2d",
    "avg_pool2d", "adaptive_avg_pool2d", "view", "linear",
)  # fmt: skip
_STEMS = ("cifar", "imagenet")
# per stem: default initial channels (DARTS's published evaluation settings: 36 on
# CIFAR-10, 48 on ImageNet), input side, classes
_DEFAULT_CHANNELS = {"cifar": 36, "imagenet": 48}
_INPUT_SIDE = {"cifar": 32, "imagenet": 224}
_CLASSES = {"cifar": 10, "imagenet": 1000}


def _pairs(name: str, pairs: Iterable[Sequence[object]]) -> tuple[tuple[str, int], ...]:
    out = []
    try:
        pairs = list(pairs)
    except TypeError:
        raise SpecError(f"genotype {name} must be a list of (op, input) pairs") from None
    for k, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise SpecError(f"genotype {name}[{k}] must be an (op, input) pair, got {pair!r}")
        op, j = pair
        if not isinstance(op, str) or op not in OP_EXPANSIONS:
            raise SpecError(
                f"genotype {name}[{k}]: unknown op {op!r} (ops: {', '.join(OP_EXPANSIONS)})"
            )
        if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < k // 2 + 2:
            raise SpecError(
                f"genotype {name}[{k}]: input {j!r} out of range; node {k // 2 + 2} "
                f"can read states 0..{k // 2 + 1}"
            )
        out.append((str(op), int(j)))
    if not out or len(out) % 2:
        raise SpecError(f"genotype {name} needs two (op, input) pairs per node, got {len(out)}")
    return tuple(out)


def _concat(name: str, concat: Iterable[object], states: int) -> tuple[int, ...]:
    try:
        out = tuple(concat)
    except TypeError:
        raise SpecError(f"genotype {name} must list states, got {concat!r}") from None
    bad = [c for c in out if isinstance(c, bool) or not isinstance(c, (int, np.integer))]
    if not out or bad or len(set(out)) != len(out) or not all(0 <= c < states for c in out):
        raise SpecError(f"genotype {name} must list distinct states 0..{states - 1}, got {out!r}")
    return tuple(int(c) for c in out)


@dataclass(frozen=True)
class Genotype:
    """A DARTS genotype (see the module docstring). Lists are accepted and stored as
    tuples; a bad op, input index or concat raises :class:`~archmotif.SpecError`."""

    normal: tuple[tuple[str, int], ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[tuple[str, int], ...]
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for cell in ("normal", "reduce"):
            pairs = _pairs(cell, getattr(self, cell))
            object.__setattr__(self, cell, pairs)
            concat = _concat(f"{cell}_concat", getattr(self, f"{cell}_concat"), len(pairs) // 2 + 2)
            object.__setattr__(self, f"{cell}_concat", concat)

    def encode(self) -> str:
        """A stable one-line form, e.g. ``normal=sep_conv_3x3:0,...;normal_concat=2,3,4,5;
        reduce=...;reduce_concat=2,3,4,5``; :meth:`decode` reads it back."""

        def pairs(p: tuple[tuple[str, int], ...]) -> str:
            return ",".join(f"{op}:{j}" for op, j in p)

        return (
            f"normal={pairs(self.normal)};normal_concat={','.join(map(str, self.normal_concat))};"
            f"reduce={pairs(self.reduce)};reduce_concat={','.join(map(str, self.reduce_concat))}"
        )

    @classmethod
    def decode(cls, text: str) -> Genotype:
        """The genotype :meth:`encode` wrote; a malformed string raises ``SpecError``."""
        try:
            fields = dict(part.split("=", 1) for part in text.split(";"))
            return cls(
                normal=[
                    (p.split(":")[0], int(p.split(":")[1])) for p in fields["normal"].split(",")
                ],
                normal_concat=[int(c) for c in fields["normal_concat"].split(",")],
                reduce=[
                    (p.split(":")[0], int(p.split(":")[1])) for p in fields["reduce"].split(",")
                ],
                reduce_concat=[int(c) for c in fields["reduce_concat"].split(",")],
            )
        except (ValueError, KeyError, IndexError, AttributeError) as e:
            raise SpecError(f"not an encoded DARTS genotype: {text!r:.80} ({e})") from None


# The published cells (DARTS's genotypes.py).
DARTS_V1 = Genotype(
    normal=[("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
            ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)],
    reduce_concat=[2, 3, 4, 5],
)  # fmt: skip
DARTS_V2 = Genotype(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=[2, 3, 4, 5],
)  # fmt: skip


def random_genotype(rng: np.random.Generator | int, *, steps: int = 4) -> Genotype:
    """A genotype drawn uniformly from the DARTS space with ``rng`` (a numpy
    ``Generator`` or a seed): for each of ``steps`` nodes two distinct inputs among the
    earlier states and an op from :data:`PRIMITIVES` for each. The two pairs of a node
    are stored sorted, since their order does not change the network."""
    rng = np.random.default_rng(rng)

    def cell() -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for i in range(steps):
            inputs = rng.choice(i + 2, size=2, replace=False)
            ops = rng.integers(len(PRIMITIVES), size=2)
            out += sorted((PRIMITIVES[int(o)], int(j)) for o, j in zip(ops, inputs, strict=True))
        return out

    concat = list(range(2, steps + 2))
    return Genotype(normal=cell(), normal_concat=concat, reduce=cell(), reduce_concat=concat)


# -- network -----------------------------------------------------------------------


def _relu_conv_bn(b: GraphBuilder, x: int, c: int) -> int:  # ReLUConvBN(c_in, c, 1, 1, 0)
    return b.batch_norm(b.conv(b.unary("relu", x), c, 1))


def _factorized_reduce(b: GraphBuilder, x: int, c: int) -> int:
    r = b.unary("relu", x)
    left = b.conv(r, c // 2, 1, stride=2)
    right = b.conv(b.crop(r), c // 2, 1, stride=2)
    return b.batch_norm(b.cat(left, right))


def _op(b: GraphBuilder, op: str, x: int, stride: int) -> int:
    """``op`` on ``x`` as DARTS's ``operations.py`` builds it (op names:
    :data:`OP_EXPANSIONS`)."""
    c = b.shape(x)[0]
    if op == "skip_connect":
        return x if stride == 1 else _factorized_reduce(b, x, c)
    if op.endswith("pool_3x3"):
        return b.pool(OP_EXPANSIONS[op][0], x, 3, stride=stride, padding=1)
    x = b.unary("relu", x)
    if op == "conv_7x1_1x7":
        x = b.conv(x, c, (1, 7), stride=(1, stride), padding=(0, 3))
        return b.batch_norm(b.conv(x, c, (7, 1), stride=(stride, 1), padding=(3, 0)))
    k = int(op[-1])
    if op.startswith("dil_conv"):
        return b.batch_norm(b.conv(b.conv(x, c, k, stride=stride, dilation=2, groups=c), c, 1))
    x = b.batch_norm(b.conv(b.conv(x, c, k, stride=stride, groups=c), c, 1))  # sep_conv
    x = b.unary("relu", x)
    return b.batch_norm(b.conv(b.conv(x, c, k, groups=c), c, 1))


def _cell(
    b: GraphBuilder,
    g: Genotype,
    s0: int,
    s1: int,
    c: int,
    reduction: bool,
    reduction_prev: bool,
) -> int:
    p0 = _factorized_reduce(b, s0, c) if reduction_prev else _relu_conv_bn(b, s0, c)
    p1 = _relu_conv_bn(b, s1, c)
    pairs, concat = (g.reduce, g.reduce_concat) if reduction else (g.normal, g.normal_concat)
    states = [p0, p1]
    for i in range(len(pairs) // 2):
        outs = [
            _op(b, op, states[j], 2 if reduction and j < 2 else 1)
            for op, j in pairs[2 * i : 2 * i + 2]
        ]
        states.append(b.add_tensors(*outs))
    return b.cat(*(states[k] for k in concat))


def _auxiliary_head(b: GraphBuilder, x: int, stem: str, classes: int) -> None:
    """AuxiliaryHeadCIFAR / AuxiliaryHeadImageNet (pool stride 3 / 2)."""
    x = b.pool("avg_pool2d", b.unary("relu", x), 5, stride=3 if stem == "cifar" else 2)
    x = b.unary("relu", b.batch_norm(b.conv(x, 128, 1)))
    x = b.unary("relu", b.batch_norm(b.conv(x, 768, 2, padding=0)))
    b.linear(b.flatten(x), classes)


def _family_of(g: Genotype) -> str:
    return "darts-" + hashlib.sha256(g.encode().encode()).hexdigest()[:10]


def network(
    genotype: Genotype,
    *,
    cells: int = 20,
    stem: str = "cifar",
    auxiliary: bool = False,
    channels: int | None = None,
    family: str | None = None,
    name: str | None = None,
) -> OpGraph:
    """The DARTS network of ``genotype`` with ``cells`` cells and ``channels`` initial
    channels (DARTS's ``C``: 36 by default with the CIFAR stem, 48 with the ImageNet
    one), labelled with its costs for one image (module docstring)."""
    if not isinstance(genotype, Genotype):
        raise SpecError(f"genotype must be a darts.Genotype, got {type(genotype).__name__}")
    if isinstance(cells, bool) or not isinstance(cells, int) or cells < 1:
        raise SpecError(f"cells must be a positive int, got {cells!r}")
    if stem not in _STEMS:
        raise SpecError(f"stem must be one of {', '.join(_STEMS)}, got {stem!r}")
    c = _DEFAULT_CHANNELS[stem] if channels is None else channels
    if isinstance(c, bool) or not isinstance(c, int) or c < 2 or c % 2:
        # FactorizedReduce and the ImageNet stem halve the channels
        raise SpecError(f"channels must be a positive even int, got {channels!r}")
    side = _INPUT_SIDE[stem]
    b = GraphBuilder(_OP_NAMES)
    x = b.input((3, side, side))
    if stem == "cifar":
        s0 = s1 = b.batch_norm(b.conv(x, 3 * c, 3))  # stem_multiplier 3
        reduction_prev = False
    else:  # every ImageNet stem convolution is 3x3, stride 2
        s0 = b.unary("relu", b.batch_norm(b.conv(x, c // 2, 3, stride=2)))
        s0 = b.batch_norm(b.conv(s0, c, 3, stride=2))
        s1 = b.batch_norm(b.conv(b.unary("relu", s0), c, 3, stride=2))
        reduction_prev = True
    c_cell = c
    for i in range(cells):
        reduction = i in (cells // 3, 2 * cells // 3)
        c_cell *= 2 if reduction else 1
        s0, s1 = s1, _cell(b, genotype, s0, s1, c_cell, reduction, reduction_prev)
        reduction_prev = reduction
        if auxiliary and i == 2 * cells // 3:
            _auxiliary_head(b, s1, stem, _CLASSES[stem])
    pool = b.global_pool(s1) if stem == "cifar" else b.pool("avg_pool2d", s1, 7)
    b.linear(b.flatten(pool), _CLASSES[stem])
    family = family or _family_of(genotype)
    labels = {
        "source": "darts",
        "family": family,
        "coarse": "nas-cell",
        "genotype": genotype.encode(),
        "cells": str(cells),
        "stem": stem,
        "auxiliary": str(auxiliary).lower(),
        "channels": str(c),
    }
    suffix = ("" if stem == "cifar" else f"-{stem}") + ("-aux" if auxiliary else "")
    return b.build(name or f"{family}-c{cells}{suffix}", labels)


def generate(
    num_genotypes: int = 100,
    depths: Sequence[int] = (8, 11, 14, 17, 20),
    seed: int = 0,
    *,
    stems: Sequence[str] = ("cifar",),
    auxiliary: bool = False,
) -> list[OpGraph]:
    """``num_genotypes`` distinct random genotypes (seeded), each built at every depth
    in ``depths`` and with every stem in ``stems``: ``num_genotypes * len(depths) *
    len(stems)`` graphs, grouped by genotype, whose ``family`` is ``darts-g000``,
    ``darts-g001``, ... in drawing order. The same arguments give identical graphs."""
    if isinstance(num_genotypes, bool) or not isinstance(num_genotypes, int) or num_genotypes < 0:
        raise SpecError(f"num_genotypes must be a non-negative int, got {num_genotypes!r}")
    if not depths:
        raise SpecError("depths must list at least one cell count")
    rng = np.random.default_rng(seed)
    genotypes: dict[str, Genotype] = {}
    while len(genotypes) < num_genotypes:  # the space holds ~1e18 genotypes: repeats are rare
        g = random_genotype(rng)
        genotypes.setdefault(g.encode(), g)
    return [
        network(g, cells=d, stem=s, auxiliary=auxiliary, family=f"darts-g{k:03d}")
        for k, g in enumerate(genotypes.values())
        for s in stems
        for d in depths
    ]
