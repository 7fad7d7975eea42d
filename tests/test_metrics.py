"""archmotif.metrics against values computed by hand on small rankings."""

from __future__ import annotations

import math

import numpy as np
import pytest

import archmotif
from archmotif.errors import RetrievalError
from archmotif.metrics import average_precision, mrr, ndcg

L2, L3, L4, L5 = (1 / math.log2(r) for r in (2, 3, 4, 5))  # discounts of ranks 1..4


def test_exposed_lazily_on_the_package():
    assert archmotif.metrics.mrr is mrr


@pytest.mark.parametrize(
    ("rel", "k", "expected"),
    [
        ([1, 0, 0], 3, 1.0),
        ([0, 1, 0, 1], 4, 0.5),
        ([0, 0, 1], 3, 1 / 3),
        ([0, 0, 1], 2, 0.0),  # first hit beyond k
        ([0, 0, 0], 3, 0.0),
        ([], 5, 0.0),
        ([0, 1], 10, 0.5),  # fewer results than k
    ],
)
def test_mrr(rel, k, expected):
    assert mrr(rel, k) == pytest.approx(expected)


def test_average_precision_standard_hand_computed():
    # hits at ranks 2 and 4, three relevant items in the database
    assert average_precision([0, 1, 0, 1], 3, 4) == pytest.approx((1 / 2 + 2 / 4) / 3)
    # at k=2 only the hit at rank 2 counts, normalised by min(3, 2)
    assert average_precision([0, 1, 0, 1], 3, 2) == pytest.approx((1 / 2) / 2)
    # more relevant items than k: a perfect top-k still scores 1
    assert average_precision([1, 1], 10, 2) == pytest.approx(1.0)


def test_average_precision_fewer_relevant_than_k():
    # two relevant items, k=5: normalised by 2, not 5
    assert average_precision([1, 0, 1, 0, 0], 2, 5) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([1, 1, 0, 0, 0], 2, 5) == pytest.approx(1.0)


def test_ndcg_standard_hand_computed():
    dcg = L2 + L4  # hits at ranks 1 and 3 -> discounts 1/log2(2), 1/log2(4)
    assert ndcg([1, 0, 1, 0, 0], 2, 5) == pytest.approx(dcg / (L2 + L3))
    # ideal DCG truncated at k: three relevant, k=2
    assert ndcg([0, 1, 0, 1], 3, 2) == pytest.approx(L3 / (L2 + L3))
    assert ndcg([0, 1, 0, 1], 3, 4) == pytest.approx((L3 + L5) / (L2 + L3 + L4))
    assert ndcg([1, 1, 1], 3, 3) == pytest.approx(1.0)


def test_no_relevant_items_scores_zero():
    assert average_precision([0, 0], 0, 2) == 0.0
    assert ndcg([0, 0], 0, 2) == 0.0
    assert average_precision([], 0, 2, variant="paper") == 0.0


def test_paper_variant_normalisers():
    # AP divided by max(1, |GT|), not min(|GT|, k)
    assert average_precision([0, 1, 0, 1], 3, 2, variant="paper") == pytest.approx(0.5 / 3)
    # NDCG divided by the untruncated ideal DCG of all 3 relevant items
    assert ndcg([0, 1, 0, 1], 3, 2, variant="paper") == pytest.approx(L3 / (L2 + L3 + L4))
    # ... which is never below 0.3 (here it is 1.0 for one relevant item)
    assert ndcg([0, 0, 1], 1, 3, variant="paper") == pytest.approx(L4 / 1.0)
    # the paper's MAP falls as k grows only through the number of hits, never the normaliser
    big = [1] * 30
    assert average_precision(big, 30, 20, variant="paper") == pytest.approx(20 / 30)
    assert average_precision(big, 30, 20) == pytest.approx(1.0)


def test_accepts_bool_and_numpy_input():
    rel = np.array([False, True, True])
    assert mrr(rel, 3) == pytest.approx(0.5)
    assert average_precision(rel, 2, 3) == pytest.approx((1 / 2 + 2 / 3) / 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mrr([1, 0], 0), "k must be a positive integer"),
        (lambda: mrr([1, 0], 2.5), "k must be a positive integer"),
        (lambda: mrr([1, 2], 2), "result 1 has relevance 2"),
        (lambda: mrr([[1, 0]], 2), "must be 1-D"),
        (lambda: mrr(["a"], 2), "0/1 numbers"),
        (lambda: average_precision([1, 1, 0], 1, 3), "already holds 2 relevant"),
        (lambda: ndcg([1], -1, 3), "num_relevant must be a non-negative integer"),
        (lambda: ndcg([1], 1, 3, variant="nar"), "variant must be one of"),
    ],
)
def test_bad_input_raises_typed_error(call, message):
    with pytest.raises(RetrievalError, match=message):
        call()
    with pytest.raises(ValueError):  # callers catching ValueError keep working
        call()
