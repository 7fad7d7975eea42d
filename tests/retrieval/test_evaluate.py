"""evaluate(): protocols, ranking ties, hand-computed aggregates, label hygiene."""

from __future__ import annotations

import math

import numpy as np
import pytest

import archmotif
from archmotif.errors import RetrievalError
from archmotif.learn.wl import WLBaseline
from archmotif.retrieval.evaluate import evaluate, inductive_split


def _labelled(classes):
    return [
        archmotif.OpGraph(["input"], None, name=f"g{i}", labels={"family": c, "coarse": "x"})
        for i, c in enumerate(classes)
    ]


def test_hand_computed_means_with_a_tie():
    # classes A: 0, 1 and B: 2, 3. For query 0, graphs 1 and 3 tie at score 0: the tie goes
    # to the lower index, so the ranking is 2, 1, 3 and the first hit sits at rank 2.
    z = np.array([[1, 0], [0, 1], [1, 0.1], [0, 1]], dtype=np.float64)
    graphs = _labelled("AABB")
    l3 = 1 / math.log2(3)
    r2 = evaluate(z, graphs, ks=(2,))
    assert r2.method == "precomputed" and r2.num_queries == 4
    assert r2.metrics["MRR@2"] == pytest.approx(0.25)
    assert r2.metrics["MAP@2"] == pytest.approx(0.25)
    assert r2.metrics["NDCG@2"] == pytest.approx(l3 / 2)
    r3 = evaluate(z, graphs, ks=(3,))
    assert r3.metrics["MRR@3"] == pytest.approx((0.5 + 1 / 3 + 1 / 3 + 0.5) / 4)
    assert r3.metrics["MAP@3"] == pytest.approx((0.5 + 1 / 3 + 1 / 3 + 0.5) / 4)
    assert r3.metrics["NDCG@3"] == pytest.approx((2 * l3 + 2 * 0.5) / 4)


def test_paper_variant_counts_the_query_in_the_ground_truth():
    z = np.array([[1, 0], [1, 0.01], [0, 1], [0.01, 1]], dtype=np.float64)
    r = evaluate(z, _labelled("AABB"), ks=(1,), variant="paper")
    # every query finds its one partner first; the paper divides AP by |GT| = 2
    assert r.metrics["MRR@1"] == 1.0 and r.metrics["MAP@1"] == pytest.approx(0.5)
    assert evaluate(z, _labelled("AABB"), ks=(1,)).metrics["MAP@1"] == 1.0


def test_singleton_classes_are_not_queries():
    z = np.eye(5)
    r = evaluate(z, _labelled("AABBC"), ks=(2,))
    assert r.num_queries == 4 and r.num_classes == 3


@pytest.mark.parametrize("protocol", ["transductive", "inductive"])
def test_wl_retrieves_the_own_family_first_on_the_toy_corpus(toy, protocol):
    r = evaluate(WLBaseline(dim=16), toy, protocol=protocol, ks=(1, 5))
    assert r.method == "wl" and r.metrics["MRR@5"] == 1.0 and r.metrics["MRR@1"] == 1.0
    assert r.fit_seconds > 0 and r.embed_seconds > 0 and r.dim == 16
    assert r.num_train == (len(toy) if protocol == "transductive" else len(toy) - 6)


class _Spy:
    """Records what an embedder is shown."""

    name = "spy"

    def __init__(self):
        self.seen = []

    def fit(self, graphs, *, seed=0):
        self.seen += [("fit", g.name, dict(g.labels), g.node_names) for g in graphs]
        return self

    def embed(self, graphs):
        self.seen += [("embed", g.name, dict(g.labels), g.node_names) for g in graphs]
        return np.random.default_rng(0).normal(size=(len(graphs), 4))


def test_methods_never_see_the_relevance_label_or_the_name(toy):
    spy = _Spy()
    r = evaluate(spy, toy, protocol="inductive", seed=3)
    fits = [s for s in spy.seen if s[0] == "fit"]
    assert len(fits) == r.num_train < len(toy)
    for _, name, labels, node_names in spy.seen:
        assert labels.keys() == {"coarse"} and name.startswith("graph") and node_names is None


def test_inductive_split_is_stratified_and_seeded():
    classes = list("AAAABBBCCD")
    train, held = inductive_split(classes, seed=0)
    assert sorted(train.tolist() + held.tolist()) == list(range(10))
    for c in "ABC":
        members = {i for i, x in enumerate(classes) if x == c}
        assert members & set(train.tolist()) and members & set(held.tolist())
    assert 9 in train  # the one-member class stays in training
    again, _ = inductive_split(classes, seed=0)
    other = [inductive_split(classes, seed=s)[1].tolist() for s in range(1, 6)]
    assert np.array_equal(train, again) and any(o != held.tolist() for o in other)


def test_errors(toy):
    with pytest.raises(RetrievalError, match="protocol must be one of"):
        evaluate(np.eye(len(toy)), toy, protocol="loo")
    with pytest.raises(RetrievalError, match="lack the relevance label 'genotype'"):
        evaluate(np.eye(len(toy)), toy, relevance="genotype")
    with pytest.raises(RetrievalError, match="shape"):
        evaluate(np.eye(3), toy)
    with pytest.raises(RetrievalError, match="has no fit"):
        evaluate(object(), toy)
    with pytest.raises(RetrievalError, match="no query"):
        evaluate(np.eye(3), _labelled("ABC"))


def test_every_named_method_builds_with_the_settings_it_names():
    # a method is a name in `archmotif eval --methods` and `index build --method`; a
    # typo in its settings would only show when somebody ran it
    from archmotif.experiments.methods import METHODS
    from archmotif.experiments.retrieval_report import make_method

    for name, (_, _, kwargs) in METHODS.items():
        method = make_method(name, detail="attrs")
        config = getattr(method, "config", None)
        if config is not None:  # the encoders: every setting reached the config
            assert {k: config[k] for k in kwargs} == kwargs, name
    assert make_method("ours-rewrites-shapes").config["shape_features"] is True
