"""The generated NAS graphs against traced PyTorch: small torch re-implementations of
DARTS's evaluation network and NAS-Bench-201's TinyNetwork, written from the
published code, traced with :func:`archmotif.trace` on the meta device, must be
isomorphic (equal canonical ids) to what :mod:`archmotif.datasets.darts` and
:mod:`archmotif.datasets.nasbench201` generate without torch, at both levels of detail:
the generators write the attributes tracing records."""

from __future__ import annotations

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


class DartsNetworkCIFAR(nn.Module):
    def __init__(self, g, c: int, layers: int) -> None:
        super().__init__()
        c_curr = 3 * c
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_pp, c_p, c_curr = c_curr, c_curr, c
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c_curr = c_curr * 2 if reduction else c_curr
            self.cells.append(DartsCell(g, c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(self.cells[-1].concat) * c_curr
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, 10)

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        out = self.pool(s1)
        return self.classifier(out.view(out.size(0), -1))


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

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


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


def traced(model: nn.Module) -> archmotif.OpGraph:
    with torch.device("meta"):
        x = torch.empty(2, 3, 32, 32)
    # the generators emit the raw trace vocabulary: compare with the trace as exported
    return archmotif.trace(model.to("meta"), x, normalize=False)


@pytest.mark.parametrize(
    "genotype",
    [pytest.param(darts.DARTS_V1, marks=slow, id="v1"), pytest.param(darts.DARTS_V2, id="v2")],
)
def test_darts_network_is_isomorphic_to_the_traced_one(genotype):
    generated = darts.network(genotype, cells=8)
    reference = traced(DartsNetworkCIFAR(genotype, 4, 8))
    assert reference.op_counts() == generated.op_counts()
    assert archmotif.canonical_hash(reference) == archmotif.canonical_hash(generated)
    assert reference.view("attrs").op_counts() == generated.view("attrs").op_counts()
    assert archmotif.canonical_hash(reference, detail="attrs") == (
        archmotif.canonical_hash(generated, detail="attrs")
    )


@slow
def test_random_darts_genotype_is_isomorphic_to_the_traced_one():
    import numpy as np

    g = darts.random_genotype(np.random.default_rng(7))
    generated = darts.network(g, cells=5)
    reference = traced(DartsNetworkCIFAR(g, 4, 5))
    assert archmotif.canonical_hash(reference) == archmotif.canonical_hash(generated)
    assert archmotif.canonical_hash(reference, detail="attrs") == (
        archmotif.canonical_hash(generated, detail="attrs")
    )


DEAD = nb.arch_index("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|none~2|")


@pytest.mark.parametrize(
    "index", [1462, DEAD, *(pytest.param(i, marks=slow) for i in (0, 9, 123, 15624))]
)
def test_nasbench201_network_is_isomorphic_to_the_traced_one(index):
    arch = nb.arch_string(index)
    generated = nb.network(index, with_accuracy=False)
    reference = traced(TinyNetwork(arch))
    assert reference.op_counts() == generated.op_counts()
    assert archmotif.canonical_hash(reference) == archmotif.canonical_hash(generated)
    assert reference.view("attrs").op_counts() == generated.view("attrs").op_counts()
    assert archmotif.canonical_hash(reference, detail="attrs") == (
        archmotif.canonical_hash(generated, detail="attrs")
    )
