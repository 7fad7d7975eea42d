"""How each macro node unfolds: its operators in canonical order and its child motifs.

The viewer expands a macro node into the motifs it was merged from, down to the
operators. Mining records, per motif, its canonical form (ops and edges over
canonical positions) and its ``children``; it does not record which operators of an
instance play which canonical position, nor which positions each child covers. This
module recovers both by labelled, directed, induced subgraph matching:

- :func:`instance_positions`: for every original node, its canonical position inside
  its macro node's motif (an isomorphism instance -> canonical form, per instance; the
  last mapping found for a motif is tried first, which settles the common case of
  repeated blocks numbered alike in O(size));
- :func:`motif_splits`: for every motif reachable from a macro graph, how its
  positions divide among its children (``split[p]`` the child slot, ``sub[p]`` the
  position inside that child). When a motif divides into its children in more than one
  way, the first way found is used: every way shows the same child motifs.

Matching is exponential in the worst case, so each search has a step budget; a motif
or instance past it is shown flat (its operators, no child motifs; position -1).
Motifs are small (``max_motif_nodes``, 32 by default), so the budget is rarely reached.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from archmotif.graph import OpGraph
from archmotif.mining import canonical_hash
from archmotif.mining.motifs import MacroGraph, Motif, MotifVocabulary

__all__ = ["MATCH_BUDGET", "instance_positions", "motif_splits"]

# Search steps allowed per matching problem before giving up (see module docstring).
MATCH_BUDGET = 20_000


class _Budget:
    __slots__ = ("left",)

    def __init__(self, steps: int) -> None:
        self.left = steps


class _Small:
    """A small labelled digraph over local ids 0..n-1, with adjacency sets."""

    __slots__ = ("edges", "labels", "pred", "succ")

    def __init__(self, labels: Sequence[str], edges: Sequence[tuple[int, int]]) -> None:
        self.labels = list(labels)
        self.succ: list[set[int]] = [set() for _ in self.labels]
        self.pred: list[set[int]] = [set() for _ in self.labels]
        for u, v in edges:
            self.succ[u].add(v)
            self.pred[v].add(u)
        self.edges = {(int(u), int(v)) for u, v in edges}


def _order(p: _Small) -> list[int]:
    """Pattern nodes in an order where each node (after the first of its component)
    touches an earlier one, most constrained first: candidates then come from a
    neighbour's image instead of the whole target."""
    n = len(p.labels)
    deg = [len(p.succ[i]) + len(p.pred[i]) for i in range(n)]
    seen: set[int] = set()
    out: list[int] = []
    for start in sorted(range(n), key=lambda i: (-deg[i], i)):
        if start in seen:
            continue
        seen.add(start)
        frontier = [start]
        while frontier:
            u = frontier.pop(0)
            out.append(u)
            for w in sorted(p.succ[u] | p.pred[u], key=lambda i: (-deg[i], i)):
                if w not in seen:
                    seen.add(w)
                    frontier.append(w)
    return out


def _embeddings(
    p: _Small, t: _Small, allowed: set[int], budget: _Budget, exact: bool
) -> Iterator[dict[int, int]]:
    """Injective maps of pattern ``p`` into the ``allowed`` nodes of ``t`` that keep
    labels and induce the same edges (``p -> q`` iff ``f(p) -> f(q)``). With ``exact``
    degrees must agree (an isomorphism of equal-sized graphs); else the target's
    degrees may be larger. Stops quietly when the budget is spent."""
    order = _order(p)
    f: dict[int, int] = {}
    used: set[int] = set()

    def fits(u: int, x: int) -> bool:
        if x in used or x not in allowed or t.labels[x] != p.labels[u]:
            return False
        if exact:
            if len(t.succ[x]) != len(p.succ[u]) or len(t.pred[x]) != len(p.pred[u]):
                return False
        elif len(t.succ[x]) < len(p.succ[u]) or len(t.pred[x]) < len(p.pred[u]):
            return False
        for w, y in f.items():
            if (w in p.succ[u]) != (y in t.succ[x]) or (w in p.pred[u]) != (y in t.pred[x]):
                return False
        return True

    def candidates(u: int) -> Iterator[int]:
        for w, y in f.items():
            if w in p.pred[u]:
                return iter(sorted(t.succ[y]))
            if w in p.succ[u]:
                return iter(sorted(t.pred[y]))
        return iter(sorted(allowed))

    def extend(k: int) -> Iterator[dict[int, int]]:
        if k == len(order):
            yield dict(f)
            return
        u = order[k]
        for x in candidates(u):
            budget.left -= 1
            if budget.left < 0:
                return
            if fits(u, x):
                f[u] = x
                used.add(x)
                yield from extend(k + 1)
                del f[u]
                used.discard(x)

    yield from extend(0)


def _form(m: Motif) -> _Small:
    return _Small(m.ops, list(zip(m.edges[0].tolist(), m.edges[1].tolist(), strict=True)))


