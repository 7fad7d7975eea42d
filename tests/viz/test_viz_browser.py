"""The viewer in a real browser: headless Chromium driven by Selenium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``scripts/check.sh`` installs them
when missing). Without them these tests fail with the command that installs them:
the viewer is JavaScript, and only a browser can say that it works. Screenshots are
saved under ``target/test-artifacts/``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import archmotif
from archmotif import synthetic
from archmotif.viz import write_html

ARTIFACTS = Path(__file__).resolve().parents[2] / "target" / "test-artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
INSTALL = "apt-get install -y chromium chromium-driver (as root; or run scripts/check.sh)"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.fail(f"the viewer tests need {', '.join(missing)}: {INSTALL}", pytrace=False)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,900", "--force-device-scale-factor=1"):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver, page: Path) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.resolve().as_uri())
    deadline = time.monotonic() + 30
    while driver.execute_script("return document.body.dataset.ready") != "1":
        errors = _errors(driver)
        assert not errors, errors
        assert time.monotonic() < deadline, "the viewer did not finish drawing in 30 s"
        time.sleep(0.05)


def _errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def _shot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    return path


def _click_header(driver, element) -> None:
    """A real mouse click 6 px below the top edge of ``element`` (a box's header)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    box = element.rect
    click = ActionBuilder(driver)
    click.pointer_action.move_to_location(int(box["x"] + box["width"] / 2), int(box["y"] + 6))
    click.pointer_action.click()
    click.perform()


def _css(driver, selector: str) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


@pytest.fixture(scope="module")
def resnet50(tmp_path_factory: pytest.TempPathFactory) -> tuple[archmotif.MacroGraph, Path]:
    # mined alone: with the corpus, the built-in ResNets share whole stages and resnet50
    # contracts to a few macro nodes, none repeated; alone its stages' blocks repeat
    graphs = [g for g in archmotif.datasets.load("builtin") if g.name == "resnet50"]
    mined = archmotif.mine(graphs, progress=False)
    i = 0
    page = tmp_path_factory.mktemp("viewer") / "resnet50.html"
    archmotif.view(mined, page, index=i)
    return mined.macro_graphs[i], page


def test_real_model_loads_shows_its_macro_graph_and_expands(browser, resnet50) -> None:
    mg, page = resnet50
    _open(browser, page)
    from selenium.webdriver.common.by import By

    assert browser.find_element(By.ID, "macro-count").text == str(mg.num_nodes)
    assert len(_css(browser, "g.macro")) == mg.num_nodes
    assert _css(browser, "g.op") == []  # nothing but the macro graph until asked
    # the largest macro node: one click unfolds it into exactly its operators
    instances = mg.instances  # (a property that sorts the graph's nodes each time)
    k = max(range(mg.num_nodes), key=lambda i: (len(instances[i]), -i))
    nodes = instances[k]
    _css(browser, f'g.macro[data-i="{k}"]')[0].click()
    ops = _css(browser, f'g.macro[data-i="{k}"] g.op')
    assert len(ops) == len(nodes) > 5
    names = [o.find_element(By.TAG_NAME, "text").get_attribute("textContent") for o in ops]
    # each with its attributes (mined at the "op" level, the graph still has them)
    viewed = mg.graph.view("attrs")
    assert Counter(names) == Counter(viewed.op_names[viewed.ops[v]] for v in nodes)
    assert any("[" in n for n in names)
    # child motifs are drawn as nested groups of a lower level
    assert _css(browser, f'g.macro[data-i="{k}"] g.group')
    assert browser.find_element(By.ID, "op-count").text == str(len(nodes))
    _shot(browser, "viewer-resnet50-expanded.png")
    # a click on a child motif's header folds just that child into one box
    child = _css(browser, f'g.macro[data-i="{k}"] g.group.expanded')[0]
    inside = len(child.find_elements(By.CSS_SELECTOR, "g.op"))
    _click_header(browser, child.find_element(By.CSS_SELECTOR, ":scope > rect.frame"))
    shown = len(nodes) - inside
    assert len(_css(browser, f'g.macro[data-i="{k}"] g.op')) == shown
    assert browser.find_element(By.ID, "op-count").text == str(shown)
    _click_header(browser, _css(browser, f'g.macro[data-i="{k}"] g.group:not(.expanded)')[0])
    assert len(_css(browser, f'g.macro[data-i="{k}"] g.op')) == len(nodes)
    # without child motifs: the same operators, flat, as the DAG they form
    browser.find_element(By.ID, "nested").click()
    assert len(_css(browser, f'g.macro[data-i="{k}"] g.op')) == len(nodes)
    assert _css(browser, "g.group") == []
    browser.find_element(By.ID, "nested").click()
    assert _css(browser, f'g.macro[data-i="{k}"] g.group')
    assert not _errors(browser)
    # a click on the expanded box's header folds it again
    _click_header(browser, _css(browser, f'g.macro[data-i="{k}"] > rect.frame')[0])
    assert _css(browser, "g.op") == []


def test_hovering_a_motif_highlights_all_its_instances(browser, resnet50) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    mg, page = resnet50
    _open(browser, page)
    counts = Counter(int(m) for m in mg.motifs)
    motif, n = counts.most_common(1)[0]
    assert n > 1
    row = _css(browser, f'#motif-rows tr[data-m="{motif}"]')[0]
    ActionChains(browser).move_to_element(row).perform()
    lit = _css(browser, "g.macro.hl")
    assert len(lit) == n
    assert {e.get_attribute("data-m") for e in lit} == {str(motif)}
    _shot(browser, "viewer-resnet50-hover.png")


def test_names_with_markup_are_shown_as_text(browser, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    evil = '</script><script>alert("x")</script><img src=x onerror=alert(1)>'
    g = archmotif.OpGraph(["input", evil, "relu", evil, "relu"], [[0, 1, 2, 3], [1, 2, 3, 4]],
                          name=evil)  # fmt: skip
    page = write_html(g, tmp_path / "evil.html")
    _open(browser, page)
    assert browser.find_element(By.ID, "title").text == evil
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert _css(browser, "img") == []
    assert not _errors(browser)


def test_unusual_macro_graphs_open_without_errors(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    g = synthetic.resnet_like(61)
    mined = archmotif.mine(g, progress=False)
    novel = archmotif.OpGraph(["input", "conv_new", "relu"], [[0, 1], [1, 2]], name="novel")
    cases = {
        "empty": archmotif.OpGraph([], name="empty"),
        "one operator": archmotif.OpGraph(["input"]),
        # an op the vocabulary never saw: its macro node has no motif (index -1)
        "unknown motif": mined.apply([novel], progress=False)[0],
        # a user partition: motifs without children or levels
        "contracted": archmotif.contract(g, [0] + [1 + i // 10 for i in range(60)]),
    }
    assert (cases["unknown motif"].motifs < 0).any()
    for what, obj in cases.items():
        page = write_html(obj, tmp_path / "case.html")
        _open(browser, page)
        n = len(obj.ops) if isinstance(obj, archmotif.OpGraph) else obj.num_nodes
        assert browser.find_element(By.ID, "macro-count").text == str(n), what
        for k in range(min(n, 3)):  # expanding works where there is something to expand
            browser.execute_script(
                "document.querySelector(`g.macro[data-i='${arguments[0]}'] > rect`)"
                ".dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                k,
            )
        assert not _errors(browser), what
    ops = _css(browser, 'g.macro[data-i="1"] g.op')
    assert len(ops) == 10  # the contracted graph's second group


def _expand(driver, k: int) -> float:
    """Brings macro node k into the window, clicks it; the click's handling time in ms."""
    return driver.execute_script(
        "archmotifViewer.reveal(arguments[0]);"
        "const e = document.querySelector(`g.macro[data-i='${arguments[0]}'] > rect`);"
        "const t = performance.now();"
        "e.dispatchEvent(new MouseEvent('click', {bubbles: true}));"
        "return performance.now() - t;",
        k,
    )


def test_a_100k_node_model_opens_and_stays_responsive(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    g = synthetic.resnet_like(100_000)
    mined = archmotif.mine(g, progress=False)
    mg = mined.macro_graphs[0]
    page = archmotif.view(mined, tmp_path / "big.html", index=0)
    t = time.perf_counter()
    _open(browser, page)
    load = time.perf_counter() - t
    assert browser.find_element(By.ID, "macro-count").text == str(mg.num_nodes)
    # only what is in or near the window is in the page
    assert 0 < len(_css(browser, "g.macro")) < 100
    k = mg.num_nodes // 2
    ms = _expand(browser, k)
    assert len(_css(browser, f'g.macro[data-i="{k}"] g.op')) == len(mg.instances[k])
    assert browser.find_element(By.ID, "op-count").text == str(len(mg.instances[k]))
    assert load < 20, f"took {load:.1f} s to open"
    assert ms < 1000, f"expanding one node took {ms:.0f} ms"
    assert not _errors(browser)
    print(f"\n100k-node page: opened in {load:.2f} s, one expansion in {ms:.0f} ms")


def test_a_macro_graph_of_10k_nodes_opens(browser, tmp_path: Path) -> None:
    # little repetition (random ops): the macro graph stays large, and is still drawn
    # only where the window is
    from selenium.webdriver.common.by import By

    rng = np.random.default_rng(0)
    n = 20_000
    chain = np.stack([np.arange(n - 1), np.arange(1, n)])
    a = rng.integers(0, n - 30, 4000)
    skips = np.stack([a, a + rng.integers(2, 30, a.size)])
    ops = rng.integers(0, 40, n).astype(np.int32)
    g = archmotif.OpGraph(ops, np.concatenate([chain, skips], axis=1),
                          op_names=[f"op{i}" for i in range(40)], name="random")  # fmt: skip
    mined = archmotif.mine(g, progress=False)
    mg = mined.macro_graphs[0]
    assert mg.num_nodes > 8000
    t = time.perf_counter()
    _open(browser, archmotif.view(mined, tmp_path / "random.html", index=0))
    load = time.perf_counter() - t
    assert browser.find_element(By.ID, "macro-count").text == str(mg.num_nodes)
    sizes = np.bincount(mg.node_to_macro)
    k = int(sizes.argmax())
    assert _expand(browser, k) < 1000
    assert len(_css(browser, f'g.macro[data-i="{k}"] g.op')) == sizes[k]
    assert load < 20 and not _errors(browser)
    _shot(browser, "viewer-random-20k.png")


def _unet() -> archmotif.OpGraph:
    """A U-Net-like graph whose skip connections span several layers (1 -> 6, 2 -> 5 in
    macro terms: every op is distinct, so each is its own macro node)."""
    ops = ["input", "conv_a", "pool_a", "conv_b", "pool_b", "conv_mid", "up_b", "cat_b",
           "conv_up_b", "up_a", "cat_a", "conv_out"]  # fmt: skip
    i = {op: k for k, op in enumerate(ops)}
    chain = list(itertools.pairwise(ops))
    skips = [("conv_a", "cat_a"), ("conv_b", "cat_b")]
    return archmotif.OpGraph.from_edges(
        ops, [(i[a], i[b]) for a, b in chain + skips], name="tiny-unet"
    )


# Samples every edge path every 3 px (screen coordinates) and returns the samples that
# fall inside a box (shrunk by 2 px, so an edge's own end on a border does not count).
_EDGES_UNDER_BOXES = """
const boxes = Array.from(document.querySelectorAll(arguments[0]))
  .map((r) => r.getBoundingClientRect());
const out = [], paths = Array.from(document.querySelectorAll("path.edge"));
for (const p of paths) {
  const m = p.getScreenCTM(), n = p.getTotalLength();
  for (let s = 0; s <= n; s += 3) {
    const q = p.getPointAtLength(s);
    const x = m.a * q.x + m.c * q.y + m.e, y = m.b * q.x + m.d * q.y + m.f;
    for (const b of boxes) {
      if (x > b.left + 2 && x < b.right - 2 && y > b.top + 2 && y < b.bottom - 2) out.push([x, y]);
    }
  }
}
return [paths.length, out.length];
"""


def test_unet_skip_edges_are_drawn_around_the_boxes(browser, tmp_path: Path) -> None:
    g = _unet()
    mined = archmotif.mine([g], progress=False)
    page = write_html(mined, tmp_path / "unet.html")
    _open(browser, page)
    _shot(browser, "unet-skips.png")
    drawn, under = browser.execute_script(_EDGES_UNDER_BOXES, "g.macro > rect.frame")
    assert drawn == mined.macro_graphs[0].num_edges == g.num_edges  # both skips are there
    assert under == 0, f"{under} edge samples pass under a box"


def test_an_expanded_residual_block_shows_its_residual_edge(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    g = synthetic.resnet_like(61)
    page = write_html(g, tmp_path / "res.html")
    _open(browser, page)
    biggest = max(browser.find_elements(By.CSS_SELECTOR, "g.macro"),
                  key=lambda e: e.rect["height"] * e.rect["width"])  # fmt: skip
    _click_header(browser, biggest)
    time.sleep(0.3)
    expanded = browser.find_elements(By.CSS_SELECTOR, "g.macro.expanded")
    assert expanded
    inner_edges = expanded[0].find_elements(By.CSS_SELECTOR, "path.edge")
    assert inner_edges
    _shot(browser, "residual-expanded.png")
    _, under = browser.execute_script(_EDGES_UNDER_BOXES, "g.macro.expanded g.op > rect")
    assert under == 0, f"{under} edge samples pass under an operator box"


def test_a_macro_node_names_the_modules_it_covers(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    block = ["conv", "batch_norm", "relu", "conv", "batch_norm", "add", "relu"]
    ops, edges, names = ["input"], [], ["x"]
    for b in range(4):
        start, last = len(ops), len(ops) - 1
        ops += block
        names += [f"layer1.{b}.{part}" for part in ("conv1", "bn1", "relu", "conv2", "bn2")]
        names += [f"layer1.{b}", f"layer1.{b}.relu"]
        edges += [(last, start)] + [(start + k, start + k + 1) for k in range(6)]
        edges += [(last, start + 5)]
    g = archmotif.OpGraph.from_edges(ops, edges, name="named", node_names=names)
    page = write_html(g, tmp_path / "named.html")
    _open(browser, page)
    titles = [t.get_attribute("textContent")
              for t in browser.find_elements(By.CSS_SELECTOR, "g.macro > title")]  # fmt: skip
    # two blocks per instance (layer1.0 + layer1.1): their common module is layer1
    assert titles.count("relu×4 batch_norm×4 conv×4 add×2 \u2014 module layer1") == 2, titles
    assert "input \u2014 module x" in titles


# The shape labels drawn, with how many of them overlap an operator's or macro node's box
# (shrunk by 1 px, so a label touching a border does not count).
_LABELS_ON_BOXES = """
const boxes = Array.from(
  document.querySelectorAll("g.op > rect, g.macro:not(.expanded) > rect.frame")
).map((r) => r.getBoundingClientRect());
const labels = Array.from(document.querySelectorAll(arguments[0]));
let on = 0;
for (const t of labels) {
  const a = t.getBoundingClientRect();
  const hit = (b) => a.left < b.right - 1 && a.right > b.left + 1
    && a.top < b.bottom - 1 && a.bottom > b.top + 1;
  if (boxes.some(hit)) on++;
}
return [labels.map((t) => t.textContent), on];
"""


def test_a_traced_resnet18_shows_tensor_shapes_on_its_edges(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    pytest.importorskip("torchvision")
    g = archmotif.trace("resnet18")
    mined = archmotif.mine([g], progress=False)
    mg = mined.macro_graphs[0]
    _open(browser, write_html(mined, tmp_path / "r18.html"))
    # the macro edges: the stem's tensors as they shrink
    macro, on = browser.execute_script(_LABELS_ON_BOXES, "g.labels text.shape")
    assert {"1×3×224×224", "1×64×112×112", "1×64×56×56"} <= set(macro) and on == 0
    # the largest macro node (two residual blocks) expanded: every edge inside is labelled
    instances = mg.instances
    k = max(range(mg.num_nodes), key=lambda i: (len(instances[i]), -i))
    _expand(browser, k)
    inner, on = browser.execute_script(_LABELS_ON_BOXES, f'g.macro[data-i="{k}"] text.shape')
    shapes = {g.output_shapes()[v] for v in instances[k]}
    assert inner and set(inner) <= shapes | {"2 tensors"}, inner
    assert on == 0, f"{on} shape labels lie on a box"
    # without child motifs, operator to operator: each label is its source's shape
    browser.find_element(By.ID, "nested").click()
    flat, on = browser.execute_script(_LABELS_ON_BOXES, f'g.macro[data-i="{k}"] text.shape')
    assert len(flat) >= len(instances[k]) - 1 and set(flat) <= shapes and on == 0
    # an operator's tooltip: its module, attributes, output shape and parameters
    tips = [t.get_attribute("textContent")
            for t in _css(browser, f'g.macro[data-i="{k}"] g.op > title')]  # fmt: skip
    conv = [t for t in tips if "convolution[k3]" in t and "parameters" in t]
    assert conv and "output 1×" in conv[0], tips
    _shot(browser, "viewer-resnet18-shapes.png")
    browser.find_element(By.ID, "nested").click()
    assert not _errors(browser)
