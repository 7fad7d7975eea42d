"""archmotif.Encoder: training reduces both losses, embeddings are deterministic,
invariant to node numbering, survive save/load and checkpoint resumption, and retrieve a
graph's own family first on a toy corpus."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import archmotif
from archmotif.learn.encoder import Encoder


@pytest.fixture(scope="module")
def fitted(toy, small):
    return Encoder(**small).fit(toy, seed=0)


def test_both_losses_decrease(fitted):
    s1, s2 = fitted.history["stage1"], fitted.history["stage2"]
    assert len(s1) == 10 and len(s2) == 30
    assert np.mean(s1[-3:]) < 0.8 * np.mean(s1[:3])
    assert np.mean(s2[-3:]) < 0.8 * np.mean(s2[:3])


def test_embeddings_are_float32_unit_rows(fitted, toy):
    z = fitted.embed(toy)
    assert fitted.dim == 32 + len(fitted._vocabulary().vocabulary)  # dense + one per motif
    assert z.dtype == np.float32 and z.shape == (len(toy), fitted.dim)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)


def test_hybrid_similarity_blends_the_dense_and_the_bag_cosines(fitted, toy):
    from archmotif.learn.encoder import similarity_spread
    from archmotif.learn.motif_bag import MotifBag

    z = fitted.embed(toy)
    dense = copy.copy(fitted)
    dense.config = {**fitted.config, "bag_weight": 0.0}
    d = dense.embed(toy)
    assert d.shape == (len(toy), 32) and dense.dim == 32
    b = MotifBag().fit(toy).embed(toy)  # the same vocabulary, the same TF-IDF
    # each half is scaled by the spread of its cosines over the training graphs (toy)
    sd, sb = similarity_spread(d), similarity_spread(b)
    assert fitted.spreads == pytest.approx((sd, sb), rel=1e-4)
    a, c = 1 / sd, fitted.config["bag_weight"] ** 2 / sb
    np.testing.assert_allclose(z @ z.T, (a * (d @ d.T) + c * (b @ b.T)) / (a + c), atol=1e-5)
    # the halves fused at another weight give what an encoder of that weight embeds
    from archmotif.learn.encoder import fuse

    hd, hb = fitted.embed_halves(toy)
    np.testing.assert_allclose(hd, d, atol=1e-6)
    np.testing.assert_allclose(hb, b, atol=1e-6)
    np.testing.assert_array_equal(fuse(hd, hb, fitted.spreads, fitted.config["bag_weight"]), z)
    heavy = copy.copy(fitted)
    heavy.config = {**fitted.config, "bag_weight": 3.0}
    np.testing.assert_array_equal(fuse(hd, hb, fitted.spreads, 3.0), heavy.embed(toy))
    assert not np.allclose(heavy.embed(toy), z)
    with pytest.raises(ValueError, match="bag_weight"):
        Encoder(bag_weight=-1.0)


def test_similarity_spread_is_the_std_of_distinct_pair_cosines():
    from archmotif.learn.encoder import similarity_spread

    z = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # pair cosines 0, 1, 0
    assert similarity_spread(z) == pytest.approx(np.std([0.0, 1.0, 0.0]))
    assert similarity_spread(z[:1]) == 1.0  # nothing to measure
    assert similarity_spread(np.ones((4, 2)) / np.sqrt(2)) == 1.0  # all pairs alike


def test_own_family_is_retrieved_first(fitted, toy):
    z = fitted.embed(toy)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    fam = np.array([g.labels["family"] for g in toy])
    assert (fam[sim.argmax(axis=1)] == fam).all()


def test_isomorphic_graphs_embed_identically(fitted, toy, permute):
    graphs = [toy[0], toy[5], toy[10]]
    a = fitted.embed(graphs)
    for seed in (1, 2):
        b = fitted.embed([permute(g, seed) for g in graphs])
        # equal up to float summation order inside message passing
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_same_seed_same_embeddings_other_seed_differs(toy, small):
    a = Encoder(**small).fit(toy, seed=3).embed(toy)
    b = Encoder(**small).fit(toy, seed=3).embed(toy)
    c = Encoder(**small).fit(toy, seed=4).embed(toy)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_unsupervised_mode_fits_and_retrieves(toy, small):
    enc = Encoder(**{**small, "use_labels": False}).fit(toy)
    z = enc.embed(toy)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    fam = np.array([g.labels["family"] for g in toy])
    assert (fam[sim.argmax(axis=1)] == fam).mean() >= 0.75
    assert enc.history["stage2"][-1] < enc.history["stage2"][0]


def test_unknown_ops_and_motifs_are_embedded(fitted):
    g = archmotif.OpGraph.from_edges(
        ["input", "never_seen_op", "linear", "gelu", "never_seen_op"],
        [(0, 1), (1, 2), (2, 3), (3, 4)],
    )
    z = fitted.embed([g])
    assert z.shape == (1, fitted.dim) and np.isfinite(z).all()
    assert abs(float(np.linalg.norm(z)) - 1.0) < 1e-5


def test_save_load_round_trip(fitted, toy, tmp_path):
    path = tmp_path / "enc.pt"
    fitted.save(path)
    loaded = Encoder.load(path, progress=False)
    np.testing.assert_array_equal(loaded.embed(toy), fitted.embed(toy))
    assert loaded.config == fitted.config


def test_a_loaded_encoder_embeds_without_mining_and_old_files_still_load(
    fitted, toy, tmp_path, monkeypatch
):
    """The file carries the fitted Mined; a version-2 file (its training graphs only)
    loads and mines them again on first use, to the same embeddings."""
    from archmotif.learn import data, encoder, encoder_file

    path, old = tmp_path / "enc.pt", tmp_path / "old.pt"
    fitted.save(path)
    d = encoder_file.read(str(path), encoder_file.ENCODER_FORMAT)
    mined = d.pop("mined")
    encoder_file.write(old, encoder_file.ENCODER_FORMAT, {**d, "corpus": data.pack_graphs(
        archmotif.Mined.from_bytes(mined.numpy().tobytes()).graphs)})  # fmt: skip
    want = fitted.embed(toy)

    def no_mining(*a, **k):
        raise AssertionError("a loaded encoder mined again")

    with monkeypatch.context() as m:
        m.setattr(encoder, "mine", no_mining)
        np.testing.assert_array_equal(Encoder.load(path, progress=False).embed(toy), want)
    np.testing.assert_array_equal(Encoder.load(old, progress=False).embed(toy), want)


def test_a_file_from_before_the_hybrid_embedding_loads_dense(fitted, toy, tmp_path):
    from archmotif.learn import encoder_file

    path, old = tmp_path / "enc.pt", tmp_path / "old.pt"
    fitted.save(path)
    d = encoder_file.read(str(path), encoder_file.ENCODER_FORMAT)
    config = json.loads(d["config"])
    del config["bag_weight"]
    encoder_file.write(old, encoder_file.ENCODER_FORMAT, {**d, "config": json.dumps(config)})
    loaded = Encoder.load(old, progress=False)
    assert loaded.config["bag_weight"] == 0.0 and loaded.embed(toy).shape == (len(toy), 32)


def test_a_file_without_spreads_measures_them_again(fitted, toy, tmp_path):
    from archmotif.learn import encoder_file

    path, old, bad = tmp_path / "enc.pt", tmp_path / "old.pt", tmp_path / "bad.pt"
    fitted.save(path)
    d = encoder_file.read(str(path), encoder_file.ENCODER_FORMAT)
    assert json.loads(d.pop("spreads")) == pytest.approx(list(fitted.spreads))
    encoder_file.write(old, encoder_file.ENCODER_FORMAT, d)
    np.testing.assert_allclose(
        Encoder.load(old, progress=False).embed(toy), fitted.embed(toy), atol=1e-6
    )
    encoder_file.write(bad, encoder_file.ENCODER_FORMAT, {**d, "spreads": "[0.5, -1]"})
    with pytest.raises(archmotif.FormatError, match="spreads"):
        Encoder.load(bad, progress=False)


def test_corrupt_foreign_and_future_files_raise_format_error(fitted, tmp_path):
    import torch

    from archmotif.learn import encoder_file

    path = tmp_path / "enc.pt"
    fitted.save(path)
    raw = bytearray(path.read_bytes())
    bad = tmp_path / "bad.pt"
    for mutate in (lambda b: b[: len(b) // 2], lambda b: b[:2000] + bytes(64) + b[2064:]):
        bad.write_bytes(bytes(mutate(raw)))
        with pytest.raises(archmotif.FormatError, match="bad.pt"):
            Encoder.load(bad)
    torch.save({"weights": torch.zeros(3)}, bad)
    with pytest.raises(
        archmotif.FormatError, match="a pickled torch file, not an archmotif encoder"
    ):
        Encoder.load(bad)
    encoder_file.write(bad, encoder_file.ENCODER_FORMAT, {})
    with np.load(bad) as z:
        arrays = {k: z[k] for k in z.files}
    h = json.loads(arrays["header"].tobytes())
    h["version"] = encoder_file.FILE_VERSION + 1
    arrays["header"] = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    with open(bad, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(archmotif.FormatError, match="newer"):
        Encoder.load(bad)


def test_encoder_file_holds_no_pickle_and_round_trips_every_payload_kind(tmp_path):
    """The payload kinds training writes (state dicts, optimiser states keyed by int,
    tuples, non-finite floats, bfloat16 and empty tensors) come back equal, from a plain
    .npz that numpy reads with pickles refused."""
    import torch

    from archmotif.learn import encoder_file

    lin = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(lin.parameters(), lr=0.1)
    lin(torch.ones(1, 3)).sum().backward()
    opt.step()
    payload = {
        "opt": opt.state_dict(),
        "t": torch.arange(6, dtype=torch.bfloat16).reshape(2, 3),
        "empty": torch.zeros(0, 4),
        "scalar": torch.tensor(3.5),
        "mixed": [1, "a", None, True, (2.5, float("inf"), float("nan"))],
        "byte": torch.Generator().manual_seed(0).get_state(),
    }
    path = tmp_path / "x.pt"
    encoder_file.write(path, encoder_file.CHECKPOINT_FORMAT, payload)
    with np.load(path, allow_pickle=False) as z:
        assert all(z[k].dtype == np.uint8 for k in z.files)
    back = encoder_file.read(path, encoder_file.CHECKPOINT_FORMAT)
    assert torch.equal(back["t"], payload["t"]) and back["t"].dtype == torch.bfloat16
    assert back["empty"].shape == (0, 4) and back["scalar"].item() == 3.5
    assert torch.equal(back["byte"], payload["byte"])
    m = back["mixed"]
    assert m[:4] == [1, "a", None, True] and m[4][:2] == (2.5, float("inf")) and m[4][2] != m[4][2]
    assert back["opt"]["param_groups"] == payload["opt"]["param_groups"]
    assert set(back["opt"]["state"]) == {0, 1}  # int keys stay ints
    lin2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.Adam(lin2.parameters(), lr=0.1)
    opt2.load_state_dict(back["opt"])  # what resuming from a checkpoint does
    assert torch.equal(
        opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"]
    )


def test_version_1_encoder_file_upgrades_explicitly(fitted, tmp_path):
    """A version-1 file (a torch.save pickle) is refused by load and converted by
    upgrade(), the one call that unpickles, on a file the user trusts."""
    import hashlib
    import io

    import torch

    from archmotif.learn import encoder_file

    new = tmp_path / "new.pt"
    fitted.save(new)
    inner = encoder_file.read(new, encoder_file.ENCODER_FORMAT)
    buf = io.BytesIO()
    torch.save(inner, buf)
    data = buf.getvalue()
    old = tmp_path / "old.pt"
    torch.save(
        {
            "format": encoder_file.ENCODER_FORMAT,
            "version": 1,
            "sha256": hashlib.sha256(data).hexdigest(),
            "payload": torch.frombuffer(bytearray(data), dtype=torch.uint8),
        },
        old,
    )
    with pytest.raises(archmotif.FormatError, match="upgrade"):
        Encoder.load(old)
    encoder_file.upgrade(old)
    toy = archmotif.datasets.load("builtin")[:3]
    np.testing.assert_array_equal(Encoder.load(old).embed(toy), fitted.embed(toy))


def test_embed_before_fit_raises():
    with pytest.raises(archmotif.errors.LearnError, match="before fit"):
        Encoder(progress=False).embed([])
    with pytest.raises(archmotif.errors.LearnError, match="before fit"):
        Encoder(progress=False).embed_halves([])
    with pytest.raises(archmotif.errors.LearnError, match="before fit"):
        _ = Encoder(progress=False).spreads


def test_resume_from_checkpoint_equals_uninterrupted_run(toy, small, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    short = Encoder(**{**small, "stage2_epochs": 12}, checkpoint=ckpt).fit(toy, seed=1)
    assert ckpt.exists() and len(short.history["stage2"]) == 12
    resumed = Encoder(**small, checkpoint=ckpt).fit(toy, seed=1)
    straight = Encoder(**small).fit(toy, seed=1)
    assert resumed.history == straight.history
    np.testing.assert_array_equal(resumed.embed(toy), straight.embed(toy))
    with pytest.raises(archmotif.errors.LearnError, match="another run"):
        Encoder(**small, checkpoint=ckpt).fit(toy, seed=2)


def test_fit_accepts_mined_and_corpus_path(toy, small, tmp_path):
    path = tmp_path / "toy.npz"
    archmotif.save_corpus(toy, path)
    a = Encoder(**small).fit(path).embed(toy)
    b = Encoder(**small).fit(toy).embed(toy)
    np.testing.assert_array_equal(a, b)
    mined = archmotif.mine(toy, progress=False)
    enc = Encoder(**small).fit(mined)
    assert enc.embed(toy).shape == (len(toy), 32 + len(mined.vocabulary))
    with pytest.raises(archmotif.errors.LearnError, match="mine_kwargs"):
        Encoder(**small, mine_kwargs={"max_levels": 2}).fit(mined)


def test_lower_level_views_come_from_the_same_vocabulary(toy, small):
    from archmotif.learn.renumber import canonical_order
    from archmotif.learn.stages import _lower_level

    enc = Encoder(**small, lower_levels=2)
    mined = enc._mine([canonical_order(g) for g in toy])
    low = _lower_level(mined, enc._mine, 2)
    assert low is not None
    assert low.vocabulary.num_levels == mined.vocabulary.num_levels - 2
    assert set(low.vocabulary.ids) <= set(mined.vocabulary.ids)
    assert sum(m.num_nodes for m in low.macro_graphs) > sum(m.num_nodes for m in mined.macro_graphs)
    z = enc.fit(toy).embed(toy)
    assert z.shape == (len(toy), enc.dim) and np.isfinite(z).all()


@pytest.mark.gpu
def test_cuda_fit_and_embed_match_shapes_and_save_to_cpu(toy, small, tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    enc = Encoder(**small, device="cuda").fit(toy)
    z = enc.embed(toy)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-3)
    enc.save(tmp_path / "gpu.pt")
    cpu = Encoder.load(tmp_path / "gpu.pt", device="cpu", progress=False)
    np.testing.assert_allclose(cpu.embed(toy), z, atol=5e-2)  # bf16 autocast on GPU


@pytest.mark.parametrize("conv", ["gcn", "gat"])
def test_other_convolutions_fit_and_embed(conv, toy, small):
    enc = Encoder(**{**small, "stage1_epochs": 1, "stage2_epochs": 2}, conv=conv).fit(toy)
    z = enc.embed(toy)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="conv must be one of"):
        Encoder(conv="sage")


@pytest.mark.slow
def test_builtin_fit_is_fast_and_retrieves_families():
    """The defaults on the real builtin set: fit in well under a minute on CPU and rank
    same-family models high (measured: MAP@20 0.86 transductive at seed 0)."""
    import time

    from archmotif.datasets import load

    graphs = load("builtin")
    t = time.perf_counter()
    enc = Encoder(progress=False).fit(graphs, seed=0)
    assert time.perf_counter() - t < 60
    z = enc.embed(graphs)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    fam = np.array([g.labels["family"] for g in graphs])
    assert (fam[sim.argmax(axis=1)] == fam).mean() >= 0.8
