"""where= on Index.search and search: the two spellings, SI numbers, filtering before the
top-k on every exact method, and the errors for fields that cannot be filtered on."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif.errors import ArchmotifError, RetrievalError
from archmotif.retrieval.constraints import Condition, parse_si, parse_where
from archmotif.retrieval.index import Index, search


def _index(n=400, d=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    params = rng.integers(1_000, 100_000_000, size=n)
    meta = [
        {"name": f"m{i}", "params": str(int(p)), "coarse": ("cnn", "transformer")[i % 2]}
        for i, p in enumerate(params)
    ]
    meta[3].pop("params")  # one item without a cost
    meta[5]["params"] = "unknown"  # and one whose cost is not a number
    return x, params, Index(x, meta)


def _brute(x, q, keep, k):
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    sims = qn @ xn.T
    sims[:, ~keep] = -np.inf
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize(
    ("text", "value"),
    [("10M", 1e7), ("1.5G", 1.5e9), ("3e4", 3e4), ("2k", 2e3), ("7K", 7e3), (" 42 ", 42.0),
     ("1T", 1e12), (5, 5.0), ("abc", None), ("nan", None), ("inf", None), ("10m", None),
     (True, None), (None, None)],
)  # fmt: skip
def test_si_numbers(text, value):
    assert parse_si(text) == value


def test_the_two_spellings_mean_the_same():
    text = parse_where("params <= 10M and coarse == cnn and flops > 1.5G")
    mapping = parse_where({"params": ("<=", 10e6), "coarse": "cnn", "flops": (">", "1.5G")})
    assert (
        text
        == mapping
        == (
            Condition("params", "<=", 1e7),
            Condition("coarse", "==", "cnn"),
            Condition("flops", ">", 1.5e9),
        )
    )
    both = parse_where({"params": [(">=", "1M"), ("<", "2M")]})
    assert both == (Condition("params", ">=", 1e6), Condition("params", "<", 2e6))
    assert parse_where(None) == parse_where("") == parse_where({}) == ()


@pytest.mark.parametrize("method", ["numpy", "faiss"])
@pytest.mark.parametrize("limit", [2e6, 60e6])  # ~2% qualify (gathered), ~60% (masked)
def test_filtering_happens_before_the_top_k(method, limit):
    if method == "faiss":
        pytest.importorskip("faiss")
    x, params, idx = _index()
    q = np.random.default_rng(1).normal(size=(3, 16)).astype(np.float32)
    scores, ids = idx.search(q, k=10, where={"params": ("<=", limit)}, method=method)
    keep = params <= limit
    keep[[3, 5]] = False  # no number: never qualifies
    assert ids.shape == (3, min(10, keep.sum()))
    np.testing.assert_array_equal(ids, _brute(x, q, keep, ids.shape[1]))
    assert keep[ids].all() and (np.diff(scores, axis=1) <= 0).all()


def test_numeric_and_text_conditions_combine():
    x, params, idx = _index()
    q = x[:2]
    _, ids = idx.search(q, k=5, where="params > 50M and coarse != cnn")
    keep = (params > 50e6) & (np.arange(len(x)) % 2 == 1)
    keep[[3, 5]] = False
    np.testing.assert_array_equal(ids, _brute(x, q, keep, 5))


def test_an_impossible_budget_is_an_empty_result_not_an_error(toy):
    _, _, idx = _index()
    scores, ids = idx.search(np.ones((2, 16)), k=10, where="params < 1")
    assert scores.shape == ids.shape == (2, 0)
    assert search(toy[0], idx, k=3, encoder=_Identity(), where="params < 1") == []


class _Identity:
    def embed(self, graphs):
        return np.ones((len(graphs), 16), dtype=np.float32)


def test_fewer_qualifying_than_k_returns_all_of_them():
    _, _, idx = _index()
    _, ids = idx.search(np.ones(16), k=10, where={"name": "m7"})
    assert ids.tolist() == [[7]]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("flops <= 1G", "no field 'flops' in this index; fields: coarse, name, params"),
        ({"coarse": ("<=", 3)}, "field 'coarse' is not numeric .* numeric fields: params"),
        ("coarse < cnn", "compares text with '<'"),
        ("params is small", "cannot read 'params is small'"),
        ({"params": ("=~", 3)}, "operator '=~'"),
        (42, "where must be a mapping"),
        ({"coarse": ["cnn", "transformer"]}, "maps to a list of values"),
    ],
)
def test_bad_where_names_the_field_and_what_exists(where, message):
    _, _, idx = _index(n=20)
    with pytest.raises(RetrievalError, match=message) as err:
        idx.search(np.ones(16), k=3, where=where)
    assert isinstance(err.value, ArchmotifError) and isinstance(err.value, ValueError)
    assert err.type is archmotif.RetrievalError


def test_numeric_columns_are_read_once_per_index():
    _, _, idx = _index(n=50)
    idx.search(np.ones(16), k=3, where="params <= 1G")
    col = idx.columns.numeric("params")
    idx.search(np.ones(16), k=3, where="params <= 2G")
    assert idx.columns.numeric("params") is col
    assert np.isnan(col[[3, 5]]).all() and not np.isnan(np.delete(col, [3, 5])).any()


def test_builtin_graphs_carry_a_params_label_that_where_reads():
    graphs = archmotif.datasets.load("builtin")
    meta = [{"name": g.name, **g.labels} for g in graphs]
    idx = Index(np.eye(len(graphs), dtype=np.float32), meta)
    small = {g.name for g in graphs if float(g.labels["params"]) <= 10e6}
    assert 0 < len(small) < len(graphs)
    _, ids = idx.search(np.ones(len(graphs)), k=len(graphs), where="params <= 10M")
    assert {idx.metadata[i]["name"] for i in ids[0]} == small
