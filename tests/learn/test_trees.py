"""The Predictor's tree head as plain arrays (archmotif.learn.trees): it predicts what
scikit-learn's fitted model predicts, survives its payload, and a payload that could
loop or read outside the features is refused."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
torch = pytest.importorskip("torch")

from archmotif.errors import LearnError  # noqa: E402
from archmotif.learn.trees import TreeEnsemble, fit_trees  # noqa: E402


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((300, 6))
    y = 3 * x[:, 0] + np.sin(5 * x[:, 1]) + (x[:, 2] > 0.5) + rng.normal(0, 0.05, 300)
    return x, y


def test_trees_predict_what_scikit_learn_predicts(data):
    from sklearn.ensemble import HistGradientBoostingRegressor

    x, y = data
    gbm = HistGradientBoostingRegressor(min_samples_leaf=20, random_state=0).fit(x, y)
    trees = TreeEnsemble.from_sklearn(gbm, 6)
    test = np.random.default_rng(1).random((500, 6))
    test[::7, 2] = np.nan  # missing values follow the fitted side
    np.testing.assert_allclose(trees.predict(test), gbm.predict(test), rtol=0, atol=1e-12)
    assert len(trees.roots) == gbm.n_iter_


def test_fit_trees_follows_the_targets_and_is_seeded(data):
    x, y = data
    a, b = fit_trees(x, y, seed=0), fit_trees(x, y, seed=0)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert np.corrcoef(a.predict(x), y)[0, 1] > 0.95
    small = fit_trees(x[:24], y[:24], seed=0)  # leaves small enough to split 24 labels
    assert np.ptp(small.predict(x)) > 0


def test_payload_round_trip(data):
    x, y = data
    trees = fit_trees(x, y, seed=0)
    again = TreeEnsemble.from_payload(trees.to_payload(), 6)
    np.testing.assert_array_equal(again.predict(x), trees.predict(x))


def _tampered(trees: TreeEnsemble, key: str, at: int, value) -> dict:
    d = trees.to_payload()
    d[key] = d[key].clone()
    d[key][at] = value
    return d


def test_payloads_that_loop_or_read_elsewhere_are_refused(data):
    x, y = data
    trees = fit_trees(x, y, seed=0)
    inner = int(np.flatnonzero(trees.feature >= 0)[1])
    cases = {
        "after its node": _tampered(trees, "left", inner, inner),  # a loop
        "feature outside": _tampered(trees, "feature", inner, 6),
        "not finite": _tampered(trees, "value", 0, float("nan")),
        "roots": _tampered(trees, "roots", 1, 0),
    }
    second = int(trees.roots[1])  # a child in the next tree
    cases["in its tree"] = _tampered(trees, "right", 0, second + 1)
    for match, payload in cases.items():
        with pytest.raises(ValueError, match=match):
            TreeEnsemble.from_payload(payload, 6)
    with pytest.raises(ValueError, match="does not read the 7 features"):
        TreeEnsemble.from_payload(trees.to_payload(), 7)
    with pytest.raises(LearnError, match="reads 6 features"):
        trees.predict(x[:, :5])
