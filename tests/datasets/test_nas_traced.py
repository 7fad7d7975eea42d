"""The generated NAS graphs against traced PyTorch: small torch re-implementations of
DARTS's evaluation network and NAS-Bench-201's TinyNetwork, written from the
published code, traced with :func:`archmotif.trace` on the meta device, must be
isomorphic (equal canonical ids) to what :mod:`archmotif.datasets.darts` and
:mod:`archmotif.datasets.nasbench201` generate without torch, at both levels of detail
(the generators write the attributes tracing records), and carry exactly the costs
tracing records: ``params``, ``flops``, ``memory`` and every node's FLOPs."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif.datasets import darts
from archmotif.datasets import nasbench201 as nb

torch = pytest.importorskip("torch")
nn = torch.nn

slow = pytest.mark.slow  # tracing takes seconds per network: one of each kind runs by default


def relu_conv_bn(c_in: int, c_out: int, k: int = 1, stride: int = 1) -> nn.Module:
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out)
    )


class FactorizedReduce(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Identity(nn.Module):
    def forward(self, x):
        return x


def darts_op(name: str, c: int, stride: int) -> nn.Module:
    k = {"3x3": 3, "5x5": 5}.get(name[-3:], 3)
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(c, c)
    if name.endswith("pool_3x3"):
        pool = nn.MaxPool2d if name.startswith("max") else nn.AvgPool2d
        return pool(3, stride=stride, padding=1)
    if name.startswith("dil_conv"):
        return nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, c, k, stride, k - 1, dilation=2, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )
    half = [
        nn.ReLU(),
        nn.Conv2d(c, c, k, stride, k // 2, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c),
    ]
    return nn.Sequential(
        *half,
        nn.ReLU(),
        nn.Conv2d(c, c, k, 1, k // 2, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c),
    )


class DartsCell(nn.Module):
    def __init__(self, g, c_pp, c_p, c, reduction, reduction_prev) -> None:
        super().__init__()
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else relu_conv_bn(c_pp, c)
        self.pre1 = relu_conv_bn(c_p, c)
        pairs, self.concat = (
            (g.reduce, g.reduce_concat) if reduction else (g.normal, g.normal_concat)
        )
        self.indices = [j for _, j in pairs]
        self.ops = nn.ModuleList(
            darts_op(op, c, 2 if reduction and j < 2 else 1) for op, j in pairs
        )

    def forward(self, s0, s1):
        states = [self.pre0(s0), self.pre1(s1)]
        for i in range(len(self.ops) // 2):
            a, b = self.ops[2 * i], self.ops[2 * i + 1]
            states.append(a(states[self.indices[2 * i]]) + b(states[self.indices[2 * i + 1]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """AuxiliaryHeadCIFAR (pool stride 3) / AuxiliaryHeadImageNet (stride 2). DARTS's
    ImageNet head leaves out the batch norm after the 2x2 convolution; the generator
    draws it for both, and so does this re-implementation."""

    def __init__(self, c: int, classes: int, pool_stride: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(),
            nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


class DartsNetwork(nn.Module):
    """NetworkCIFAR, or NetworkImageNet with ``stem="imagenet"`` (ReLUs not in place);
    the auxiliary head runs whenever it is built, its logits a second output."""

    def __init__(self, g, c: int, layers: int, stem: str = "cifar", auxiliary: bool = False):
        super().__init__()
        cifar = stem == "cifar"
        if cifar:
            self.stem0 = nn.Sequential(
                nn.Conv2d(3, 3 * c, 3, padding=1, bias=False), nn.BatchNorm2d(3 * c)
            )
            self.stem1 = None
            c_pp, c_p, c_curr, reduction_prev = 3 * c, 3 * c, c, False
        else:
            self.stem0 = nn.Sequential(
                nn.Conv2d(3, c // 2, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(c // 2),
                nn.ReLU(),
                nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(c),
            )
            self.stem1 = nn.Sequential(
                nn.ReLU(), nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c)
            )
            c_pp, c_p, c_curr, reduction_prev = c, c, c, True
        self.cells = nn.ModuleList()
        self.aux_after = 2 * layers // 3 if auxiliary else None
        classes = 10 if cifar else 1000
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c_curr = c_curr * 2 if reduction else c_curr
            self.cells.append(DartsCell(g, c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(self.cells[-1].concat) * c_curr
            if i == self.aux_after:
                self.aux = AuxiliaryHead(c_p, classes, 3 if cifar else 2)
        self.pool = nn.AdaptiveAvgPool2d(1) if cifar else nn.AvgPool2d(7)
        self.classifier = nn.Linear(c_p, classes)

    def forward(self, x):
        s0 = self.stem0(x)
        s1 = s0 if self.stem1 is None else self.stem1(s0)
        outputs = []
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_after:
                outputs.append(self.aux(s1))
        out = self.pool(s1)
        return (self.classifier(out.view(out.size(0), -1)), *outputs)


class NB201Cell(nn.Module):
    """One cell, written from the rules (a node sums its live inputs with ``+``)."""

    def __init__(self, arch: str, c: int) -> None:
        super().__init__()
        eff = nb._effective(nb.parse_arch(arch))
        self.edges = [(i, j) for (i, j), op in zip(nb.EDGES, eff, strict=True) if op]
        self.dead = not self.edges
        ops = {
            "skip_connect": Identity,
            "nor_conv_1x1": lambda: relu_conv_bn(c, c, 1),
            "nor_conv_3x3": lambda: relu_conv_bn(c, c, 3),
            "avg_pool_3x3": lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
        }
        self.ops = nn.ModuleList(ops[nb.OPS[op]]() for op in eff if op)

    def forward(self, x):
        if self.dead:
            return torch.zeros_like(x)
        nodes = {0: x}
        for (i, j), op in zip(self.edges, self.ops, strict=True):
            nodes[j] = op(nodes[i]) if j not in nodes else nodes[j] + op(nodes[i])
        return nodes[3]


class ResNetBasicblock(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, 2)
        self.conv_b = relu_conv_bn(c_out, c_out, 3)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):  # xautodl's order: the main branch, then the shortcut
        main = self.conv_b(self.conv_a(x))
        return self.downsample(x) + main


class TinyNetwork(nn.Module):
    def __init__(self, arch: str, c: int = 16, n: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        cells = []
        for stage in range(3):
            if stage:
                cells.append(ResNetBasicblock(c, 2 * c))
                c *= 2
            cells += [NB201Cell(arch, c) for _ in range(n)]
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, 10)

    def forward(self, x):
        out = self.pool(self.lastact(self.cells(self.stem(x))))
        return self.classifier(out.view(out.size(0), -1))


def traced(model: nn.Module, side: int = 32) -> archmotif.OpGraph:
    with torch.device("meta"):
        x = torch.empty(1, 3, side, side)  # one image: the generators' costs are per image
    # the generators emit the raw trace vocabulary: compare with the trace as exported
    return archmotif.trace(model.to("meta"), x, normalize=False)


def assert_same_graph_and_costs(generated: archmotif.OpGraph, reference: archmotif.OpGraph):
    assert reference.op_counts() == generated.op_counts()
    assert archmotif.canonical_hash(reference) == archmotif.canonical_hash(generated)
    assert reference.view("attrs").op_counts() == generated.view("attrs").op_counts()
    assert archmotif.canonical_hash(reference, detail="attrs") == (
        archmotif.canonical_hash(generated, detail="attrs")
    )
    # costs exactly as tracing records them; the generators number nodes in the order
    # the traced program runs them (peak memory depends on it), so node by node
    for key in ("params", "flops", "memory"):
        assert generated.labels[key] == reference.labels[key], key
    assert generated.view("attrs").node_ops() == reference.view("attrs").node_ops()
    assert np.array_equal(generated.node_flops, reference.node_flops)
    assert generated.node_flops.sum() == int(generated.labels["flops"])


@pytest.mark.parametrize(
    "genotype",
    [pytest.param(darts.DARTS_V1, marks=slow, id="v1"), pytest.param(darts.DARTS_V2, id="v2")],
)
def test_darts_network_is_the_traced_one_with_its_costs(genotype):
    generated = darts.network(genotype, cells=8)  # 36 channels, DARTS's CIFAR-10 width
    assert generated.labels["channels"] == "36"
    assert_same_graph_and_costs(generated, traced(DartsNetwork(genotype, 36, 8)))


@slow
@pytest.mark.parametrize(
    ("stem", "auxiliary"), [("cifar", False), ("cifar", True), ("imagenet", True)]
)
def test_random_darts_genotype_is_the_traced_one_with_its_costs(stem, auxiliary):
    g = darts.random_genotype(np.random.default_rng(7))
    generated = darts.network(g, cells=5, stem=stem, auxiliary=auxiliary, channels=16)
    reference = traced(DartsNetwork(g, 16, 5, stem, auxiliary), 32 if stem == "cifar" else 224)
    assert_same_graph_and_costs(generated, reference)


DEAD = nb.arch_index("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|none~2|")
ALL_SKIP = nb.arch_index(
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
    "skip_connect~2|"
)
BEST = nb.arch_index(
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_3x3~2|"
)


# 1462: all 3x3 convolutions; 9: a pool, a skip, a dead edge and a 3x3 convolution;
# DEAD: a cell cut off from its input; 0 and 123: 1x1 convolutions, pools, skips
@pytest.mark.parametrize(
    "index",
    [1462, 9, DEAD, *(pytest.param(i, marks=slow) for i in (0, 123, 15624, ALL_SKIP, BEST))],
)
def test_nasbench201_network_is_the_traced_one_with_its_costs(index):
    generated = nb.network(index, with_accuracy=False)
    assert_same_graph_and_costs(generated, traced(TinyNetwork(nb.arch_string(index))))
