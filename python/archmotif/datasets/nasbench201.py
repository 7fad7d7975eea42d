"""The 15,625 NAS-Bench-201 networks (Dong & Yang, ICLR 2020) as operator graphs.

Built from the published rules (xautodl's ``TinyNetwork``, C=16, N=5), without torch:

- **skeleton**: ``input``; stem ``convolution`` (3x3) + ``batch_norm``; three stages of
  five cells, with a ResNet basic block of stride 2 between stages (``relu``,
  ``convolution``, ``batch_norm`` twice; shortcut ``avg_pool2d`` + ``convolution``;
  ``add``); head ``batch_norm``, ``relu``, ``adaptive_avg_pool2d``, ``view``,
  ``linear``. Op names are those of traced PyTorch models
  (:mod:`archmotif.frontends.ops`).
- **cell**: nodes 0..3, one edge i->j for every i<j, each edge one of :data:`OPS`:
  ``none`` contributes nothing, ``skip_connect`` is the identity (an edge, no node),
  ``nor_conv_kxk`` is ``relu``, ``convolution``, ``batch_norm``, ``avg_pool_3x3`` is
  ``avg_pool2d``. Node j is the sum of its contributions: one contribution is used as
  is, k of them are summed by a chain of k-1 binary ``add`` nodes in source order (what
  tracing ``a + b + c`` gives). The cell's output is node 3.
- **dead ops are not drawn**: an op reading a node that no path of non-``none`` edges
  connects to the cell input reads zeros, and an op whose result never reaches node 3
  is discarded; neither computes anything the network uses, so neither becomes a
  node (a literal ``torch.export`` trace would keep them as dangling branches). Cells
  that differ only in such edges give identical graphs; the label ``effective_arch`` is
  the arch string with those edges set to ``none``.
- **a cell whose node 3 is not connected to its input** (341 of the 15,625) outputs
  zeros; it is drawn as one ``zeros_like`` node reading the cell input (xautodl's
  ``Zero`` op multiplies its input by 0), which keeps every network one connected DAG.

**Index order** is the official one: ``CellStructure.gen_all`` enumerates the cells with
the first edge of the arch string as the most significant digit (op order :data:`OPS`),
then NAS-Bench-201's ``generate_meta_info`` shuffles that list with ``random.seed(88)``;
we replay exactly that (``random.Random(88).shuffle``) and check the three indices the
official script asserts (0, 9 and 123) in the tests.

**Costs**, as :func:`archmotif.trace` records them for the PyTorch network, for one
32x32 image: ``params``, ``flops`` (2 x multiply-accumulates of the convolutions and
the classifier), ``memory`` (peak activation bytes) and per node ``node_flops``
(:mod:`.graph_builder`). Dead ops are not drawn, so they cost nothing (NAS-Bench-201's
own tables count the convolutions on dead edges). Over the 15,625 networks, parameters
span 73,306 to 1,531,546, NAS-Bench-201's published 0.073306 to 1.531546 MB, and FLOPs
15,566,080 to 440,239,360: its 7.78305 to 220.11969 MFLOPs are multiply-accumulates,
plus the classifier's 10 bias additions. Stem, residual blocks and head are built
layer by layer with a :class:`~.graph_builder.GraphBuilder`; a cell's tensors all have
its stage's shape, so its costs are counted per cell (9,445 distinct ones) and scaled
to each stage.

**Labels**: ``params``, ``flops``, ``memory``; ``source`` "nasbench201"; ``coarse``
"nas-cell"; ``index``; ``arch`` (the standard ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``
string); ``effective_arch``;
``op_mix``: the multiset of the cell's effective ops, e.g. ``c3:2-c1:1-pool:0-skip:1``
(210 values; the same ``op_mix`` means the same parameter count and FLOPs);
``family``: the cell's drawn ops, ``nb201-conv:3-pool:1-add:2`` (``nb201-zero`` for a
disconnected cell): 75 classes of 1 to 920 networks. A retrieval class must be visible
in the graph, and ``op_mix`` is not: a 1x1 and a 3x3 convolution are the same
``convolution`` node (as in traced models) and chains of skips collapse, so the 15,625
networks are only 1,115 distinct graphs, and ``family`` is by construction a function
of the graph. (Nodes carry the attributes tracing records, :mod:`archmotif.attributes`:
in the ``"attrs"`` view the 1x1 and 3x3 convolutions differ and the networks are 5,933
distinct graphs; NAS-Bench-201's own count of 6,466 keeps dead ops and reads cells as
expression trees, see the README.) The exact graph would make most classes tiny;
``family`` still explains 98.4% of the variance of the CIFAR-10 accuracies below
(``op_mix``: 98.8%). Since every network shares the skeleton, ``family`` is read off the
op counts (an op-histogram baseline retrieves it perfectly): it is a sanity check, and
graded relevance by ``cifar10_accuracy`` (or DARTS genotypes) is the harder retrieval
task.
``cifar10_accuracy`` when the accuracy data are installed.

**Accuracies** (``cifar10_accuracy``, :func:`cifar10_accuracies`) come from the PyPI
package ``analog-nasbench`` when it is installed; how its undocumented encoding was
verified is in :mod:`archmotif.datasets.analog_nasbench`.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections import Counter
from typing import NamedTuple

import numpy as np

from archmotif.attributes import attribute_string
from archmotif.datasets import analog_nasbench
from archmotif.datasets.graph_builder import (
    GraphBuilder,
    cost_labels,
    opgraphs_from_parts,
    peak_memory,
)
from archmotif.errors import SpecError
from archmotif.graph import OpGraph

__all__ = [
    "EDGES",
    "NUM_ARCHS",
    "OPS",
    "arch_index",
    "arch_string",
    "cell",
    "cifar10_accuracies",
    "generate",
    "network",
    "parse_arch",
]

#: The edge ops, in NAS-Bench-201's order (the digits of the official enumeration).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: The cell's edges (source, target), in arch-string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_ARCHS = len(OPS) ** len(EDGES)

_OP_NAMES = (
    "input", "convolution", "batch_norm", "relu", "add", "avg_pool2d", "zeros_like",
    "adaptive_avg_pool2d", "view", "linear",
)  # fmt: skip
_CODE = {n: i for i, n in enumerate(_OP_NAMES)}
# the attribute strings tracing TinyNetwork gives: 3x3 and 1x1 convolutions, the residual
# block's stride-2 3x3 convolution and its 2x2 stride-2 average pool, the cell's 3x3 pool
_ATTR_NAMES = (
    "", attribute_string(3), attribute_string(1), attribute_string(3, stride=2),
    attribute_string(2, stride=2),
)  # fmt: skip
_NO_ATTRS, _K3, _K1, _K3_S2, _K2_S2 = range(len(_ATTR_NAMES))
_NONE, _SKIP, _C1, _C3, _POOL = range(5)
_CELLS_PER_STAGE = 5
_C, _SIDE = 16, 32  # TinyNetwork's C, CIFAR's image side
_STAGES = ((_C, _SIDE), (2 * _C, _SIDE // 2), (4 * _C, _SIDE // 4))  # channels, side


# -- the official enumeration ------------------------------------------------------


@functools.cache
def _official_order() -> tuple[tuple[int, ...], ...]:
    archs = list(itertools.product(range(len(OPS)), repeat=len(EDGES)))
    random.Random(88).shuffle(archs)  # NAS-Bench-201's generate_meta_info
    return tuple(archs)


@functools.cache
def _index_of() -> dict[tuple[int, ...], int]:
    return {a: i for i, a in enumerate(_official_order())}


def _check_index(index: int) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise SpecError(f"a NAS-Bench-201 index must be an int, got {type(index).__name__}")
    if not 0 <= index < NUM_ARCHS:
        raise SpecError(f"NAS-Bench-201 index {index} is out of range 0..{NUM_ARCHS - 1}")
    return int(index)


def _to_string(ops: tuple[int, ...]) -> str:
    o = [OPS[i] for i in ops]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


def arch_string(index: int) -> str:
    """The arch string of the cell at official ``index`` (0..15,624)."""
    return _to_string(_official_order()[_check_index(index)])


def parse_arch(arch: str) -> tuple[int, ...]:
    """The six op indices (into :data:`OPS`, in :data:`EDGES` order) of an arch string
    ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``; a malformed one raises
    :class:`~archmotif.SpecError` saying what is wrong."""
    if not isinstance(arch, str):
        raise SpecError(f"an arch string must be str, got {type(arch).__name__}")
    nodes = arch.split("+")
    if len(nodes) != 3:
        raise SpecError(f"arch {arch!r}: expected 3 nodes separated by '+', got {len(nodes)}")
    out = []
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise SpecError(f"arch {arch!r}: node {j} {node!r} is not enclosed in '|'")
        parts = node[1:-1].split("|")
        if len(parts) != j:
            raise SpecError(f"arch {arch!r}: node {j} has {len(parts)} inputs, expected {j}")
        for i, part in enumerate(parts):
            op, _, src = part.partition("~")
            if op not in OPS:
                raise SpecError(f"arch {arch!r}: unknown op {op!r} (ops: {', '.join(OPS)})")
            if src != str(i):
                raise SpecError(f"arch {arch!r}: node {j} input {i} reads {src!r}, expected {i}")
            out.append(OPS.index(op))
    return tuple(out)


def arch_index(arch: str) -> int:
    """The official index of an arch string (the inverse of :func:`arch_string`)."""
    return _index_of()[parse_arch(arch)]


def _ops_of(index_or_arch: int | str) -> tuple[tuple[int, ...], int]:
    if isinstance(index_or_arch, str):
        ops = parse_arch(index_or_arch)
        return ops, _index_of()[ops]
    index = _check_index(index_or_arch)
    return _official_order()[index], index


# -- cells -------------------------------------------------------------------------


def _effective(ops: tuple[int, ...]) -> tuple[int, ...]:
    """``ops`` with every edge that reads zeros or feeds nothing used set to ``none``."""
    live = [True, False, False, False]  # connected to the cell input
    for e, (i, j) in enumerate(EDGES):  # EDGES is ordered by target
        live[j] = live[j] or (live[i] and ops[e] != _NONE)
    used = [False, False, False, True]  # reaches node 3
    for e, (i, j) in reversed(list(enumerate(EDGES))):
        used[i] = used[i] or (used[j] and ops[e] != _NONE)
    return tuple(
        op if op != _NONE and live[i] and used[j] else _NONE
        for op, (i, j) in zip(ops, EDGES, strict=True)
    )


class _Cell(NamedTuple):
    """One effective cell drawn on its own: local node ids, source -1 the cell input."""

    ops: np.ndarray  # int32 op codes
    edges: np.ndarray  # int64 [2, E]
    out: int  # the output node; -1: the cell is the identity
    attrs: np.ndarray  # int32 ids into _ATTR_NAMES
    flops: np.ndarray  # float64 per node: FLOPs / (C*C*H*W), 2*k*k for a kxk convolution
    weights: int  # convolution weights / (C*C)
    batch_norms: int
    peak: int  # peak activations alive, in tensors of the cell's shape, its input included


@functools.cache
def _cell_template(eff: tuple[int, ...]) -> _Cell:
    """The cell of ``eff``, its nodes numbered in the order the re-implemented forward
    runs them: edge by edge in :data:`EDGES` order, each contribution added to its
    node's sum as soon as it is computed."""
    ops: list[int] = []
    attrs: list[int] = []
    src: list[int] = []
    dst: list[int] = []

    def add(op: str, *inputs: int, attr: int = _NO_ATTRS) -> int:
        ops.append(_CODE[op])
        attrs.append(attr)
        for x in inputs:
            src.append(x)
            dst.append(len(ops) - 1)
        return len(ops) - 1

    if all(op == _NONE for op in eff):  # node 3 disconnected: the cell outputs zeros
        out = add("zeros_like", -1)
    else:
        value: list[int | None] = [-1, None, None, None]
        for e, (i, j) in enumerate(EDGES):  # ordered by target: node i is complete
            if eff[e] == _NONE:
                continue
            x = value[i]
            assert x is not None  # an effective edge reads a live node
            if eff[e] == _SKIP:
                term = x
            elif eff[e] == _POOL:
                term = add("avg_pool2d", x, attr=_K3)
            else:
                conv = add("convolution", add("relu", x), attr=_K1 if eff[e] == _C1 else _K3)
                term = add("batch_norm", conv)
            acc = value[j]
            value[j] = term if acc is None else add("add", acc, term)
        out = value[3]
        assert out is not None
    edges = np.array([src, dst], dtype=np.int64).reshape(2, -1)
    area = [
        (1 if a == _K1 else 9) if op == _CODE["convolution"] else 0
        for op, a in zip(ops, attrs, strict=True)
    ]
    ops_a = np.array(ops, dtype=np.int32)
    return _Cell(
        ops_a, edges, out, np.array(attrs, dtype=np.int32), 2.0 * np.array(area, dtype=np.float64),
        sum(area), ops.count(_CODE["batch_norm"]), _peak_tensors(ops_a.tobytes(), edges.tobytes()),
    )  # fmt: skip


