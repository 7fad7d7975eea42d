"""Rewrite views: what writing a design another way does to its macro graph.

Exact motif ids cannot match a design a user wrote another way, which is the one place a
learnt embedding can add to the motif bag. Stage 2 is trained to see through the rewrites
that survive normalisation, each applied to a macro graph:

- **depth**: a *block* (a stretch of the network every edge enters from one node and
  leaves from its last node: a residual block with its skip, a transformer layer, a run
  of plain layers) is repeated once more, or removed with its entry joined to what it
  fed, as a network of another depth has more or fewer blocks;
- **operator variants**: a macro node's motif is swapped for a *sibling*, a motif of the
  vocabulary that differs from it in one operator (a 5x5 for a 3x3 convolution, a grouped
  for a dense one, GELU for ReLU), as variants of one design do;
- **width**: nothing to do: widths are not in the graphs.

Inserting or removing no-ops and other spellings of one operator need no view: the
normalisation pass before mining (:mod:`archmotif.normalize`) makes them meet.

Blocks and siblings are found once per corpus (:func:`find_blocks`, :func:`siblings`);
:func:`rewrite` draws one rewritten graph from them with a ``torch.Generator``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Data

from archmotif import _core
from archmotif.errors import GraphError
from archmotif.mining.motifs import MotifVocabulary
from archmotif.toposort import topological_order

__all__ = ["Blocks", "find_blocks", "rewrite", "siblings"]

#: Longest block considered, in macro nodes.
MAX_BLOCK = 16
_WILDCARD = "\x00*"  # an op name no graph has: stands for "any operator"


@dataclass(frozen=True)
class Blocks:
    """The blocks of one macro graph: ``order`` is a topological order of its nodes and
    block ``k`` is the stretch ``order[spans[k, 0]:spans[k, 1]]``."""

    order: np.ndarray
    spans: np.ndarray


def find_blocks(edge_index: torch.Tensor | np.ndarray, n: int) -> Blocks:
    """Every block of a graph of ``n`` nodes with ``edge_index`` ``[2, E]``: a stretch
    ``[i, j)`` of a topological order, shorter than the graph and at most
    :data:`MAX_BLOCK` long, whose incoming edges all leave one node before it and whose
    outgoing edges all leave its last node, with at least one of each."""
    e = np.asarray(edge_index, dtype=np.int64).reshape(2, -1)
    try:
        order = topological_order(n, e[0], e[1])
    except GraphError:  # not a DAG: no block to rewrite
        order = None
    if order is None or n < 3:
        return Blocks(np.arange(n, dtype=np.int64), np.zeros((0, 2), dtype=np.int64))
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    ps, pd = pos[e[0]], pos[e[1]]
    ins: list[list[int]] = [[] for _ in range(n)]  # per position, sources' positions
    outs: list[list[int]] = [[] for _ in range(n)]
    for s, d in zip(ps.tolist(), pd.tolist(), strict=True):
        ins[d].append(s)
        outs[s].append(d)
    spans = []
    for i in range(1, n - 1):
        entry = None  # the one node before i that edges into the stretch leave
        ok = True
        reach = 0  # furthest target of edges leaving [i, j - 1)
        for j in range(i + 1, min(n, i + MAX_BLOCK + 1)):
            last = j - 1
            for s in ins[last]:
                if s < i:
                    if entry is None:
                        entry = s
                    elif entry != s:
                        ok = False
            if not ok:
                break
            # edges from earlier members must stay inside [i, j): reach < j
            if entry is not None and reach < j and any(d >= j for d in outs[last]):
                spans.append((i, j))
            reach = max(reach, max(outs[last], default=last))
    return Blocks(order, np.array(spans, dtype=np.int64).reshape(-1, 2))


def siblings(vocab: MotifVocabulary) -> list[np.ndarray]:
    """For each motif of ``vocab`` (by index), the indices of the motifs that differ from
    it in exactly one operator: same node count and edges, one node's op another.
    Found by hashing each motif once per node with that node's op a wildcard: two motifs
    are siblings when they share such a hash."""
    names = [*sorted({op for m in vocab for op in m.ops}), _WILDCARD]
    code = {op: i for i, op in enumerate(names)}
    wild = np.int32(code[_WILDCARD])
    groups: dict[int, set[int]] = {}
    for m in vocab:
        ops = np.array([code[o] for o in m.ops], dtype=np.int32)
        edges = np.ascontiguousarray(m.edges, dtype=np.int64).reshape(2, -1)
        for k in range(len(ops)):
            masked = ops.copy()
            masked[k] = wild
            groups.setdefault(_core.canonical_hash(masked, edges, names), set()).add(m.index)
    near: list[set[int]] = [set() for _ in range(len(vocab))]
    for members in groups.values():
        if len(members) > 1:
            for a in members:
                near[a] |= members
    return [np.array(sorted(s - {i}), dtype=np.int64) for i, s in enumerate(near)]


def _block_rewrite(data: Data, blocks: Blocks, k: int, repeat: bool) -> Data:
    """``data`` with block ``k`` repeated once more (``repeat``) or removed; nodes come
    out in the blocks' topological order, so later crops see stretches of the network."""
    order, (i, j) = blocks.order, blocks.spans[k].tolist()
    n = int(data.num_nodes)
    ei = data.edge_index
    w = data.edge_weight if "edge_weight" in data else torch.ones(ei.shape[1])
    pos = torch.empty(n, dtype=torch.long)
    pos[torch.from_numpy(order)] = torch.arange(n)
    s, d = pos[ei[0]], pos[ei[1]]
    last, size = j - 1, j - i
    inside_s, inside_d = (s >= i) & (s < j), (d >= i) & (d < j)
    entry_edges = inside_d & (s < i)
    exits = (s == last) & (d >= j)
    if repeat:
        # the copy sits at [j, j + size): later positions shift by the block's size;
        # the copy's last node feeds what the block fed, the block's last feeds the copy
        s2 = torch.where(s >= j, s + size, s) + torch.where(exits, size, 0)
        d2 = torch.where(d >= j, d + size, d)
        inner = inside_s & inside_d
        src = torch.cat([s2, s[inner] + size, torch.full_like(d[entry_edges], last)])
        dst = torch.cat([d2, d[inner] + size, d[entry_edges] + size])
        weight = torch.cat([w, w[inner], w[entry_edges]])
        x_pos = torch.cat([torch.arange(j), torch.arange(i, j), torch.arange(j, n)])
    else:
        # the block goes; its entry feeds what its last node fed
        keep = ~(inside_s | inside_d)
        entry = s[entry_edges][0]
        src = torch.cat([s[keep], entry.expand(int(exits.sum()))])
        dst = torch.cat([d[keep], d[exits]])
        src, dst = (torch.where(p >= j, p - size, p) for p in (src, dst))
        weight = torch.cat([w[keep], w[exits]])
        x_pos = torch.cat([torch.arange(i), torch.arange(j, n)])
    picked = torch.from_numpy(order)[x_pos]
    x = data.x[picked]
    # parallel edges (a bridge beside an existing edge) become one, weights summed
    m = int(x.shape[0])
    key, inv = torch.unique(src * m + dst, return_inverse=True)
    summed = torch.zeros(key.shape[0], dtype=weight.dtype).index_add_(0, inv, weight)
    out = Data(x=x, edge_index=torch.stack([key // m, key % m]), y=data.y, num_nodes=m)
    if "feat" in data:  # a repeated node brings its features, a swapped one keeps them
        out.feat = data.feat[picked]
    if "edge_weight" in data:
        out.edge_weight = summed
    return out


def rewrite(
    data: Data,
    gen: torch.Generator,
    *,
    blocks: Blocks | None,
    near: Sequence[np.ndarray] | None,
    p_depth: float,
    p_swap: float,
) -> Data:
    """One rewritten view of a macro graph (``x`` = motif indices): with probability
    ``p_depth`` a random block (of ``blocks``, found on this very graph) is repeated or
    removed, even odds; then each node's motif is swapped with probability ``p_swap`` for
    a random sibling (``near``, from :func:`siblings`), when it has one."""
    if blocks is not None and len(blocks.spans) and torch.rand((), generator=gen) < p_depth:
        k = int(torch.randint(0, len(blocks.spans), (), generator=gen))
        repeat = bool(torch.rand((), generator=gen) < 0.5)
        data = _block_rewrite(data, blocks, k, repeat)
    if near is not None and p_swap > 0 and int(data.num_nodes):
        pick = torch.rand(int(data.num_nodes), generator=gen) < p_swap
        draws = torch.rand(int(data.num_nodes), generator=gen)
        if bool(pick.any()):
            x = data.x.clone()
            for v in torch.nonzero(pick).flatten().tolist():
                options = near[int(x[v])] if int(x[v]) >= 0 else ()
                if len(options):
                    x[v] = int(options[int(draws[v] * len(options))])
            data = copy.copy(data)
            data.x = x
    return data
