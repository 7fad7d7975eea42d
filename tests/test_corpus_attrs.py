"""Corpus version 4 stores operator attributes once: both levels of detail load from
one file, older files load as the plain view, and a broken attribute member is a
FormatError naming the file."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import archmotif
from archmotif import FormatError, OpGraph, load_corpus, open_corpus, save_corpus
from archmotif.datasets import darts


def _graphs() -> list[OpGraph]:
    ops = ["input", "convolution", "relu", "convolution"]
    a = OpGraph.from_edges(ops, [(0, 1), (1, 2), (2, 3)], name="a", attrs=["", "k3", "", "k1,s2"])
    b = OpGraph.from_edges(["input", "convolution", "max_pool2d"], [(0, 1), (1, 2)], name="b",
                           attrs=["", "k3,dw", "k3,s2"])  # fmt: skip
    plain = OpGraph.from_edges(["input", "convolution"], [(0, 1)], name="plain")
    return [a, b, plain]


def test_both_views_load_from_one_file(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    back = load_corpus(p)
    assert back == _graphs() and back[2].attrs is None
    viewed = load_corpus(p, detail="attrs")
    assert [g.node_ops() for g in viewed] == [g.view("attrs").node_ops() for g in _graphs()]
    assert viewed[0].op_names is viewed[2].op_names  # one vocabulary for the whole file
    assert all(g.attrs is None for g in viewed)
    with open_corpus(p, detail="attrs") as r:
        ops, noff, _, _ = r.read_arrays(0, 3)
        assert [r.op_names[i] for i in ops[noff[1] : noff[2]]] == viewed[1].node_ops()


def test_generated_nas_graphs_round_trip_with_their_attributes(tmp_path):
    graphs = darts.generate(num_genotypes=2, depths=(5,))
    save_corpus(graphs, tmp_path / "d.npz")
    back = load_corpus(tmp_path / "d.npz", detail="attrs")
    for g, b in zip(graphs, back, strict=True):
        assert archmotif.canonical_hash(b) == archmotif.canonical_hash(g.view("attrs"))


def _as_version_3(src, dst):
    """``src`` rewritten as version 3 wrote it: no attrs member, no attribute fields."""
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist() if n != "attrs.npy"}
    h = json.loads(np.load(io.BytesIO(members["header.npy"])).tobytes())
    h["version"] = 3
    del h["attr_names"], h["attr_pairs"]
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(json.dumps(h).encode(), dtype=np.uint8))
    members["header.npy"] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return dst


def test_older_files_load_as_the_plain_view_at_both_levels(tmp_path):
    save_corpus(_graphs(), tmp_path / "v4.npz")
    old = _as_version_3(tmp_path / "v4.npz", tmp_path / "v3.npz")
    plain, viewed = load_corpus(old), load_corpus(old, detail="attrs")
    assert [g.node_ops() for g in plain] == [g.node_ops() for g in viewed]
    assert [g.node_ops() for g in plain] == [g.node_ops() for g in _graphs()]
    assert all(g.attrs is None for g in plain)
    mined = archmotif.mine(old, chunk_graphs=2, detail="attrs", progress=False)
    assert len(mined.vocabulary) == len(archmotif.mine(old, progress=False).vocabulary)


def test_streamed_mining_takes_the_attrs_view(tmp_path):
    graphs = darts.generate(num_genotypes=3, depths=(5,))
    save_corpus(graphs, tmp_path / "d.npz")
    loaded = archmotif.mine(graphs, detail="attrs", progress=False)
    streamed = archmotif.mine(tmp_path / "d.npz", chunk_graphs=1, detail="attrs", progress=False)
    assert streamed.vocabulary.ids == loaded.vocabulary.ids
    plain = archmotif.mine(graphs, detail="op", progress=False)
    assert streamed.vocabulary.ids != plain.vocabulary.ids


def test_attribute_pairs_the_header_does_not_list_are_refused(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    h = json.loads(arrays["header"].tobytes())
    h["attr_pairs"] = h["attr_pairs"][:-1]
    arrays["header"] = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    assert load_corpus(tmp_path / "bad.npz") == _graphs()  # the plain view needs no pairs
    with pytest.raises(FormatError, match="bad.npz: a node holds op .* the header does not list"):
        load_corpus(tmp_path / "bad.npz", detail="attrs")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"attr_names": ["k3", ""]}, "the empty one first"),
        ({"attr_names": ["", "k[3]"]}, "must not hold"),
        ({"attr_pairs": [[0, 0]]}, "attr_pairs"),
        ({"attr_pairs": "x"}, "attr_pairs"),
    ],
)
def test_corrupt_attribute_header_fields_are_format_errors(tmp_path, changes, match):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    h = {**json.loads(arrays["header"].tobytes()), **changes}
    arrays["header"] = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FormatError, match=match):
        load_corpus(tmp_path / "bad.npz")


def test_bad_detail_is_refused(tmp_path):
    save_corpus(_graphs(), tmp_path / "c.npz")
    with pytest.raises(archmotif.InvalidArgument, match="detail"):
        load_corpus(tmp_path / "c.npz", detail="full")
