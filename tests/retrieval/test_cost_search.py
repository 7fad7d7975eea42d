"""Cost buckets (log-spaced, the nearest in each) and the (similarity, cost) front."""

from __future__ import annotations

import numpy as np
import pytest

from archmotif.errors import RetrievalError
from archmotif.retrieval.cost_search import cost_buckets, pareto_front, scored_costs
from archmotif.retrieval.index import Index


def _line_index():
    """Five items whose similarity to the query [1, 0] and cost are set by hand."""
    angles = np.array([0.0, 0.2, 0.4, 0.6, 1.0])  # similarity cos(angle): falls with index
    x = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    costs = ["100", "5000", "50", "20", "1000"]
    meta = [{"name": f"m{i}", "params": c, "family": "f"} for i, c in enumerate(costs)]
    return Index(x, meta)


def test_the_front_is_every_item_no_cheaper_item_beats():
    idx = _line_index()
    front = pareto_front(idx, [1.0, 0.0], "params")
    # by cost: m3 (20), m2 (50, more similar), m0 (100, most similar); m4 and m1 dominated
    assert [h.name for h in front] == ["m3", "m2", "m0"]
    assert [h.rank for h in front] == [1, 2, 3]
    assert front[-1].score == pytest.approx(1.0)
    assert [h.name for h in pareto_front(idx, [1.0, 0.0], "params", where="params > 60")] == ["m0"]


def test_front_property_on_random_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    meta = [{"params": str(int(c))} for c in rng.integers(1, 10**6, size=300)]
    idx = Index(x, meta)
    q = rng.normal(size=8)
    ids, scores, costs = scored_costs(idx, q, "params")
    on = {h.index for h in pareto_front(idx, q, "params")}
    for j, i in enumerate(ids):
        dominated = ((scores >= scores[j]) & (costs <= costs[j])
                     & ((scores > scores[j]) | (costs < costs[j]))).any()  # fmt: skip
        assert (int(i) in on) == (not dominated)


def test_buckets_are_log_spaced_and_hold_the_nearest_of_their_range():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 8)).astype(np.float32)
    costs = np.exp(rng.uniform(np.log(1e3), np.log(1e9), size=500)).astype(np.int64)
    idx = Index(x, [{"name": f"m{i}", "flops": str(c)} for i, c in enumerate(costs)])
    q = rng.normal(size=8).astype(np.float32)
    buckets = cost_buckets(idx, q, "flops", count=6, k=3)
    assert len(buckets) == 6
    edges = [b.low for b in buckets] + [buckets[-1].high]
    assert edges[0] == costs.min() and edges[-1] == costs.max()
    ratios = np.diff(np.log(edges))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    sims = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
    for n, b in enumerate(buckets):
        upper = costs <= b.high if n == 5 else costs < b.high
        inside = np.flatnonzero((costs >= b.low) & upper)
        want = inside[np.argsort(-sims[inside], kind="stable")[:3]]
        assert [h.index for h in b.hits] == want.tolist()


def test_bucket_errors_name_the_field():
    idx = _line_index()
    with pytest.raises(RetrievalError, match=r"^no field 'flops' in this index to use as a cost; "
                       r"numeric fields: params$"):  # fmt: skip
        cost_buckets(idx, [1.0, 0.0], "flops")
    with pytest.raises(RetrievalError, match="^no numeric field 'family' in this index to use as"):
        pareto_front(idx, [1.0, 0.0], "family")
    with pytest.raises(RetrievalError, match="^no numeric field 'family'"):
        cost_buckets(idx, [1.0, 0.0], "family")
    assert cost_buckets(idx, [1.0, 0.0], "params", where="params > 1T") == []
