"""archmotif.Predictor on a tiny NAS-Bench-201 subset: shapes, determinism for a seed,
the file round trip, invariance to node numbering, and typed errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from archmotif import FormatError, InvalidArgument, OpGraph
from archmotif.datasets import nasbench201 as nb
from archmotif.errors import LearnError

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from archmotif.learn.encoder import Encoder  # noqa: E402
from archmotif.learn.predictor import Predictor  # noqa: E402


def permuted(g: OpGraph, seed: int) -> OpGraph:
    """``g`` with its nodes renumbered at random (an isomorphic graph)."""
    p = np.random.default_rng(seed).permutation(g.num_nodes)
    ops = np.empty_like(g.ops)
    ops[p] = g.ops
    attrs = None if g.attrs is None else np.empty_like(g.attrs)
    if attrs is not None:
        attrs[p] = g.attrs
    return OpGraph(ops, p[g.edges], op_names=g.op_names, attrs=attrs, attr_names=g.attr_names)


N = 48  # networks in the space; the first TRAIN are labelled
TRAIN = 24
QUICK = {"steps": 15, "members": 2, "pretrain_steps": 50}


@pytest.fixture(scope="module")
def space() -> tuple[list[OpGraph], np.ndarray]:
    graphs = nb.generate(N, with_accuracy=False)
    # a target every network has without the accuracy package: a function of its cell
    y = np.array([float(g.view("attrs").op_counts().get("convolution[k3]", 0)) for g in graphs])
    y += np.array([0.1 * g.num_nodes for g in graphs])
    return graphs, y


@pytest.fixture(scope="module")
def encoder(space) -> Encoder:
    graphs, _ = space
    enc = Encoder(detail="attrs", hidden=16, out=16, stage1_epochs=1, stage2_epochs=2)
    enc.progress = False
    return enc.fit(graphs, seed=0)


@pytest.fixture(scope="module")
def fitted(space, encoder) -> Predictor:
    graphs, y = space
    return Predictor(encoder, **QUICK).fit(graphs[:TRAIN], y[:TRAIN], seed=0)


def test_predict_gives_one_finite_number_per_graph(space, fitted):
    graphs, _y = space
    out = fitted.predict(graphs[TRAIN:])
    assert out.shape == (N - TRAIN,) and out.dtype == np.float64
    assert np.isfinite(out).all()
    assert fitted.predict([]).shape == (0,)
    assert fitted.predict(graphs[0]).shape == (1,)  # one graph alone


def test_predictions_follow_the_targets(space, fitted):
    """On the labelled graphs themselves the fitted order is the targets' order, mostly."""
    from scipy.stats import kendalltau

    graphs, y = space
    assert kendalltau(fitted.predict(graphs[:TRAIN]), y[:TRAIN]).statistic > 0.5


def test_same_seed_same_predictions_other_seed_other(space, encoder, fitted):
    graphs, y = space
    again = Predictor(encoder, **QUICK).fit(graphs[:TRAIN], y[:TRAIN], seed=0)
    np.testing.assert_array_equal(again.predict(graphs), fitted.predict(graphs))
    # the MLP heads start from the seed (scikit-learn's boosting draws nothing here)
    mlp = Predictor(encoder, head="mlp", **QUICK)
    one, other = (mlp.fit(graphs[:TRAIN], y[:TRAIN], seed=s).predict(graphs) for s in (0, 1))
    assert not np.array_equal(one, other)


def test_node_numbering_does_not_change_a_prediction(space, fitted):
    graphs, _ = space
    g = graphs[TRAIN + 1]
    assert fitted.predict([permuted(g, 3)])[0] == pytest.approx(fitted.predict([g])[0], abs=1e-9)


def test_targets_that_span_decades_are_fitted_as_logarithms(space, encoder, fitted, tmp_path):
    """Positive targets over several orders of magnitude (parameter counts, FLOPs) come
    back positive and in order; the file keeps how they were fitted. Targets in one
    range (the fixture's) stay in plain units."""
    from scipy.stats import kendalltau

    graphs, y = space
    big = 10.0 ** (y / y.max() * 4)  # 1 to 10^4, a monotone function of the plain targets
    p = Predictor(encoder, **QUICK).fit(graphs[:TRAIN], big[:TRAIN], seed=0)
    out = p.predict(graphs)
    assert (out > 0).all()
    assert kendalltau(out[:TRAIN], big[:TRAIN]).statistic > 0.5
    # the ranking is what it is in plain units: the logarithm is monotone
    assert kendalltau(out, fitted.predict(graphs)).statistic > 0.5
    p.save(tmp_path / "log.npz")
    np.testing.assert_allclose(Predictor.load(tmp_path / "log.npz").predict(graphs), out,
                               rtol=1e-6)  # fmt: skip
    assert p._log and not fitted._log
    # a target at or below zero keeps plain units, however wide the range
    shifted = big - big[:TRAIN].min()
    assert not Predictor(encoder, **QUICK).fit(graphs[:TRAIN], shifted[:TRAIN])._log