@functools.cache
def _peak_tensors(ops: bytes, edges: bytes) -> int:
    """Peak tensors alive in a cell (input included; all have the cell's shape), cached
    by the drawn structure, which far fewer cells differ in than in their ops."""
    n = len(np.frombuffer(ops, dtype=np.int32))
    e = np.frombuffer(edges, dtype=np.int64).reshape(2, -1)
    return peak_memory(np.ones(n + 1, dtype=np.int64), e + 1)  # the input becomes node 0


def _family(eff: tuple[int, ...]) -> str:
    # counted on the drawn cell, so that the class is a function of the graph
    counts = Counter(_cell_template(eff).ops.tolist())
    if counts[_CODE["zeros_like"]]:
        return "nb201-zero"
    conv, pool, add = (counts[_CODE[op]] for op in ("convolution", "avg_pool2d", "add"))
    return f"nb201-conv:{conv}-pool:{pool}-add:{add}"


def _op_mix(eff: tuple[int, ...]) -> str:
    c = Counter(eff)
    return f"c3:{c[_C3]}-c1:{c[_C1]}-pool:{c[_POOL]}-skip:{c[_SKIP]}"


def cell(index_or_arch: int | str) -> OpGraph:
    """One cell on its own: an ``input`` node (the cell input) and the cell's
    effective ops (module docstring). An identity cell is the ``input`` node alone."""
    ops, index = _ops_of(index_or_arch)
    eff = _effective(ops)
    c = _cell_template(eff)
    c_ops, c_edges, c_attrs = c.ops, c.edges, c.attrs
    all_ops = np.concatenate([[_CODE["input"]], c_ops]).astype(np.int32)
    edges = c_edges + 1  # the input becomes node 0
    return OpGraph(
        all_ops,
        edges,
        op_names=_OP_NAMES,
        name=f"nasbench201-cell-{index:05d}",
        labels={"arch": _to_string(ops), "effective_arch": _to_string(eff)},
        attrs=np.concatenate([[_NO_ATTRS], c_attrs]).astype(np.int32),
        attr_names=_ATTR_NAMES,
    )


