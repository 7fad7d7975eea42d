"""The corpus file: round trip, atomic writes, and clear errors on bad files."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from archmotif import FormatError, GraphError, OpGraph, load_corpus, save_corpus


def _graphs():
    a = OpGraph(["input", "conv", "relu"], [[0, 1], [1, 2]], name="a", labels={"family": "cnn"})
    b = OpGraph(
        ["input", "linear", "gelu", "linear"],
        [[0, 1, 2], [1, 2, 3]],
        name="b",
        node_names=["x", "fc1", "act", "fc2"],
    )
    empty = OpGraph([], None, name="empty")
    return [a, b, empty]


def test_round_trip_preserves_every_graph(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    back = load_corpus(p)
    assert back == _graphs()
    assert back[0].op_names is back[1].op_names  # one shared vocabulary


def test_file_is_a_plain_npz_without_pickles(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    with np.load(p, allow_pickle=False) as z:
        assert set(z.files) == {"header", "ops", "node_offsets", "edges", "edge_offsets",
                                "records", "record_offsets", "node_flops", "attrs",
                                "node_shapes", "node_params"}  # fmt: skip
        assert z["node_offsets"].tolist() == [0, 3, 7, 7]
        with zipfile.ZipFile(p) as zf:  # stored, so graphs can be read by range
            assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "c.npz"
    save_corpus(_graphs()[:1], p)
    before = p.read_bytes()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array_header_2_0", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_corpus(_graphs(), p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["c.npz"]  # no temp file left behind


def test_truncated_file_raises_format_error_naming_it(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(FormatError, match="c.npz"):
        load_corpus(p)


def test_foreign_npz_and_foreign_file(tmp_path):
    p = tmp_path / "other.npz"
    np.savez(p, x=np.arange(3))
    with pytest.raises(FormatError, match="other.npz: not an archmotif corpus"):
        load_corpus(p)
    q = tmp_path / "text.npz"
    q.write_text("hello")
    with pytest.raises(FormatError, match="text.npz"):
        load_corpus(q)
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "missing.npz")


def _rewrite(path, **replace):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(replace)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def test_future_version_is_refused(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    header = b'{"format": "archmotif.corpus", "version": 7}'
    _rewrite(p, header=np.frombuffer(header, dtype=np.uint8))
    with pytest.raises(FormatError, match="version 7 is newer"):
        load_corpus(p)


def test_invalid_graph_inside_a_corpus_names_file_and_graph(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    with np.load(p, allow_pickle=False) as z:
        edges = z["edges"].copy()
    edges[1, 3] = 0  # graph 1: fc1 -> x closes a cycle x -> fc1 -> x
    edges[0, 3] = 1
    _rewrite(p, edges=edges)
    with pytest.raises(GraphError, match=r"c.npz: graph 1: the graph has a cycle"):
        load_corpus(p)


def test_inconsistent_offsets_are_a_format_error(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    _rewrite(p, node_offsets=np.array([0, 5, 4, 7], dtype=np.int64))
    with pytest.raises(FormatError, match="offsets are inconsistent"):
        load_corpus(p)


def test_zip_is_readable_by_standard_tools(tmp_path):
    p = tmp_path / "c.npz"
    save_corpus(_graphs(), p)
    assert zipfile.is_zipfile(p)


def test_metadata_travels_in_the_header_and_info_reads_it_without_graphs(tmp_path):
    from archmotif.corpus import corpus_info

    p = tmp_path / "c.npz"
    meta = {"dataset": "toy", "failures": [{"spec": "x", "reason": "boom"}]}
    save_corpus(_graphs(), p, meta=meta)
    assert load_corpus(p) == _graphs()
    info = corpus_info(p)
    assert info["meta"] == meta
    assert (info["num_graphs"], info["num_nodes"], info["num_edges"]) == (3, 7, 5)
    assert info["label_counts"] == {"family": {"cnn": 1}}
    with pytest.raises(TypeError, match="JSON"):
        save_corpus(_graphs(), tmp_path / "d.npz", meta={"bad": object()})
    assert not (tmp_path / "d.npz").exists()


def test_another_archmotif_file_opened_as_a_corpus_says_what_it_is(tmp_path):
    """An index or baseline file is an .npz too: opening one as a corpus names what it
    is and what reads it, instead of listing the corpus arrays it lacks."""
    from archmotif.datasets import load
    from archmotif.learn.wl import WLBaseline
    from archmotif.retrieval.index import Index

    graphs = load("builtin")[:6]
    wl = WLBaseline().fit(graphs)
    wl.save(tmp_path / "wl.npz")
    with pytest.raises(FormatError, match=r"not an archmotif corpus but a WL "
                       r"baseline file \(archmotif.wl\): WLBaseline.load reads it"):  # fmt: skip
        load_corpus(tmp_path / "wl.npz")
    Index.build(graphs, wl).save(tmp_path / "idx.npz")
    with pytest.raises(FormatError, match="but an index file .* --index .*idx.npz"):
        load_corpus(tmp_path / "idx.npz")
    # an .npz of someone else's still gets the arrays it lacks
    np.savez(tmp_path / "other.npz", header=np.frombuffer(b'{"format": "x"}', dtype=np.uint8))
    with pytest.raises(FormatError, match="not an archmotif corpus .missing ops"):
        load_corpus(tmp_path / "other.npz")


def test_the_other_files_named_are_archmotif_s_formats():
    """The corpus reader names the other .npz formats without importing the layers that
    write them; the names must stay those formats' constants."""
    from archmotif.corpus import _OTHER_FILES
    from archmotif.learn.encoder_file import CHECKPOINT_FORMAT, ENCODER_FORMAT
    from archmotif.learn.gnn import GNN_FORMAT
    from archmotif.learn.motif_bag import BAG_FORMAT
    from archmotif.learn.nar import NAR_FORMAT
    from archmotif.learn.predictor_file import PREDICTOR_FORMAT
    from archmotif.learn.wl import WL_FORMAT
    from archmotif.retrieval.index import INDEX_FORMAT

    formats = {INDEX_FORMAT, ENCODER_FORMAT, CHECKPOINT_FORMAT, PREDICTOR_FORMAT,
               NAR_FORMAT, GNN_FORMAT, WL_FORMAT, BAG_FORMAT}  # fmt: skip
    assert set(_OTHER_FILES) == formats