def test_save_load_round_trip_predicts_the_same(space, fitted, tmp_path):
    graphs, _ = space
    p = tmp_path / "pred.npz"
    fitted.save(p)
    loaded = Predictor.load(p)
    np.testing.assert_array_equal(loaded.predict(graphs), fitted.predict(graphs))
    assert loaded.config == fitted.config


def test_predictor_without_encoder_pretrains_on_labelled_and_unlabelled(space):
    graphs, y = space
    pred = Predictor(
        encoder_settings={"hidden": 8, "out": 8, "stage1_epochs": 1, "stage2_epochs": 1},
        **QUICK,
    ).fit(graphs[:8], y[:8], unlabelled=graphs[8:])
    assert len(pred.encoder._graphs) == N  # every graph, labelled or not, pretrained on
    assert pred.encoder.detail == "attrs" == pred.config["detail"]
    assert pred.predict(graphs).shape == (N,)


def test_encoder_from_a_file(space, encoder, tmp_path):
    graphs, y = space
    encoder.save(tmp_path / "enc.npz")
    pred = Predictor(tmp_path / "enc.npz", **QUICK).fit(graphs[:TRAIN], y[:TRAIN])
    assert np.isfinite(pred.predict(graphs)).all()


@pytest.mark.parametrize(
    ("targets", "match"),
    [
        (np.zeros(TRAIN - 1), "24 graphs but 23 targets"),
        (np.r_[np.nan, np.arange(TRAIN - 1.0)], "target 0 is nan"),
        (np.r_[np.inf, np.arange(TRAIN - 1.0)], "target 0 is inf"),
        (np.ones(TRAIN), "different targets"),
        (np.zeros((TRAIN, 2)), "one number per graph"),
        (["a"] * TRAIN, "targets must be numbers"),
    ],
)
def test_bad_targets_are_typed_errors(space, encoder, targets, match):
    graphs, _ = space
    with pytest.raises(InvalidArgument, match=match) as e:
        Predictor(encoder, **QUICK).fit(graphs[:TRAIN], targets)
    assert isinstance(e.value, ValueError)


def test_bad_graphs_and_calls_are_typed_errors(space, encoder, tmp_path):
    graphs, _y = space
    with pytest.raises(InvalidArgument, match="at least two labelled graphs, got none"):
        Predictor(encoder, **QUICK).fit([], [])
    with pytest.raises(InvalidArgument, match=r"graphs\[1\] is str"):
        Predictor(encoder, **QUICK).fit([graphs[0], "resnet"], [1.0, 2.0])
    with pytest.raises(LearnError, match="before fit"):
        Predictor(encoder).predict(graphs)
    with pytest.raises(LearnError, match="before fit"):
        Predictor(encoder).save(tmp_path / "x.npz")
    with pytest.raises(InvalidArgument, match="members must be an integer"):
        Predictor(encoder, members=0)
    with pytest.raises(InvalidArgument, match="detail"):
        Predictor(encoder, detail="kernels")
    with pytest.raises(InvalidArgument, match="the encoder takes graphs at detail='attrs'"):
        Predictor(encoder, detail="op")
    with pytest.raises(InvalidArgument, match="encoder_settings: unknown"):
        Predictor(encoder_settings={"checkpoint": "/tmp/x"})
    with pytest.raises(InvalidArgument, match="encoder must be"):
        Predictor(encoder=3)  # type: ignore[arg-type]


def test_an_encoder_file_is_not_a_predictor_file(encoder, tmp_path):
    encoder.save(tmp_path / "enc.npz")
    with pytest.raises(FormatError, match="not an archmotif predictor"):
        Predictor.load(tmp_path / "enc.npz")


@pytest.mark.parametrize("features", ["graph", "motifs+graph+bag"])
def test_other_features_fit_and_round_trip(space, encoder, tmp_path, features):
    graphs, y = space
    pred = Predictor(encoder, features=features, **QUICK).fit(graphs[:TRAIN], y[:TRAIN])
    dim = {"graph": 16, "motifs+graph+bag": 32 + len(pred._columns)}[features]
    assert pred.features(graphs[:3]).shape == (3, dim)
    pred.save(tmp_path / "p.npz")
    np.testing.assert_array_equal(
        Predictor.load(tmp_path / "p.npz").predict(graphs), pred.predict(graphs)
    )


def test_motif_means_view_graphs_at_the_encoders_detail(space, encoder):
    graphs, _ = space
    raw, viewed = (
        encoder.motif_means(graphs[:4]),
        encoder.motif_means([g.view("attrs") for g in graphs[:4]]),
    )
    np.testing.assert_array_equal(raw, viewed)
    np.testing.assert_array_equal(
        encoder.embed_dense(graphs[:4]), encoder.embed_halves(graphs[:4])[0]
    )