# -- networks ----------------------------------------------------------------------


class _Block(NamedTuple):
    """A piece of the network laid end to end with the others: local node ids, source
    -1 the previous block's output, and its costs at its place in the network."""

    ops: np.ndarray
    edges: np.ndarray
    out: int  # -1: the block is the identity
    attrs: np.ndarray
    node_flops: np.ndarray
    params: int
    peak: int  # bytes alive at once while it runs, its input included


def _fixed_block(b: GraphBuilder, first: int) -> _Block:
    """The nodes of ``b`` from ``first`` on as a block (node ``first - 1``, if any, is
    the stand-in for the previous block's output, and becomes source -1)."""
    ops, edges = b.arrays()
    attrs, names = b.attrs()
    attr_ids = np.array([_ATTR_NAMES.index(n) for n in names], dtype=np.int32)[attrs]
    return _Block(
        ops[first:], edges - first, b.num_nodes - 1 - first, attr_ids[first:],
        b.node_flops()[first:], b.params, b.peak_memory(),
    )  # fmt: skip


@functools.cache
def _skeleton() -> tuple[_Block, _Block, _Block, _Block]:
    """Stem, the two residual blocks and the head, built layer by layer (xautodl's
    ``TinyNetwork``, ``ResNetBasicblock``: ``conv_a``, ``conv_b``, then the shortcut)."""
    stem = GraphBuilder(_OP_NAMES)
    stem.batch_norm(stem.conv(stem.input((3, _SIDE, _SIDE)), _C, 3))
    res = []
    for c, side in _STAGES[:-1]:
        b = GraphBuilder(_OP_NAMES)
        x = b.input((c, side, side))
        conv_a = b.batch_norm(b.conv(b.unary("relu", x), 2 * c, 3, stride=2))
        conv_b = b.batch_norm(b.conv(b.unary("relu", conv_a), 2 * c, 3))
        shortcut = b.conv(b.pool("avg_pool2d", x, 2), 2 * c, 1)
        b.add_tensors(shortcut, conv_b)
        res.append(_fixed_block(b, 1))
    c, side = _STAGES[-1]
    head = GraphBuilder(_OP_NAMES)
    x = head.input((c, side, side))
    head.linear(head.flatten(head.global_pool(head.unary("relu", head.batch_norm(x)))), 10)
    return _fixed_block(stem, 0), res[0], res[1], _fixed_block(head, 1)


