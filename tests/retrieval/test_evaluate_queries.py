"""evaluate_queries(): outside queries against a database, hand-computed on a tiny index."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif import metrics
from archmotif.errors import RetrievalError
from archmotif.retrieval.evaluate import evaluate_queries
from archmotif.retrieval.index import Index

# Database rows and labels: d0 A/x, d1 B/x, d2 C/y, d3 A2/x (A2: a second library name of
# design A, as torchvision's regnet is timm's regnetx).
_DB = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=np.float64)
_FAMILY, _COARSE = ["A", "B", "C", "A2"], ["x", "x", "y", "x"]
# q0 ranks d1, d3, d0, d2: its family {A, A2} first at rank 2, its coarse x at rank 1.
# q1 ranks d2 first. q2 = d0's direction ranks d0, d3, then d1 and d2 tie at 0: the tie
# goes to the lower index, so its coarse y (d2) sits at rank 4; its family Z is absent.
_Q = np.array([[0.1, 1, 0], [0, 0.2, 1], [1, 0, 0]], dtype=np.float64)
_TARGETS = [
    {"family": {"A", "A2"}, "coarse": {"x"}},
    {"family": {"C"}, "coarse": {"y"}},
    {"family": {"Z"}, "coarse": {"y"}},
]


def _graphs(n: int, prefix: str, labels=None) -> list[archmotif.OpGraph]:
    # node count = position + 1, so a stub encoder can tell the graphs apart blind
    return [
        archmotif.OpGraph(["input"] * (i + 1), None, name=f"{prefix}{i}",
                          labels=labels[i] if labels else {})
        for i in range(n)
    ]  # fmt: skip


def _database() -> list[archmotif.OpGraph]:
    return _graphs(
        4, "d", [{"family": f, "coarse": c} for f, c in zip(_FAMILY, _COARSE, strict=True)]
    )


def _check(res):
    fam, coarse = res["family"], res["coarse"]
    assert fam.num_queries == 2 and fam.extra["left_out"] == ["q2"]
    assert fam.metrics["MRR@10"] == pytest.approx((1 / 2 + 1) / 2)
    assert fam.metrics["HIT@1"] == pytest.approx(0.5)
    assert fam.metrics["HIT@5"] == 1.0
    assert [q["first_rank"] for q in fam.extra["queries"]] == [2, 1]
    assert fam.extra["queries"][0]["top"] == [1, 3, 0, 2]
    assert coarse.num_queries == 3 and coarse.extra["left_out"] == []
    assert coarse.metrics["MRR@10"] == pytest.approx((1 + 1 + 1 / 4) / 3)
    assert coarse.metrics["HIT@1"] == pytest.approx(2 / 3)
    assert coarse.metrics["HIT@5"] == 1.0 and coarse.metrics["HIT@3"] == pytest.approx(2 / 3)
    # q2's coarse item d2 is 4th only because the tie with d1 goes to the lower index
    assert [q["tied_above"] for q in coarse.extra["queries"]] == [0, 0, 1]
    assert [q["tied_above"] for q in fam.extra["queries"]] == [0, 0]
    # q0's family: relevant d3 (rank 2) and d0 (rank 3) of 2: AP@10 = (1/2 + 2/3) / 2
    assert fam.metrics["MAP@10"] == pytest.approx(((1 / 2 + 2 / 3) / 2 + 1) / 2)


def test_hand_computed_on_a_tiny_database():
    res = evaluate_queries(np.vstack([_DB, _Q]), _database(), _graphs(3, "q"), _TARGETS,
                           ks=(1, 3, 5, 10))  # fmt: skip
    _check(res)
    assert res["family"].protocol == "queries" and res["family"].num_classes == 4


class _Table:
    """A stub embedder: the row of a fixed table chosen by the graph's node count, and
    a record of everything it was shown."""

    name = "table"

    def __init__(self, rows):
        self.rows, self.seen = rows, []

    def fit(self, graphs, *, seed=0):
        self.seen += [("fit", g.name, dict(g.labels)) for g in graphs]
        return self

    def embed(self, graphs):
        self.seen += [("embed", g.name, dict(g.labels)) for g in graphs]
        return np.array([self.rows[g.num_nodes - 1] for g in graphs])


def test_an_embedder_is_fitted_on_the_database_only_and_blind():
    db_stub, q_stub = _Table(_DB), _Table(_Q)

    class Both(_Table):
        def embed(self, graphs):  # database graphs are named graph<i>, queries query<i>
            self.seen += [("embed", g.name, dict(g.labels)) for g in graphs]
            return np.array([(db_stub if g.name.startswith("graph") else q_stub).rows[
                g.num_nodes - 1] for g in graphs])  # fmt: skip

    both = Both(None)
    _check(evaluate_queries(both, _database(), _graphs(3, "q"), _TARGETS, ks=(1, 3, 5, 10)))
    fits = [s for s in both.seen if s[0] == "fit"]
    assert len(fits) == 4 and all(labels.keys() <= {"coarse"} for _, _, labels in fits)
    assert all(not labels for kind, name, labels in both.seen if name.startswith("query"))


def test_a_built_index_embeds_the_queries_with_its_encoder():
    meta = [{"name": f"d{i}", "family": f, "coarse": c}
            for i, (f, c) in enumerate(zip(_FAMILY, _COARSE, strict=True))]  # fmt: skip
    index = Index(_DB, meta, encoder=_Table(_Q))
    res = evaluate_queries(None, index, _graphs(3, "q"), _TARGETS, ks=(1, 3, 5, 10))
    _check(res)
    assert res["coarse"].num_train == 0


def test_hit_metric():
    assert metrics.hit([0, 0, 1], 2) == 0.0 and metrics.hit([0, 0, 1], 3) == 1.0
    assert metrics.hit([], 5) == 0.0


def test_errors():
    db, qs = _database(), _graphs(3, "q")
    with pytest.raises(RetrievalError, match="2 targets for 3 queries"):
        evaluate_queries(np.vstack([_DB, _Q]), db, qs, _TARGETS[:2])
    with pytest.raises(RetrievalError, match=r"want \[4 database \+ 3 queries, d\]"):
        evaluate_queries(_DB, db, qs, _TARGETS)
    with pytest.raises(RetrievalError, match="stores no encoder"):
        evaluate_queries(None, Index(_DB), qs, _TARGETS)


def test_queries_keep_their_operator_attributes():
    # Two designs that differ only in their kernels: at detail="attrs" a query of one
    # must find its own design first (queries were once blinded without attributes, so
    # every convolution of a query looked like a 1x1 one).
    from archmotif.learn.motif_bag import MotifBag

    def net(kernel: str, family: str, name: str) -> archmotif.OpGraph:
        ops = ["input", "convolution", "relu", "convolution", "relu", "add"]
        edges = [[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 5, 5]]
        return archmotif.OpGraph(ops, edges, name=name, labels={"family": family},
                                 attrs=["", kernel, "", kernel, "", ""])  # fmt: skip

    database = [net("k3", "three", "d0"), net("", "one", "d1"), net("k3", "three", "d2")]
    query = [net("k3", "three", "q0")]
    res = evaluate_queries(MotifBag(detail="attrs"), database, query, [{"family": {"three"}}])
    assert res["family"].extra["queries"][0]["top"][:2] == [0, 2]
    assert res["family"].metrics["MAP@10"] == 1.0


def test_methods_see_shapes_and_costs_but_no_names():
    # a method may read what tracing measured (Encoder(shape_features=True) does); it
    # never sees a model's name, its node names or its family
    def net(name: str, family: str) -> archmotif.OpGraph:
        return archmotif.OpGraph(
            ["input", "linear"], [[0], [1]], name=name, labels={"family": family},
            node_names=["x", "fc"], node_shapes=["1×8", "1×4"], node_flops=[0.0, 64.0],
            node_params=[0, 36],
        )  # fmt: skip

    seen = []

    class Spy:
        name = "spy"

        def fit(self, graphs, *, seed=0):
            return self

        def embed(self, graphs):
            seen.extend(graphs)
            return np.ones((len(graphs), 2))

    evaluate_queries(Spy(), [net("resnet50", "resnet"), net("vgg", "vgg")],
                     [net("mine", "resnet")], [{"family": {"resnet"}}])  # fmt: skip
    assert len(seen) == 3
    for g in seen:
        assert g.output_shapes() == ["1×8", "1×4"] and g.node_flops.tolist() == [0.0, 64.0]
        assert g.node_params.tolist() == [0, 36]
        assert g.node_names is None and "family" not in g.labels
        assert g.name.startswith(("graph", "query"))
