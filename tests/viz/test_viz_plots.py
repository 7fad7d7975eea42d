"""Plots and the ``archmotif view`` / ``archmotif plot`` commands."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import archmotif
from archmotif import cli, synthetic
from archmotif.errors import VizError
from archmotif.viz.plots import pca_2d, plot_embedding_map, plot_motif_levels, plot_reduction


def _png(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(path)


def _not_blank(img: np.ndarray) -> bool:
    rgb = img[..., :3].reshape(-1, 3)
    return len(np.unique(rgb.round(2), axis=0)) > 8


@pytest.fixture(scope="module")
def mined() -> archmotif.Mined:
    return archmotif.mine(archmotif.datasets.load("builtin")[::4], progress=False)


def test_levels_plot_is_a_png_of_the_asked_size(mined: archmotif.Mined, tmp_path: Path) -> None:
    fig = plot_motif_levels(mined, tmp_path / "levels.png", width=6, height=3, dpi=50)
    img = _png(tmp_path / "levels.png")
    assert img.shape[:2] == (150, 300) and _not_blank(img)
    # one bar of motifs and one of instances per level
    assert len(fig.axes[0].patches) == 2 * mined.vocabulary.num_levels


def test_reduction_plot_has_one_bar_per_architecture(
    mined: archmotif.Mined, tmp_path: Path
) -> None:
    fig = plot_reduction(mined, tmp_path / "red.svg", width=8, height=3)
    bars = sorted((p.get_height() for p in fig.axes[0].patches), reverse=True)
    assert np.allclose(bars, sorted((mg.reduction for mg in mined.macro_graphs), reverse=True))
    root = ET.parse(tmp_path / "red.svg").getroot()
    assert root.tag.endswith("svg") and root.get("width") == "576pt"  # 8 in at 72 pt/in
    # every family in the legend, beside the bars rather than over them
    legend = fig.legends[0]
    families = {mg.graph.labels.get("family", "?") for mg in mined.macro_graphs}
    assert {t.get_text() for t in legend.get_texts()} == families
    assert legend.get_window_extent().x0 >= fig.axes[0].get_window_extent().x1


def test_reduction_legend_counts_the_labels_past_its_limit(tmp_path: Path) -> None:
    from archmotif.viz.plots import LEGEND_MAX

    graphs = [synthetic.resnet_like(30 + i) for i in range(LEGEND_MAX + 5)]
    for i, g in enumerate(graphs):
        g.labels["family"] = f"f{i:02d}"
    fig = plot_reduction(archmotif.mine(graphs, progress=False), tmp_path / "r.png")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(texts) == LEGEND_MAX + 1 and texts[-1] == "+5 more"


def test_embedding_map_of_any_array(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 5)).astype(np.float32)
    labels = ["cnn", "vit", "mlp"] * 10
    fig = plot_embedding_map(emb, labels, tmp_path / "map.png", width=4, height=4, dpi=40)
    img = _png(tmp_path / "map.png")
    assert img.shape[:2] == (160, 160) and _not_blank(img)
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == [
        "cnn", "mlp", "vit",
    ]  # fmt: skip
    again = tmp_path / "again.png"
    plot_embedding_map(emb, labels, again, width=4, height=4, dpi=40)
    assert again.read_bytes() == (tmp_path / "map.png").read_bytes()


def test_embedding_map_legend_beside_the_points_and_27_families_apart(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    families = [f"family{i:02d}" for i in range(27)]
    labels = [families[i % 27] for i in range(270)]
    fig = plot_embedding_map(rng.normal(size=(270, 8)), labels, tmp_path / "m.png")
    ax, legend = fig.axes[0], fig.legends[0]
    box = legend.get_window_extent().transformed(fig.transFigure.inverted())
    assert box.x0 >= ax.get_position().x1  # figure fractions: the legend is right of the axes
    looks = {(tuple(c.get_facecolor()[0]), c.get_paths()[0].vertices.tobytes())
             for c in ax.collections}  # fmt: skip
    assert len(ax.collections) == 27 and len(looks) == 27  # no colour repeats


def test_pca_finds_the_main_axis() -> None:
    t = np.linspace(-1, 1, 50)
    x = np.stack([t, 2 * t, -t, 0.01 * np.sin(40 * t)], axis=1) + 3
    xy = pca_2d(x)
    assert np.allclose(np.abs(xy[:, 0]), np.abs(t) * np.sqrt(6), atol=1e-4)
    assert np.abs(xy[:, 1]).max() < 0.02
    assert np.array_equal(pca_2d(x), pca_2d(x.copy()))
    assert pca_2d(x[:, :1]).shape == (50, 2)


@pytest.mark.parametrize(
    ("emb", "labels", "match"),
    [
        (np.zeros(5), None, r"\[n, d\] array"),
        (np.zeros((1, 3)), None, "n >= 2"),
        (np.zeros((3, 2)), ["a"], "1 labels for 3"),
        (np.array([[0.0, 1.0], [np.nan, 1.0]]), None, "row 1"),
        ([["a", "b"], ["c", "d"]], None, "numeric"),
    ],
)
def test_bad_embeddings_raise_viz_error(emb, labels, match, tmp_path: Path) -> None:
    with pytest.raises(VizError, match=match):
        plot_embedding_map(emb, labels, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_unknown_image_format(mined: archmotif.Mined, tmp_path: Path) -> None:
    with pytest.raises(VizError, match="unknown image format"):
        plot_motif_levels(mined, tmp_path / "x.jpeg")


def test_cli_view_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = synthetic.transformer_like(300)
    g.save(tmp_path / "t.json")
    out = tmp_path / "t.html"
    assert cli.main(["view", str(tmp_path / "t.json"), "-o", str(out)]) == 0
    assert "macro nodes" in capsys.readouterr().out
    assert '"format":"archmotif.viewer"' in out.read_text()
    png = tmp_path / "levels.png"
    assert cli.main(["plot", "levels", str(tmp_path / "t.json"), "-o", str(png),
                     "--width", "5", "--height", "2", "--dpi", "60"]) == 0  # fmt: skip
    assert _png(png).shape[:2] == (120, 300)
    archmotif.save_corpus([g, synthetic.resnet_like(300)], tmp_path / "c.npz")
    svg = tmp_path / "red.svg"
    assert cli.main(["plot", "reduction", str(tmp_path / "c.npz"), "-o", str(svg)]) == 0
    assert svg.stat().st_size > 1000
    html = tmp_path / "c.html"
    capsys.readouterr()
    assert cli.main(["view", str(tmp_path / "c.npz"), "--graph", "bottleneck-300",
                     "-o", str(html)]) == 0  # fmt: skip
    assert '"title":"bottleneck-300"' in html.read_text()
    said = capsys.readouterr().out
    assert said.startswith("bottleneck-300 (graph 1 of 2, mined with the others)")
    # without --graph, a corpus shows its first graph and says how to pick another
    assert cli.main(["view", str(tmp_path / "c.npz"), "-o", str(html)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"{g.name} (graph 0 of 2, mined with the others; --graph NAME or")
    archmotif.OpGraph(["input"], [], name="one").save(tmp_path / "one.json")
    assert cli.main(["view", str(tmp_path / "one.json"), "-o", str(html)]) == 0
    assert capsys.readouterr().out.startswith("one: 1 operator -> 1 macro node; wrote")
    np.savez(tmp_path / "e.npz", embeddings=np.eye(4), labels=np.array(["a", "a", "b", "b"]))
    assert cli.main(["plot", "embedding", str(tmp_path / "e.npz"), "-o", str(png)]) == 0
    assert _png(png).shape[:2] == (600, 700)


def test_cli_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    assert cli.main(["plot", "embedding", str(bad), "-o", str(tmp_path / "x.png")]) == 1
    assert f"{bad}: not a .npy or .npz" in capsys.readouterr().err
    text = tmp_path / "g.json"
    text.write_text('{"format": "archmotif.opgraph"}')
    assert cli.main(["plot", "embedding", str(text), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err  # not numpy's advice to unpickle it
    assert err.strip() == f"archmotif: error: {text}: not a .npy or .npz array file"
    np.save(tmp_path / "e.npy", np.zeros((4, 3)))
    # a bad image name is a usage error, found before anything is read, mined or fitted
    assert cli.main(["plot", "embedding", str(tmp_path / "absent.npy"), "-o", "x.gif"]) == 2
    assert "-o/--output: x.gif: unknown image format" in capsys.readouterr().err
    assert cli.main(["plot", "levels", "builtin", "-o", "levels"]) == 2
    assert "levels: unknown image format (use .png, .svg or .pdf)" in capsys.readouterr().err
    assert cli.main(["view", "builtin", "--graph", "98", "-o", "x.html"]) == 1
    assert "graph number 98 out of range (98 graphs, numbered 0..97)" in capsys.readouterr().err
    single = tmp_path / "one.json"
    synthetic.resnet_like(30).save(single)
    assert cli.main(["view", str(single), "--graph", "1", "-o", "x.html"]) == 1
    assert "out of range (there is 1 graph, numbered 0)" in capsys.readouterr().err
    assert cli.main(["view", "builtin", "--graph", "resnet", "-o", "x.html"]) == 1
    assert "similar: resnet18" in capsys.readouterr().err
    assert cli.main(["view", str(tmp_path / "missing.json")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_an_index_file_is_mapped_coloured_by_family(tmp_path):
    """``archmotif plot embedding INDEX`` reads an index file's embeddings and takes each
    model's family from its metadata as the colour."""
    from archmotif.retrieval.index import Index
    from archmotif.viz._cli import _load_embeddings

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(6, 4)).astype(np.float32)
    meta = [{"name": f"m{i}", "family": "resnet" if i < 3 else "vit"} for i in range(6)]
    Index(emb, meta).save(tmp_path / "index.npz")
    got, labels = _load_embeddings(str(tmp_path / "index.npz"))
    assert labels == ["resnet"] * 3 + ["vit"] * 3 and got.shape == (6, 4)
    out = tmp_path / "map.png"
    assert cli.main(["plot", "embedding", str(tmp_path / "index.npz"), "-o", str(out)]) == 0
    assert out.stat().st_size > 1000