def _cell_block(cell: _Cell, stage: int) -> _Block:
    """``cell`` at ``stage``: its shape is ``(c, side, side)`` throughout."""
    c, side = _STAGES[stage]
    flops = cell.flops * (c * c * side * side)
    params = cell.weights * c * c + 2 * c * cell.batch_norms
    peak = cell.peak * c * side * side * 4  # float32
    return _Block(cell.ops, cell.edges, cell.out, cell.attrs, flops, params, peak)


@functools.cache
def _network_arrays(
    eff: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, str]]:
    """Stem, 3 stages of 5 cells with a residual block between them, head: the
    blocks laid end to end, each reading the previous one's output. Returns ops,
    edges, attrs, node FLOPs and the cost labels (one image; the figures
    :func:`archmotif.trace` gives for the re-implemented ``TinyNetwork``)."""
    stem, res1, res2, head = _skeleton()
    cell = _cell_template(eff)
    stages = [[_cell_block(cell, s)] * _CELLS_PER_STAGE for s in range(len(_STAGES))]
    blocks = [stem, *stages[0], res1, *stages[1], res2, *stages[2], head]
    sizes = np.array([len(b.ops) for b in blocks], dtype=np.int64)
    bases = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ins = np.empty(len(blocks), dtype=np.int64)
    x = -1
    for i, b in enumerate(blocks):  # each block reads the previous block's output
        ins[i] = x
        if b.out >= 0:
            x = int(bases[i]) + b.out
    per_block = np.array([b.edges.shape[1] for b in blocks])
    src, dst = np.concatenate([b.edges for b in blocks], axis=1)
    owner = np.repeat(np.arange(len(blocks)), per_block)
    src = np.where(src < 0, ins[owner], src + bases[owner])
    ops = np.concatenate([b.ops for b in blocks])
    flops = np.concatenate([b.node_flops for b in blocks])
    flops.flags.writeable = False
    # only the running tensor crosses from one block to the next: the peak is a block's
    costs = cost_labels(sum(b.params for b in blocks), flops.sum(), max(b.peak for b in blocks))
    edges = np.stack([src, dst + bases[owner]])
    return ops, edges, np.concatenate([b.attrs for b in blocks]), flops, costs


