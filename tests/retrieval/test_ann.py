"""The faiss paths: the exact flat index built once, the approximate IVF index (its
measured recall, its filter, its place in the index file and the checks on load)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from archmotif.errors import FormatError
from archmotif.retrieval.index import Index

faiss = pytest.importorskip("faiss")


def _clustered(n=6000, d=24, clusters=60, seed=0):
    """Rows around ``clusters`` centres, as embeddings of architecture families are."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    x = centres[rng.integers(clusters, size=n)] + 0.35 * rng.normal(size=(n, d))
    params = rng.integers(1, 1000, n)
    meta = [{"name": f"m{i}", "params": str(int(p))} for i, p in enumerate(params)]
    return x.astype(np.float32), meta


def _recall(got, want):
    return np.mean([len(set(g) & set(w)) / len(w) for g, w in zip(got, want, strict=True)])


def test_the_exact_faiss_index_is_built_once_and_agrees_with_numpy():
    x, meta = _clustered(n=2000)
    idx = Index(x, meta)
    q = np.random.default_rng(3).normal(size=(40, 24)).astype(np.float32)
    first = idx.exact_faiss()
    s1, i1 = idx.search(q, k=10, method="faiss")
    assert idx.exact_faiss() is first
    s2, i2 = idx.search(q, k=10, method="numpy")
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, rtol=1e-5, atol=1e-6)


def test_ann_reaches_its_measured_recall_on_new_queries():
    x, meta = _clustered()
    idx = Index(x, meta)
    ivf = idx.build_ann(target_recall=0.95)
    assert ivf.recall >= 0.95 and 1 <= ivf.nprobe <= ivf.nlist
    assert ivf.nprobe < ivf.nlist  # clustered data: it does not scan everything
    rng = np.random.default_rng(7)
    q = (x[rng.integers(len(x), size=100)] + 0.2 * rng.normal(size=(100, 24))).astype(np.float32)
    _, exact = idx.search(q, k=10, method="numpy")
    _, approx = idx.search(q, k=10)  # auto: the index has an approximate index
    assert _recall(approx, exact) >= 0.9


def test_ann_with_a_filter_returns_k_qualifying_rows():
    x, meta = _clustered()
    idx = Index(x, meta)
    idx.build_ann()
    params = idx.columns.numeric("params")
    q = x[:20] + 0.1
    for where in ("params <= 500", "params <= 3", "params < 1"):  # ~50%, ~0.3%, none
        _, ids = idx.search(q, k=10, where=where, method="ann")
        keep = params <= {"params <= 500": 500, "params <= 3": 3, "params < 1": 0}[where]
        assert ids.shape == (20, min(10, int(keep.sum())))
        assert keep[ids].all()
        _, exact = idx.search(q, k=10, where=where, method="numpy")
        if ids.shape[1]:
            assert _recall(ids, exact) >= 0.9


def test_the_approximate_index_is_saved_as_plain_arrays_and_answers_the_same(tmp_path):
    x, meta = _clustered(n=3000)
    idx = Index(x, meta)
    ivf = idx.build_ann()
    q = x[:30] + 0.05
    want = idx.search(q, k=10, method="ann")
    idx.save(tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert {"ann_centroids", "ann_lists"} <= set(z.files)
        assert all(z[name].dtype != np.uint8 for name in ("ann_centroids", "ann_lists"))
    back = Index.load(tmp_path / "a.npz")
    assert (back.ann.nprobe, back.ann.recall, back.ann.nlist) == (ivf.nprobe, ivf.recall, ivf.nlist)
    got = back.search(q, k=10, method="ann")
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)


def _edit(path, mutate):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    h = json.loads(arrays["header"].tobytes().decode())
    mutate(arrays, h)
    for name in ("ann_centroids", "ann_lists"):  # re-sign, so only the new check can fail
        if name in arrays:
            import hashlib

            h["sha256"][name] = hashlib.sha256(np.ascontiguousarray(arrays[name])).hexdigest()
    arrays["header"] = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def _lists_out_of_range(arrays, h):
    arrays["ann_lists"] = arrays["ann_lists"].copy()
    arrays["ann_lists"][0] = 10**9


def _nprobe_too_big(arrays, h):
    h["ann"]["depths"][0][1] = h["ann"]["nlist"] + 1


def _centroids_wrong_shape(arrays, h):
    arrays["ann_centroids"] = arrays["ann_centroids"][:, :3].copy()


def _entry_not_an_object(arrays, h):
    h["ann"] = "faiss.read_index('/etc/passwd')"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_lists_out_of_range, "names a list outside"),
        (_nprobe_too_big, "nprobe .* is outside"),
        (_centroids_wrong_shape, "ann_centroids has the wrong dtype or shape"),
        (_entry_not_an_object, "approximate-search entry is malformed"),
    ],
)
def test_a_crafted_approximate_index_is_a_format_error_not_a_crash(tmp_path, mutate, message):
    x, meta = _clustered(n=800)
    idx = Index(x, meta)
    idx.build_ann()
    path = tmp_path / "a.npz"
    idx.save(path)
    _edit(path, mutate)
    with pytest.raises(FormatError, match=message) as err:
        Index.load(path)
    assert "a.npz" in str(err.value)


def test_method_ann_without_an_approximate_index_says_how_to_build_one():
    from archmotif.errors import RetrievalError

    idx = Index(np.eye(4, dtype=np.float32))
    with pytest.raises(RetrievalError, match="build_ann"):
        idx.search(np.ones(4), k=2, method="ann")
    with pytest.raises(RetrievalError, match="method must be one of"):
        idx.search(np.ones(4), k=2, method="hnsw")


def test_where_the_ivf_cannot_beat_exact_search_stays_exact():
    # i.i.d. random rows: no structure, so the target recall needs most lists scanned
    x = np.random.default_rng(5).normal(size=(4000, 64)).astype(np.float32)
    idx = Index(x)
    ivf = idx.build_ann(target_recall=0.99)
    assert not ivf.faster_than_exact and ivf.nprobe == ivf.nlist
    q = np.random.default_rng(6).normal(size=(10, 64)).astype(np.float32)
    auto, exact = idx.search(q, k=10), idx.search(q, k=10, method="numpy")
    np.testing.assert_array_equal(auto[1], exact[1])


def test_exact_faiss_breaks_ties_by_the_lower_index_as_numpy_does():
    """Copies of one architecture (equal rows) come back in index order by either
    backend, so `--backend faiss` and numpy list them alike."""
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(50, 16)).astype(np.float32)
    rows[[7, 19, 3, 41]] = rows[30]  # five equal rows: 3, 7, 19, 30, 41
    index = Index(rows, [{"name": str(i)} for i in range(50)])
    q = rows[30:31]
    for method in ("numpy", "faiss"):
        scores, ids = index.search(q, 7, method=method)
        assert ids[0, :5].tolist() == [3, 7, 19, 30, 41], method
        assert np.all(np.diff(scores[0]) <= 0)
    where = {"name": ("!=", "3")}
    _, ids_np = index.search(q, 4, method="numpy", where=where)
    _, ids_fa = index.search(q, 4, method="faiss", where=where)
    assert ids_np.tolist() == ids_fa.tolist() == [[7, 19, 30, 41]]
