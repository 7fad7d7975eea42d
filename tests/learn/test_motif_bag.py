"""MotifBag: the hierarchical TF-IDF bag of canonical motifs."""

from __future__ import annotations

import numpy as np
import pytest

import archmotif
from archmotif.learn import Embedder
from archmotif.learn.motif_bag import MotifBag, _closure


def test_retrieves_own_family_first_and_ignores_numbering(toy, permute):
    bag = MotifBag().fit(toy)
    assert isinstance(bag, Embedder) and bag.name == "motif-bag"
    z = bag.embed(toy)
    assert z.dtype == np.float32 and z.shape[0] == len(toy)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-6)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    fam = np.array([g.labels["family"] for g in toy])
    assert (fam[sim.argmax(axis=1)] == fam).all()
    np.testing.assert_array_equal(bag.embed([permute(g, 5) for g in toy]), z)


def test_closure_holds_every_lower_motif(toy):
    vocab = archmotif.mine(toy, progress=False).vocabulary
    closure = _closure(vocab)
    for m in vocab:
        assert m.index in closure[m.index]
        for c in m.children:
            assert set(closure[c].tolist()) <= set(closure[m.index].tolist())


def test_unknown_only_graph_embeds_as_zeros_and_unfitted_raises(toy):
    with pytest.raises(archmotif.errors.LearnError, match="before fit"):
        MotifBag().embed(toy)
    odd = archmotif.OpGraph.from_edges(["never_a", "never_b"], [(0, 1)])
    z = MotifBag().fit(toy).embed([odd])
    assert not z.any()


def test_save_load_round_trip_and_index_file(toy, tmp_path):
    bag = MotifBag(mine_kwargs={"max_motif_nodes": 16}).fit(toy)
    bag.save(tmp_path / "bag.npz")
    again = MotifBag.load(tmp_path / "bag.npz")
    np.testing.assert_array_equal(again.embed(toy), bag.embed(toy))
    from archmotif.retrieval.index import Index, search

    Index.build(toy, bag).save(tmp_path / "index.npz")
    hits = search(toy[11], tmp_path / "index.npz", k=1)
    assert hits[0].index == 11 and hits[0].score == pytest.approx(1.0)


def test_a_tampered_bag_file_is_a_format_error(toy, tmp_path):
    import json
    import zipfile

    p = tmp_path / "bag.npz"
    MotifBag().fit(toy).save(p)
    with zipfile.ZipFile(p) as z:
        arrays = {n[:-4]: np.load(z.open(n)) for n in z.namelist()}
    header = json.loads(arrays["header"].tobytes())
    for bad in ({"mine_kwargs": {"client": "tcp://evil"}}, {"vocab_ids": ["00" * 16]}):
        h = {**header, **bad}
        np.savez(p, **{**arrays, "header": np.frombuffer(json.dumps(h).encode(), np.uint8)})
        with pytest.raises(archmotif.FormatError, match="bag.npz"):
            MotifBag.load(p)
