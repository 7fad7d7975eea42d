"""Index (top-k cosine search, the one-file format) and archmotif.search."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import archmotif
from archmotif.errors import FormatError, RetrievalError
from archmotif.learn.wl import WLBaseline
from archmotif.retrieval.index import Hit, Index, search


def _random_index(n=200, d=16, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x, Index(x, [{"name": f"m{i}"} for i in range(n)])


def test_exact_top_k_matches_brute_force():
    x, idx = _random_index()
    q = np.random.default_rng(1).normal(size=(5, 16)).astype(np.float32)
    scores, ids = idx.search(q, k=7)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    want = np.argsort(-(qn @ xn.T), axis=1)[:, :7]
    np.testing.assert_array_equal(ids, want)
    np.testing.assert_allclose(scores, np.take_along_axis(qn @ xn.T, want, axis=1), rtol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_ties_go_to_the_lower_index_and_k_is_capped():
    idx = Index(np.array([[1, 0], [0, 1], [2, 0], [1, 0]], dtype=np.float32))
    _, ids = idx.search([[1, 0]], k=10)
    assert ids.shape == (1, 4)
    assert ids[0, :3].tolist() == [0, 2, 3] and ids[0, 3] == 1
    _, top2 = idx.search([[1, 0]], k=2)
    assert top2[0].tolist() == [0, 2]


def test_faiss_gives_the_same_results():
    pytest.importorskip("faiss")
    _, idx = _random_index(n=300)
    q = np.random.default_rng(2).normal(size=(4, 16)).astype(np.float32)
    s1, i1 = idx.search(q, k=10, method="numpy")
    s2, i2 = idx.search(q, k=10, method="faiss")
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, rtol=1e-5, atol=1e-6)


def test_save_load_round_trip_with_metadata(tmp_path):
    _, idx = _random_index(n=20)
    idx.save(tmp_path / "i.npz")
    back = Index.load(tmp_path / "i.npz")
    np.testing.assert_array_equal(back.embeddings, idx.embeddings)
    assert back.metadata == idx.metadata and back.encoder is None


def test_search_in_one_call_with_the_stored_encoder(toy, tmp_path):
    idx = Index.build(toy, WLBaseline(dim=8), fit=True)
    idx.save(tmp_path / "toy.npz")
    query = toy[6]  # residual3
    hits = archmotif.search(query, str(tmp_path / "toy.npz"), k=3)
    assert isinstance(hits[0], Hit) and [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].name == "residual3" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert all(h.metadata["family"] == "residual" for h in hits)
    # an OpGraph JSON path works the same way
    query.save(tmp_path / "q.json")
    assert [h.index for h in search(tmp_path / "q.json", tmp_path / "toy.npz", k=3)] == [
        h.index for h in hits
    ]


def test_search_needs_an_encoder(toy):
    idx = Index(np.eye(3, dtype=np.float32))
    with pytest.raises(RetrievalError, match="stores no encoder"):
        search(toy[0], idx)


def test_bad_arguments():
    _, idx = _random_index(n=5, d=4)
    with pytest.raises(RetrievalError, match="dimension 3, the index has 4"):
        idx.search(np.ones((1, 3)), k=2)
    with pytest.raises(RetrievalError, match="k must be"):
        idx.search(np.ones((1, 4)), k=0)
    with pytest.raises(RetrievalError, match="metadata entries"):
        Index(np.ones((2, 4)), [{}])
    with pytest.raises(RetrievalError, match="NaN"):
        Index(np.full((2, 4), np.nan))


def _rewrite(path, mutate):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    mutate(arrays)
    np.savez(path, **arrays)


def _header_edit(**changes):
    def mutate(arrays):
        h = json.loads(arrays["header"].tobytes().decode())
        h.update(changes)
        arrays["header"] = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)

    return mutate


def _flip_embedding(arrays):
    arrays["embeddings"] = arrays["embeddings"].copy()
    arrays["embeddings"][0, 0] += 1.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_header_edit(version=99), "newer than this archmotif reads"),
        (_header_edit(format="something.else"), "not an archmotif index"),
        (_flip_embedding, "fails its sha256 checksum"),
        (_header_edit(encoder={"class": "os:system", "name": "x"}), "not one of archmotif's"),
    ],
)
def test_corrupt_foreign_or_future_files_raise_format_error(tmp_path, mutate, message):
    _, idx = _random_index(n=6, d=4)
    path = tmp_path / "idx.npz"
    idx.save(path)
    _rewrite(path, mutate)
    with pytest.raises(FormatError, match=message) as err:
        Index.load(path)
    assert "idx.npz" in str(err.value)


def test_truncated_file_raises_format_error(tmp_path):
    _, idx = _random_index(n=6, d=4)
    path = tmp_path / "idx.npz"
    idx.save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(FormatError, match="idx.npz"):
        Index.load(path)
    assert zipfile.is_zipfile(path) is False


def test_a_missing_index_file_says_how_to_write_one(tmp_path):
    for call in (lambda p: Index.load(p), lambda p: archmotif.search("resnet18", p)):
        with pytest.raises(FileNotFoundError, match=r"no such index file .*index build"):
            call(str(tmp_path / "gone.npz"))


def test_index_file_carries_the_trained_encoder(toy, tmp_path):
    encoder_module = pytest.importorskip("archmotif.learn.encoder")
    encoder = encoder_module.Encoder(stage1_epochs=1, stage2_epochs=1)
    idx = Index.build(toy, encoder, fit=True)
    idx.save(tmp_path / "ours.npz")
    loaded = Index.load(tmp_path / "ours.npz")
    assert type(loaded.encoder) is encoder_module.Encoder
    np.testing.assert_allclose(loaded.encoder.embed(toy[:3]), idx.embeddings[:3], atol=1e-5)
    hits = search(toy[4], tmp_path / "ours.npz", k=1)
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_top_level_names_and_no_torch_for_numpy_only_retrieval():
    import subprocess
    import sys

    code = (
        "import sys, archmotif\n"
        "from archmotif.learn.wl import WLBaseline\n"
        "assert archmotif.Index.__module__ == 'archmotif.retrieval.index'\n"
        "assert archmotif.search.__name__ == 'search' and callable(archmotif.evaluate)\n"
        "g = archmotif.OpGraph(['input', 'conv'], [[0], [1]], labels={'family': 'a'})\n"
        "idx = archmotif.Index.build([g, g], WLBaseline(dim=2), fit=True)\n"
        "assert archmotif.search(g, idx, k=1)[0].index == 0\n"
        "assert 'torch' not in sys.modules, 'retrieval with WL imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow  # traces a torchvision model: ~10 s alone, far more on a loaded machine
def test_search_from_an_nn_module_finds_its_own_architecture():
    torchvision = pytest.importorskip("torchvision")
    graphs = archmotif.datasets.load("builtin")
    idx = Index.build(graphs, WLBaseline(), fit=True)
    hits = search(torchvision.models.resnet18(), idx, k=3)
    assert hits[0].name == "resnet18" and hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_search_from_an_onnx_file(toy, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "x"], ["y"], name="add"),
    ]
    graph = helper.make_graph(
        nodes,
        "block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor("w", TensorProto.FLOAT, [3], [0.0, 0.0, 0.0])],
    )
    path = tmp_path / "block.onnx"
    onnx.save(helper.make_model(graph), str(path))
    block = archmotif.from_onnx(str(path), name="block")
    idx = Index.build([*toy, block], WLBaseline(dim=8), fit=True)
    hits = search(path, idx, k=2)
    assert hits[0].name == "block" and hits[0].index == len(toy)
