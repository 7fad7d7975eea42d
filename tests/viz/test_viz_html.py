"""The viewer page as a file: self-contained, escaped, proportional in size, deterministic."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import archmotif
from archmotif import synthetic
from archmotif.errors import VizError
from archmotif.viz import write_html
from archmotif.viz.html import viewer_html

EVIL = '</script><script>alert("x")</script><!--&{{DATA}}\u2028'


def _payload(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="archmotif-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_user_strings_cannot_break_out_of_the_payload() -> None:
    g = archmotif.OpGraph(
        ["input", EVIL, "relu", EVIL, "relu"], [[0, 1, 2, 3], [1, 2, 3, 4]],
        name=EVIL, labels={"family": EVIL}, node_names=[EVIL] * 5,
    )  # fmt: skip
    page = viewer_html(archmotif.mine(g, progress=False).macro_graphs[0])
    # exactly the payload's and the viewer's own script elements
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<script>alert" not in page
    # a placeholder spelled in a name is left as text, never expanded
    assert page.count('"format":"archmotif.viewer"') == 1
    assert "\u2028" not in page.split('id="archmotif-data">', 1)[1]
    data = _payload(page)
    assert data["title"] == EVIL and data["labels"] == {"family": EVIL}
    assert EVIL in data["opNames"] and data["nodeNames"] == [EVIL] * 5
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<" not in title and "&lt;/script&gt;" in title


def test_payload_carries_shapes_attributes_and_parameters_when_the_graph_has_them() -> None:
    # input -> conv -> relu -> add(relu, conv): contracted as {input}, {conv}, {relu, add}
    g = archmotif.OpGraph.from_edges(
        ["input", "convolution", "relu", "add"], [(0, 1), (1, 2), (2, 3), (1, 3)],
        node_shapes=["1×3×8×8", "1×16×8×8", "1×16×8×8", "1×16×8×8"],
        node_params=[0, 448, 0, 0], attrs=["", "k3", "", ""],
    )  # fmt: skip
    # at the plain level the attributes travel beside the op names ...
    mg = archmotif.contract(g, [0, 1, 2, 2], detail="op")
    data = _payload(viewer_html(mg))
    assert [data["shapeNames"][i] for i in data["shapes"]] == g.output_shapes()
    assert data["params"] == [0, 448, 0, 0]
    assert [data["attrNames"][i] for i in data["attrs"]] == ["", "k3", "", ""]
    # ... at the default level (attrs) they are part of the op names
    at_attrs = _payload(viewer_html(archmotif.contract(g, [0, 1, 2, 2])))
    assert "convolution[k3]" in at_attrs["opNames"]
    assert at_attrs["shapes"] == data["shapes"] and at_attrs["params"] == data["params"]
    # per macro edge, the tensor crossing it: 0 -> 1 the input; 1 -> 2 the convolution's
    # output, read twice inside {relu, add}, is still one tensor
    assert data["macro"]["edges"] == [[0, 1], [1, 2]]
    assert data["edgeShapes"] == ["1×3×8×8", "1×16×8×8"]
    # two operators of one macro node ({conv, relu}) feeding another ({add}): two tensors
    two = archmotif.contract(g, [0, 1, 1, 2])
    assert _payload(viewer_html(two))["edgeShapes"] == ["1×3×8×8", "2 tensors"]
    plain = _payload(
        viewer_html(archmotif.contract(archmotif.OpGraph(["input", "relu"], [[0], [1]]), [0, 1]))
    )
    assert plain["shapes"] is plain["edgeShapes"] is plain["params"] is plain["attrs"] is None


def test_the_page_needs_no_network() -> None:
    page = viewer_html(archmotif.mine(synthetic.resnet_like(200), progress=False).macro_graphs[0])
    urls = set(re.findall(r"(?:https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}[^\s\"')]*", page))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert not re.search(r"<(link|img|iframe)[^>]*(src|href)=\"(?!data:)", page)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp


def test_payload_describes_the_macro_graph() -> None:
    g = synthetic.transformer_like(400)
    mg = archmotif.mine(g, progress=False).macro_graphs[0]
    data = _payload(viewer_html(mg))
    assert data["format"] == "archmotif.viewer" and data["version"] == 1
    assert len(data["macro"]["motif"]) == mg.num_nodes
    assert np.array_equal(data["macro"]["edges"], mg.edges)
    assert np.array_equal(data["n2m"], mg.node_to_macro)
    here = data["motifs"][str(int(mg.motifs[0]))]["here"]
    assert here == int((mg.motifs == mg.motifs[0]).sum())
    # only the edges inside macro nodes travel; the others are the macro edges
    inner = mg.node_to_macro[g.edges[0]] == mg.node_to_macro[g.edges[1]]
    assert len(data["inner"][0]) == int(inner.sum())


def test_a_100k_node_model_gives_a_file_proportional_to_it(tmp_path: Path) -> None:
    sizes = {}
    for n in (10_000, 100_000):
        g = synthetic.resnet_like(n)
        t = time.perf_counter()
        write_html(g, tmp_path / f"{n}.html")
        assert time.perf_counter() - t < 20
        sizes[n] = (tmp_path / f"{n}.html").stat().st_size
    assert sizes[100_000] < 40 * 100_000  # measured about 22 bytes per operator
    assert 8 < sizes[100_000] / sizes[10_000] < 11


def test_same_input_same_bytes_and_atomic_write(tmp_path: Path) -> None:
    m = archmotif.mine(archmotif.datasets.load("builtin")[:6], progress=False)
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    archmotif.view(m, a, index=2)
    write_html(m, b, index=2)
    assert a.read_bytes() == b.read_bytes()
    assert _payload(a.read_text())["title"] == m.graphs[2].name
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_bad_input_raises_viz_error(tmp_path: Path) -> None:
    m = archmotif.mine(synthetic.resnet_like(50), progress=False)
    with pytest.raises(VizError, match="out of range"):
        archmotif.view(m, tmp_path / "x.html", index=3)
    with pytest.raises(VizError, match="cannot view a list"):
        write_html([1, 2], tmp_path / "x.html")
    with pytest.raises(VizError, match="mining options"):
        write_html(m, tmp_path / "x.html", strategy="nar")
    assert not (tmp_path / "x.html").exists()


def test_importing_the_viewer_pulls_in_neither_torch_nor_matplotlib() -> None:
    code = (
        "import sys, archmotif; archmotif.view; import archmotif.viz.html; "
        "import archmotif.viz._cli; "
        "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules, "
        "[m for m in sys.modules if m.startswith(('torch', 'matplotlib'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_view_without_a_path_opens_a_temporary_page(monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    g = synthetic.resnet_like(40)
    path = archmotif.view(g)
    try:
        assert opened == [path.resolve().as_uri()]
        assert _payload(path.read_text())["title"] == g.name
    finally:
        path.unlink()
    archmotif.view(archmotif.mine(g, progress=False), path)  # with a path: nothing opens
    assert len(opened) == 1
    path.unlink()


def test_no_browser_says_where_the_page_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On a headless machine `view` (and `archmotif view --open`) say where the page
    went instead of doing nothing visible."""
    import webbrowser

    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    with pytest.warns(UserWarning, match="no web browser found: the page is at "):
        path = archmotif.view(synthetic.resnet_like(40))
    path.unlink()
    out = tmp_path / "v.html"
    r = subprocess.run(
        [sys.executable, "-m", "archmotif.cli", "view", "builtin", "--open", "-o", str(out)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "BROWSER": "false"},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == (
        f"no web browser could be opened here: open {out} in one yourself"
    )