def _labels(index: int, ops: tuple[int, ...], eff: tuple[int, ...]) -> dict[str, str]:
    return {
        "source": "nasbench201",
        "family": _family(eff),
        "coarse": "nas-cell",
        "index": str(index),
        "arch": _to_string(ops),
        "effective_arch": _to_string(eff),
        "op_mix": _op_mix(eff),
    }


def _networks(indices: list[int], accuracy: np.ndarray | None) -> list[OpGraph]:
    order = _official_order()
    parts, flops, names, labels = [], [], [], []
    for index in indices:
        ops = order[index]
        eff = _effective(ops)
        g_ops, g_edges, g_attrs, g_flops, costs = _network_arrays(eff)
        parts.append((g_ops, g_edges, g_attrs))
        flops.append(g_flops)
        names.append(f"nasbench201-{index:05d}")
        lab = {**costs, **_labels(index, ops, eff)}
        if accuracy is not None:
            lab["cifar10_accuracy"] = repr(round(float(accuracy[index]), 4))
        labels.append(lab)
    return opgraphs_from_parts(parts, _OP_NAMES, names, labels, _ATTR_NAMES, flops)


def network(index_or_arch: int | str, *, with_accuracy: bool = True) -> OpGraph:
    """The whole network (skeleton + 15 copies of the cell) for an official index or
    an arch string, labelled as the module docstring says."""
    _, index = _ops_of(index_or_arch)
    return _networks([index], cifar10_accuracies() if with_accuracy else None)[0]


def generate(limit: int | None = None, *, with_accuracy: bool = True) -> list[OpGraph]:
    """All 15,625 networks in official index order (the first ``limit`` of them when
    given). ``cifar10_accuracy`` labels are attached when ``with_accuracy`` and
    analog-nasbench is installed; without it the graphs are the same, unlabelled."""
    if limit is None:
        limit = NUM_ARCHS
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= NUM_ARCHS:
        raise SpecError(f"limit must be an int in 0..{NUM_ARCHS}, got {limit!r}")
    return _networks(list(range(limit)), cifar10_accuracies() if with_accuracy else None)


@functools.cache
def cifar10_accuracies() -> np.ndarray | None:
    """CIFAR-10 test accuracy (%) of every cell, read-only float64 ``[15625]`` in
    official index order, from analog-nasbench; None when that package is not
    installed. A file that is not what it should be raises
    :class:`~archmotif.FormatError` naming it (see :mod:`.analog_nasbench`)."""
    by_arch = analog_nasbench.read_accuracies()
    if by_arch is None:
        return None
    out = np.empty(NUM_ARCHS, dtype=np.float64)
    index = _index_of()
    for names, a in by_arch.items():
        out[index[tuple(OPS.index(n) for n in names)]] = a
    out.flags.writeable = False
    return out