def test_auto_head_picks_a_tree_share_from_the_labelled_graphs_alone(space, fitted):
    from archmotif.learn.predictor import MIXES

    assert fitted.config["head"] == "auto"  # the default
    assert set(fitted.mix_scores) == set(MIXES)
    best = max(fitted.mix_scores.values())
    assert fitted.mix_scores[fitted._mix] == best
    assert fitted._mix == min(w for w, s in fitted.mix_scores.items() if s == best)
    assert (fitted._trees is not None) == (fitted._mix > 0)
    assert bool(fitted._heads) == (fitted._mix < 1)


@pytest.mark.parametrize("head", ["mlp", "trees"])
def test_one_head_alone_fits_predicts_and_round_trips(space, encoder, tmp_path, head):
    from scipy.stats import kendalltau

    graphs, y = space
    pred = Predictor(encoder, head=head, **QUICK).fit(graphs[:TRAIN], y[:TRAIN], seed=0)
    assert (pred._trees is None, bool(pred._heads)) == {
        "mlp": (True, True),
        "trees": (False, False),
    }[head]
    assert kendalltau(pred.predict(graphs[:TRAIN]), y[:TRAIN]).statistic > 0.5
    pred.save(tmp_path / "p.npz")
    loaded = Predictor.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(loaded.predict(graphs), pred.predict(graphs))
    assert loaded.config["head"] == head
    g = graphs[TRAIN + 2]
    assert pred.predict([permuted(g, 5)])[0] == pytest.approx(pred.predict([g])[0], abs=1e-9)


def test_the_tree_head_is_saved_as_arrays_without_scikit_learn(space, encoder, tmp_path):
    import sys

    graphs, y = space
    pred = Predictor(encoder, head="trees", **QUICK).fit(graphs[:TRAIN], y[:TRAIN])
    pred.save(tmp_path / "p.npz")
    saved = {k: v for k, v in sys.modules.items() if k == "sklearn" or k.startswith("sklearn.")}
    try:
        for k in saved:
            sys.modules[k] = None  # type: ignore[assignment]  # import sklearn now fails
        loaded = Predictor.load(tmp_path / "p.npz")
        np.testing.assert_array_equal(loaded.predict(graphs), pred.predict(graphs))
    finally:
        sys.modules.update(saved)


def test_a_file_from_before_the_tree_head_loads_as_mlp(space, fitted, tmp_path):
    import json

    from archmotif.learn import encoder_file, predictor_file

    graphs, y = space
    mlp = Predictor(fitted.encoder, head="mlp", features="motifs", **QUICK)
    mlp.fit(graphs[:TRAIN], y[:TRAIN])
    config = {k: v for k, v in mlp.config.items() if k != "head"}  # as files before it
    encoder_file.write(
        tmp_path / "old.npz",
        predictor_file.PREDICTOR_FORMAT,
        {
            "config": json.dumps(config),
            "encoder": mlp.encoder.to_payload(),
            "columns": json.dumps(mlp._columns.tolist()),
            "mean": torch.from_numpy(mlp._scale[0]),
            "std": torch.from_numpy(mlp._scale[1]),
            "target": json.dumps(list(mlp._y)),
            "heads": [h.state_dict() for h in mlp._heads],
        },
    )
    old = Predictor.load(tmp_path / "old.npz")
    assert old.config["head"] == "mlp" and old._trees is None
    np.testing.assert_array_equal(old.predict(graphs), mlp.predict(graphs))


def test_a_bad_head_is_a_typed_error(encoder):
    with pytest.raises(InvalidArgument, match="head must be one of"):
        Predictor(encoder, head="forest")


def test_the_flops_of_the_encoders_corpus_reach_the_predictor(space):
    # the surrogates include FLOPs (total and along the path) when the graphs carry them;
    # the encoder renumbers its corpus, which once dropped every node's FLOPs, so a
    # predictor over a fitted encoder read none
    graphs, y = space
    assert all(g.node_flops is not None for g in graphs)
    bare = [OpGraph(g.ops, g.edges, op_names=g.op_names, attrs=g.attrs,
                    attr_names=g.attr_names) for g in graphs]  # fmt: skip
    widths = []
    for gs in (graphs, bare):
        enc = Encoder(detail="attrs", hidden=16, out=16, stage1_epochs=1, stage2_epochs=1)
        enc.progress = False
        enc.fit(gs, seed=0)
        pred = Predictor(enc, head="trees", **QUICK).fit(gs[:TRAIN], y[:TRAIN], seed=0)
        widths.append(pred.features(gs[:2]).shape[1])
    assert widths[0] == widths[1] + 2  # the two FLOPs columns