def _split(m: Motif, vocab: MotifVocabulary, budget: _Budget) -> tuple[list[int], list[int]] | None:
    """Child slot and child position of each of ``m``'s positions, or None."""
    kids = [vocab[c] for c in m.children]
    if not kids or sum(k.num_nodes for k in kids) != m.num_nodes:
        return None
    target = _form(m)
    forms = [_form(k) for k in kids]
    split = [-1] * m.num_nodes
    sub = [-1] * m.num_nodes

    def place(j: int, free: set[int]) -> bool:
        if j == len(kids) - 1:
            # the last child must be exactly what is left: check by canonical id
            nodes = sorted(free)
            local = {x: i for i, x in enumerate(nodes)}
            edges = [(local[u], local[v]) for u, v in target.edges if u in free and v in free]
            g = OpGraph([m.ops[x] for x in nodes], np.array(edges, dtype=np.int64).T.reshape(2, -1))
            if canonical_hash(g) != kids[j].id:
                return False
            # positions of the last child: match it onto what is left
            for f in _embeddings(forms[j], target, free, budget, exact=False):
                for q, x in f.items():
                    split[x], sub[x] = j, q
                return True
            return False
        for f in _embeddings(forms[j], target, free, budget, exact=False):
            for q, x in f.items():
                split[x], sub[x] = j, q
            if place(j + 1, free - set(f.values())):
                return True
            if budget.left < 0:
                return False
        return False

    if place(0, set(range(m.num_nodes))):
        return split, sub
    return None


def motif_splits(
    vocab: MotifVocabulary, roots: Sequence[int], budget: int = MATCH_BUDGET
) -> dict[int, tuple[list[int], list[int]] | None]:
    """For each motif reachable from ``roots`` through ``children`` (level-0 motifs
    excluded), how its positions divide among its children; None where no division
    was found (or ``budget`` search steps did not suffice)."""
    out: dict[int, tuple[list[int], list[int]] | None] = {}
    stack = [r for r in roots if r >= 0]
    while stack:
        i = stack.pop()
        if i in out:
            continue
        m = vocab[i]
        if m.num_nodes <= 1:
            continue
        out[i] = _split(m, vocab, _Budget(budget))
        stack.extend(c for c in m.children if c not in out)
    return out


def _verify(
    nodes: list[int],
    pos: list[int],
    ops: list[str],
    edges: set[tuple[int, int]],
    m: Motif,
    motif_edges: set[tuple[int, int]],
) -> bool:
    """Whether ranking ``nodes`` into positions ``pos`` maps the instance onto ``m``."""
    if sorted(pos) != list(range(m.num_nodes)):
        return False
    at = dict(zip(nodes, pos, strict=True))
    if any(m.ops[at[v]] != op for v, op in zip(nodes, ops, strict=True)):
        return False
    return {(at[u], at[v]) for u, v in edges} == motif_edges


def instance_positions(mg: MacroGraph, budget: int = MATCH_BUDGET) -> np.ndarray:
    """int32 ``[N]``: each original node's canonical position in its macro node's
    motif; -1 where the motif is unknown (index -1) or no mapping was found."""
    g = mg.graph
    n2m = mg.node_to_macro
    pos = np.full(g.num_nodes, -1, dtype=np.int32)
    if g.num_nodes == 0:
        return pos
    src, dst = g.edges
    inner = n2m[src] == n2m[dst]
    isrc, idst = src[inner], dst[inner]
    order = np.argsort(n2m[isrc], kind="stable")
    isrc, idst = isrc[order].tolist(), idst[order].tolist()
    ebounds = np.searchsorted(n2m[np.asarray(isrc, dtype=np.int64)], np.arange(mg.num_nodes + 1))
    names = np.asarray(g.op_names, dtype=object)[g.ops]
    template: dict[int, list[int]] = {}  # motif -> positions by rank, last found
    forms: dict[int, _Small] = {}
    for k, nodes_arr in enumerate(mg.instances):
        mi = int(mg.motifs[k])
        if mi < 0:
            continue
        m = mg.vocabulary[mi]
        nodes = nodes_arr.tolist()
        if len(nodes) != m.num_nodes:
            continue
        if len(nodes) == 1:
            pos[nodes[0]] = 0
            continue
        ops = names[nodes_arr].tolist()
        lo, hi = ebounds[k], ebounds[k + 1]
        edges = set(zip(isrc[lo:hi], idst[lo:hi], strict=True))
        guess = template.get(mi)
        if guess is not None and _verify(nodes, guess, ops, edges, m, forms[mi].edges):
            pos[nodes_arr] = guess
            continue
        local = {v: i for i, v in enumerate(nodes)}
        inst = _Small(ops, [(local[u], local[v]) for u, v in edges])
        if mi not in forms:
            forms[mi] = _form(m)
        f = next(_embeddings(inst, forms[mi], set(range(m.num_nodes)), _Budget(budget), True), None)
        if f is None:
            continue
        found = [f[i] for i in range(len(nodes))]
        template[mi] = found
        pos[nodes_arr] = found
    return pos
