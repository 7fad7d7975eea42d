"""One topological order of a DAG given as edge arrays, for the Python layers that need
one outside the Rust core (the viewer's layout, the learner's rewrite views).

Kahn's algorithm with the smallest ready node first: deterministic, and on a traced
graph (nodes numbered in execution order) it follows that order wherever it can.
"""

from __future__ import annotations

import heapq

import numpy as np

from archmotif.errors import GraphError

__all__ = ["topological_order"]


def topological_order(num_nodes: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """int64 ``[num_nodes]``: every node once, each after all its predecessors, the
    smallest ready node first. A cycle raises :class:`~archmotif.GraphError`."""
    indeg = np.bincount(np.asarray(dst, dtype=np.int64), minlength=num_nodes).tolist()
    succ: list[list[int]] = [[] for _ in range(num_nodes)]
    for s, d in zip(np.asarray(src).tolist(), np.asarray(dst).tolist(), strict=True):
        succ[s].append(d)
    ready = [v for v in range(num_nodes) if indeg[v] == 0]  # ascending: already a heap
    order = []
    while ready:
        v = heapq.heappop(ready)
        order.append(v)
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                heapq.heappush(ready, w)
    if len(order) != num_nodes:
        raise GraphError(f"the graph has a cycle ({num_nodes - len(order)} nodes on or after one)")
    return np.array(order, dtype=np.int64)
