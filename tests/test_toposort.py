"""The one topological order the Python layers share (viewer layout, rewrite views)."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif.toposort import topological_order


def test_every_edge_points_forward_and_the_smallest_ready_node_goes_first():
    # 0 -> 3, 2 -> 1, 1 -> 3: ready at first are 0 and 2; then 1 (freed by 2) before 3
    src, dst = np.array([0, 2, 1]), np.array([3, 1, 3])
    assert topological_order(4, src, dst).tolist() == [0, 2, 1, 3]
    rng = np.random.default_rng(0)
    perm = rng.permutation(50)
    a, b = np.triu_indices(50, 1)
    keep = rng.random(a.size) < 0.1
    s, d = perm[a[keep]], perm[b[keep]]  # a random DAG under a random numbering
    where = np.empty(50, dtype=np.int64)
    where[topological_order(50, s, d)] = np.arange(50)
    assert (where[s] < where[d]).all()


def test_a_cycle_is_a_graph_error():
    with pytest.raises(archmotif.GraphError, match="cycle"):
        topological_order(3, np.array([0, 1, 2]), np.array([1, 2, 1]))
