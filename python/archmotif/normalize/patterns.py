"""Small-DAG patterns matched over the op-id arrays with numpy joins (no Python loop
per node): how the normalisation pass finds the spelled-out forms of one operator.

A :class:`Pattern` is a DAG of *members* (nodes with an op from a set) and
*externals* (any node but one of the pattern's ``not_from`` ops: the pattern's
inputs). A match assigns distinct graph nodes
to the members and graph nodes to the externals such that every pattern edge is a
graph edge, every member has exactly the pattern's in-edges (no other input: weights
and constants are not nodes, so ``matmul`` with one input is a weight product) and
every member but the ``root`` is read only inside the match. Such a group is convex,
so folding it into its root keeps the graph acyclic.

Matching starts from the candidates of the first member (the pattern's rarest op,
as written) and joins one pattern node at a time along a pattern edge: rows of
candidate assignments are expanded by the neighbours of the node already placed
(CSR arrays), filtered by op, and checked against the remaining pattern edges by a
sorted-key lookup. Two matches that claim one node keep the one found first (rows
sorted by node ids); a group matched twice (a symmetric pattern) is folded once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from archmotif.normalize.rewrite import Work, csr

__all__ = ["Pattern", "match"]


@dataclass(frozen=True)
class Pattern:
    """A spelled-out form of the operator ``result``. ``members`` maps a label to the
    ops it may carry; labels in ``edges`` that are not members are externals."""

    rule: str
    result: str
    members: tuple[tuple[str, frozenset[str]], ...]
    edges: tuple[tuple[str, str], ...]
    root: str
    # ops the externals may not carry
    not_from: frozenset[str] = frozenset()

    def labels(self) -> list[str]:
        """Members first (in order), then externals in order of first appearance."""
        out = [m for m, _ in self.members]
        for a, b in self.edges:
            out += [x for x in (a, b) if x not in out]
        return out


def pattern(
    rule: str,
    result: str,
    spec: str,
    root: str,
    *,
    not_from: Iterable[str] = (),
    **ops: Iterable[str],
) -> Pattern:
    """A pattern from ``"x>a a>b x>b"`` edge text; ``ops`` gives each member's ops,
    ``not_from`` ops no external may carry."""
    edges = tuple(dict.fromkeys(tuple(e.split(">")) for e in spec.split()))
    members = tuple((m, frozenset(o)) for m, o in ops.items())
    p = Pattern(rule, result, members, edges, root, frozenset(not_from))  # type: ignore[arg-type]
    # every member must reach the root, else the group need not be convex
    names = {m for m, _ in members}
    reach = {root}
    for _ in range(len(names)):
        reach |= {a for a, b in edges if b in reach and a in names}
    if reach != names:
        raise ValueError(f"pattern {rule}: members {sorted(names - reach)} do not reach {root}")
    return p


def _expand(rows: np.ndarray, col: int, off: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """``rows`` repeated once per neighbour of ``rows[:, col]``, the neighbour appended."""
    v = rows[:, col]
    count = off[v + 1] - off[v]
    total = int(count.sum())
    starts = np.repeat(off[v] - (np.cumsum(count) - count), count)
    picked = nbr[starts + np.arange(total, dtype=np.int64)]
    return np.column_stack([np.repeat(rows, count, axis=0), picked])


def match(w: Work, p: Pattern) -> np.ndarray:
    """int64 ``[M, len(members)]``: the members of every match kept (see module doc)."""
    n = w.num_nodes
    src, dst = w.edges
    labels = p.labels()
    members = dict(p.members)
    n_mem = len(members)
    if not n or not src.size:
        return np.zeros((0, n_mem), dtype=np.int64)
    allowed = {m: w.ids_of(ops) for m, ops in members.items()}
    first = labels[0]
    rows = np.flatnonzero(np.isin(w.ops, allowed[first]))[:, None].astype(np.int64)
    if not rows.shape[0]:
        return np.zeros((0, n_mem), dtype=np.int64)
    succ = csr(n, src, dst)
    pred = csr(n, dst, src)
    keys = np.sort(src * n + dst)

    def has_edge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        k = a * n + b
        i = np.minimum(np.searchsorted(keys, k), keys.size - 1)
        return keys[i] == k

    placed = [first]
    todo = [lb for lb in labels if lb != first]
    while todo and rows.shape[0]:
        # the next label joined to a placed one by a pattern edge
        lb, col, out = next(
            (lb, placed.index(a if b == lb else b), a != lb)
            for lb in todo
            for a, b in p.edges
            if (a == lb and b in placed) or (b == lb and a in placed)
        )
        rows = _expand(rows, col, *(succ if out else pred))
        new = rows[:, -1]
        ok = np.ones(rows.shape[0], dtype=bool)
        if lb in members:
            ok &= np.isin(w.ops[new], allowed[lb])
        for a, b in p.edges:  # the other pattern edges between lb and placed labels
            if a == lb and b in placed:
                ok &= has_edge(new, rows[:, placed.index(b)])
            elif b == lb and a in placed:
                ok &= has_edge(rows[:, placed.index(a)], new)
        rows = rows[ok]
        placed.append(lb)
        todo.remove(lb)
    if todo or not rows.shape[0]:
        return np.zeros((0, n_mem), dtype=np.int64)
    rows = rows[:, [placed.index(lb) for lb in labels]]
    mem = rows[:, :n_mem]
    ok = np.ones(rows.shape[0], dtype=bool)
    if p.not_from:
        ok &= ~np.isin(w.ops[rows[:, n_mem:]], w.ids_of(p.not_from)).any(axis=1)
    for i in range(n_mem):  # members are distinct nodes, externals are not members
        for j in range(rows.shape[1]):
            if j != i:
                ok &= mem[:, i] != rows[:, j]
    indeg = np.bincount(dst, minlength=n)
    outdeg = np.bincount(src, minlength=n)
    for i, m in enumerate(labels[:n_mem]):
        ok &= indeg[mem[:, i]] == sum(b == m for _, b in p.edges)
        if m != p.root:
            ok &= outdeg[mem[:, i]] == sum(a == m for a, _ in p.edges)
    mem = mem[ok]
    if not mem.shape[0]:
        return mem
    # one match per group, and no node in two matches: the first claimant wins
    mem = mem[np.lexsort(mem.T[::-1])]
    _, first_row = np.unique(np.sort(mem, axis=1), axis=0, return_index=True)
    mem = mem[np.sort(first_row)]
    flat = mem.ravel()
    claim = np.full(n, mem.shape[0], dtype=np.int64)
    np.minimum.at(claim, flat, np.repeat(np.arange(mem.shape[0]), n_mem))
    wins = (claim[mem] == np.arange(mem.shape[0])[:, None]).all(axis=1)
    return mem[wins]
