// archmotif macro-graph viewer. Inlined into each page by archmotif/viz/html.py.
// Licence: Apache-2.0, as the rest of archmotif. Vanilla JS, no library, no network.
//
// Reads the JSON payload of the "archmotif-data" element. The macro graph's layers and
// initial ranks come precomputed from Python; the layered layout with its dummy nodes
// for long edges is viewer_layout.js (inlined before this file). Pixel positions are
// derived from the box sizes, so expanding a node only moves boxes. Expanded contents
// (child motifs, operators) are laid out lazily, per node.
// When the graph has them, operators show their attributes, and edges the shape of the
// tensor they carry (one label per source and shape, half-way along the edge's first
// segment, in the gap between two rows, so it never sits on a box).
// Every string from the payload reaches the page through textContent, never as HTML.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("archmotif-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const BOX_W = 190, BOX_H = 42, OP_H = 22, GAP_X = 22, GAP_Y = 34, PAD = 7, HEAD = 17;
  // inside an expanded box: tighter, so a motif fits on screen (room for shape labels)
  const INNER_GAP_Y = D.shapes ? 24 : 16;
  const { layer, route, lanePath, arrange } = archmotifLayout(GAP_X);
  const N = D.ops.length, M = D.macro.motif.length;
  let lit = null;  // the highlighted motif

  // original nodes grouped by macro node (ascending), and inner edges per macro node
  const memStart = new Int32Array(M + 1);
  for (let v = 0; v < N; v++) memStart[D.n2m[v] + 1]++;
  for (let i = 0; i < M; i++) memStart[i + 1] += memStart[i];
  const members = new Int32Array(N);
  const fill = memStart.slice(0, M);
  for (let v = 0; v < N; v++) members[fill[D.n2m[v]]++] = v;
  const innerStart = new Int32Array(M + 1);
  for (let k = 0; k < D.inner[0].length; k++) innerStart[D.n2m[D.inner[0][k]] + 1]++;
  for (let i = 0; i < M; i++) innerStart[i + 1] += innerStart[i];

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, cls, maxW) {
    const t = el("text", { x: x, y: y, class: cls }, parent);
    // average glyph widths of the fonts in viewer.css (bold headers are wider)
    const max = Math.max(3, Math.floor(maxW / (cls === "head" ? 7.4 : 6.4)));
    t.textContent = s.length > max ? s.slice(0, max - 1) + "\u2026" : s;
    return t;
  }
  const motifOf = (m) => (m >= 0 ? D.motifs[String(m)] : undefined);
  const opName = (v) => D.opNames[D.ops[v]];
  // the op with its attributes, unless its name already carries them (an "attrs" view)
  const opLabel = (v) => {
    const a = D.attrs ? D.attrNames[D.attrs[v]] : "", op = opName(v);
    return a && !op.endsWith("]") ? op + "[" + a + "]" : op;
  };
  const opWidth = (v) => Math.min(200, Math.max(64, 7 * opLabel(v).length + 16));
  const shapeOf = (v) => (D.shapes ? D.shapeNames[D.shapes[v]] : "");
  // what a link carries: the shape of its one tensor, or how many tensors it carries
  const carried = (sources) => (!D.shapes || !sources.size ? "" : sources.size > 1 ? sources.size + " tensors" : shapeOf(sources.values().next().value));
  // a shape label half-way along the first segment of a routed edge (see the header)
  function shapeLabel(parent, chain, all, s, seen) {
    if (!s || seen.has(chain[0] + "|" + s)) return null;
    seen.add(chain[0] + "|" + s);
    const p = all[chain[0]], q = all[chain[1]];
    const x1 = p.x + p.w / 2, y1 = p.y + p.h, x2 = q.x + q.w / 2, y2 = q.kind === "lane" ? q.rowY : q.y;
    const t = el("text", { x: (x1 + x2) / 2 + 3, y: (y1 + y2) / 2 + 3, class: "shape" }, parent);
    t.textContent = s;
    return t;
  }

  // "child motifs" on: an expanded node shows the motifs it was merged from, nested
  // down to the operators; off: its operators alone, as the DAG they form
  const nested = document.getElementById("nested");

  // ---- items: a macro node, a child-motif group, or one operator ----
  function topItem(i) {
    const nodes = Array.from(members.subarray(memStart[i], memStart[i + 1]));
    const edges = [];
    for (let k = innerStart[i]; k < innerStart[i + 1]; k++) edges.push([D.inner[0][k], D.inner[1][k]]);
    return { kind: "group", top: true, i: i, motif: D.macro.motif[i], nodes: nodes,
             pos: nodes.map((v) => D.pos[v]), edges: edges, expanded: false };
  }
  function content(g) {
    if (g.items) return g.items;
    const m = motifOf(g.motif);
    const items = [];
    const home = new Map();
    if (nested.checked && m && m.split && g.pos.every((p) => p >= 0)) {
      const slots = m.children.map((c) => ({ kind: "group", motif: c, nodes: [], pos: [],
                                              edges: [], expanded: true }));
      g.nodes.forEach((v, j) => { const s = slots[m.split[g.pos[j]]]; s.nodes.push(v); s.pos.push(m.sub[g.pos[j]]); });
      for (const s of slots) {
        const it = s.nodes.length === 1 ? { kind: "op", node: s.nodes[0] } : s;
        for (const v of s.nodes) home.set(v, items.length);
        items.push(it);
      }
    } else {
      for (const v of g.nodes) { home.set(v, items.length); items.push({ kind: "op", node: v }); }
    }
    const links = new Map();
    g.links = [];
    g.sources = [];  // per link, the operators whose outputs it carries
    for (const [u, v] of g.edges) {
      const a = home.get(u), b = home.get(v);
      if (a === b) { if (items[a].kind === "group") items[a].edges.push([u, v]); continue; }
      const key = a * items.length + b;
      if (!links.has(key)) { links.set(key, g.links.length); g.links.push([a, b]); g.sources.push(new Set()); }
      g.sources[links.get(key)].add(u);
    }
    layer(items, g.links);
    route(g, items, g.links);
    g.items = items;
    return items;
  }
  function measure(it) {
    if (it.kind === "lane") return;
    if (it.kind === "op") { it.w = opWidth(it.node); it.h = OP_H; return; }
    if (!it.expanded) { it.w = BOX_W; it.h = BOX_H; return; }
    const items = content(it);
    items.forEach(measure);
    const [w, h] = arrange(it.all, INNER_GAP_Y);
    it.w = Math.max(w + 2 * PAD, it.top ? BOX_W : 150);
    it.h = h + 2 * PAD + HEAD;
    it.dx = (it.w - w) / 2;
  }

  // ---- drawing ----
  const svg = document.getElementById("canvas");
  const view = el("g", { id: "viewport" }, svg);
  const edgeLayer = el("g", { class: "edges" }, view);
  const labelLayer = el("g", { class: "labels" }, view);  // under the boxes, should one overlap
  const nodeLayer = el("g", { class: "nodes" }, view);
  // the modules an instance covers, from node names (module paths for a traced model):
  // their common path when there is one ("layer1.0"), else the first few distinct ones
  function modulesOf(nodes) {
    if (!D.nodeNames) return "";
    if (nodes.length === 1) return "module " + D.nodeNames[nodes[0]];
    const paths = nodes.map((v) => D.nodeNames[v].split("."));
    let common = paths[0].slice(0, -1);
    for (const p of paths) { let k = 0; while (k < common.length && common[k] === p[k]) k++; common = common.slice(0, k); }
    if (common.length) return "module " + common.join(".");
    const seen = Array.from(new Set(paths.map((p) => p.slice(0, 2).join("."))));
    return "modules " + seen.slice(0, 4).join(", ") + (seen.length > 4 ? ", \u2026" : "");
  }
  function label(m, it) {
    const mo = motifOf(m);
    return mo ? mo.label : "unknown motif (" + it.nodes.length + " ops)";
  }
  function drawItem(it, parent) {
    const g = el("g", { transform: `translate(${it.x},${it.y})` }, parent);
    if (it.kind === "op") {
      g.setAttribute("class", "op");
      g.dataset.node = it.node;
      el("rect", { width: it.w, height: it.h, rx: 4 }, g);
      text(g, it.w / 2, 15, opLabel(it.node), "optext", it.w - 6);
      const t = el("title", {}, g);
      const shape = shapeOf(it.node), params = D.params ? D.params[it.node] : 0;
      t.textContent = (D.nodeNames ? D.nodeNames[it.node] + " \u2014 " : "") + opLabel(it.node) + " (node " + it.node + ")" +
        (shape ? " \u00b7 output " + shape : "") + (params ? " \u00b7 " + params.toLocaleString("en-US") + " parameters" : "");
      return g;
    }
    g.setAttribute("class", (it.top ? "macro" : "group") + (it.expanded ? " expanded" : "") + (it.motif === lit ? " hl" : ""));
    if (it.top) g.dataset.i = it.i;
    g.dataset.m = it.motif;
    it.el = g;
    const mo = motifOf(it.motif);
    const tag = it.motif >= 0 ? "#" + it.motif : "?";
    el("rect", { width: it.w, height: it.h, rx: 6, class: "frame" }, g);
    const covers = modulesOf(it.nodes);
    if (covers) el("title", {}, g).textContent = label(it.motif, it) + " \u2014 " + covers;
    if (!it.expanded) {
      const here = mo ? " \u00d7" + mo.here : "";
      text(g, 8, 16, tag + here + "  \u00b7 " + it.nodes.length + " ops" + (mo ? " \u00b7 L" + mo.level : ""), "head", it.w - 12);
      text(g, 8, 32, label(it.motif, it), "sub", it.w - 12);
    } else {
      text(g, 6, 13, tag + " " + label(it.motif, it), "head", it.w - 10);
      const inner = el("g", { transform: `translate(${it.dx},${PAD + HEAD})` }, g);
      const seen = new Set();
      it.routes.forEach((chain, k) => {
        el("path", { d: lanePath(chain, it.all, 0, 0), class: "edge" }, inner);
        shapeLabel(inner, chain, it.all, carried(it.sources[k]), seen);
      });
      for (const c of it.items) drawItem(c, inner);
    }
    return g;
  }

  const tops = [];
  for (let i = 0; i < M; i++) {
    tops.push(topItem(i));
    tops[i].layer = D.macro.layer[i];
    tops[i].rank = D.macro.rank[i];
  }
  // Only boxes and edges in or near the window are in the DOM (re-checked on every pan,
  // zoom or expansion: a loop over the macro graph, no DOM work for what stays out), so
  // a macro graph of tens of thousands of nodes opens as fast as a small one.
  const top = {};
  route(top, tops, D.macro.edges[0].map((a, k) => [a, D.macro.edges[1][k]]));
  const topEdges = top.routes.map((chain, k) => ({ chain: chain, p: tops[chain[0]], q: tops[chain[chain.length - 1]], w: D.macro.weights[k],
                                                   shape: D.edgeShapes ? D.edgeShapes[k] : "", el: null }));
  // the shape labels of the macro edges drawn (one per source and shape, as inside a box)
  function relabel() {
    if (!D.edgeShapes) return;
    labelLayer.replaceChildren();
    const seen = new Set();
    for (const e of topEdges) if (e.el) shapeLabel(labelLayer, e.chain, top.all, e.shape, seen);
  }
  let extent = [0, 0];
  const tv = { x: 20, y: 20, s: 1 };
  function edgePath(e) { return lanePath(e.chain, top.all, 0, 0); }
  function cull() {
    const r = svg.getBoundingClientRect(), vw = r.width / tv.s, vh = r.height / tv.s;
    const x0 = -tv.x / tv.s - vw / 2, y0 = -tv.y / tv.s - vh / 2, x1 = x0 + 2 * vw, y1 = y0 + 2 * vh;
    for (const it of tops) {
      const vis = it.x < x1 && it.x + it.w > x0 && it.y < y1 && it.y + it.h > y0;
      if (vis && !it.el) drawItem(it, nodeLayer);
      else if (!vis && it.el) { it.el.remove(); it.el = null; }
    }
    let changed = false;
    for (const e of topEdges) {
      let lo = Infinity, hi = -Infinity;
      for (const a of e.chain) { const c = top.all[a]; lo = Math.min(lo, c.x + c.w / 2); hi = Math.max(hi, c.x + c.w / 2); }
      const vis = lo < x1 && hi > x0 && e.p.y + e.p.h < y1 && e.q.y > y0;
      if (vis && !e.el) {
        e.el = el("path", { class: "edge", d: edgePath(e) }, edgeLayer);
        if (e.w > 1) e.el.style.strokeWidth = String(Math.min(4, 1 + Math.log2(e.w)));
        changed = true;
      } else if (!vis && e.el) { e.el.remove(); e.el = null; changed = true; }
    }
    if (changed) relabel();
  }
  function relayout() {
    extent = arrange(top.all, GAP_Y);
    for (const it of tops) if (it.el) it.el.setAttribute("transform", `translate(${it.x},${it.y})`);
    for (const e of topEdges) if (e.el) e.el.setAttribute("d", edgePath(e));
    relabel();  // labels move with their edges
    cull();
  }
  function redraw(it) {
    measure(it);
    if (it.el) it.el.replaceWith(drawItem(it, null));
  }
  tops.forEach(measure);
  extent = arrange(top.all, GAP_Y);

  // ---- interaction: expand/collapse, highlight, pan and zoom ----
  function findItem(g) {
    const chain = [];
    for (let e = g; e && e !== nodeLayer; e = e.parentNode) if (e.classList && (e.classList.contains("macro") || e.classList.contains("group"))) chain.unshift(e);
    if (!chain.length) return null;
    let it = tops[+chain[0].dataset.i];
    const path = [it];
    for (const e of chain.slice(1)) { it = it.items.find((c) => c.el === e); path.push(it); }
    return path;
  }
  nodeLayer.addEventListener("click", (ev) => {
    if (dragged || ev.target.closest("g.op")) return;
    const path = findItem(ev.target);
    if (!path) return;
    const it = path[path.length - 1];
    if (it.nodes.length < 2) return;
    it.expanded = !it.expanded;
    if (!it.expanded) it.items.forEach((c) => { if (c.kind === "group") c.expanded = true; });
    // sizes change from the clicked box up to its macro node; redraw that macro node
    redraw(path[0]);
    relayout();
    status();
  });
  function highlight(m) {
    if (lit === m) return;
    document.querySelectorAll(".hl").forEach((e) => e.classList.remove("hl"));
    lit = m;
    if (m === null || m === undefined || m < 0) return;
    document.querySelectorAll(`[data-m="${m}"]`).forEach((e) => e.classList.add("hl"));
  }
  nodeLayer.addEventListener("mouseover", (ev) => {
    const path = findItem(ev.target);
    highlight(path ? path[path.length - 1].motif : null);
  });
  nodeLayer.addEventListener("mouseleave", () => highlight(null));

  function applyView() {
    view.setAttribute("transform", `translate(${tv.x},${tv.y}) scale(${tv.s})`);
    cull();
  }
  function fit() {
    const box = { x: 0, y: 0, width: extent[0], height: extent[1] }, r = svg.getBoundingClientRect();
    const s = Math.min(1.5, (r.width - 40) / Math.max(box.width, 1), (r.height - 40) / Math.max(box.height, 1));
    if (s < 0.35) { tv.s = 1; tv.x = (r.width - box.width) / 2 - box.x; tv.y = 20; } else {
      tv.s = s; tv.x = (r.width - box.width * s) / 2 - box.x * s; tv.y = 20 - box.y * s;
    }
    applyView();
  }
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect(), px = ev.clientX - r.left, py = ev.clientY - r.top;
    // ctrl/cmd + wheel (and trackpad pinch) zooms at the cursor; a plain wheel pans
    if (ev.ctrlKey || ev.metaKey) {
      const f = Math.exp(-ev.deltaY * 0.002), s = Math.min(4, Math.max(0.01, tv.s * f));
      tv.x = px - (px - tv.x) * (s / tv.s); tv.y = py - (py - tv.y) * (s / tv.s); tv.s = s;
    } else { tv.x -= ev.deltaX; tv.y -= ev.deltaY; }
    applyView();
  }, { passive: false });
  let drag = null, dragged = false;
  svg.addEventListener("mousedown", (ev) => { drag = [ev.clientX, ev.clientY, tv.x, tv.y]; dragged = false; });
  window.addEventListener("mousemove", (ev) => {
    if (!drag) return;
    if (Math.abs(ev.clientX - drag[0]) + Math.abs(ev.clientY - drag[1]) > 4) dragged = true;
    if (dragged) { tv.x = drag[2] + ev.clientX - drag[0]; tv.y = drag[3] + ev.clientY - drag[1]; applyView(); }
  });
  window.addEventListener("mouseup", () => { drag = null; setTimeout(() => { dragged = false; }, 0); });
  function zoom(f) { const r = svg.getBoundingClientRect(); const cx = r.width / 2, cy = r.height / 2, s = Math.min(4, Math.max(0.01, tv.s * f)); tv.x = cx - (cx - tv.x) * (s / tv.s); tv.y = cy - (cy - tv.y) * (s / tv.s); tv.s = s; applyView(); }
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("zoom-in").addEventListener("click", () => zoom(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(0.8));
  document.getElementById("collapse").addEventListener("click", () => {
    for (const it of tops) if (it.expanded) { it.expanded = false; redraw(it); }
    relayout(); status();
  });
  nested.addEventListener("change", () => {
    const forget = (it) => { if (it.items) it.items.forEach(forget); it.items = null; };
    for (const it of tops) { forget(it); if (it.expanded) redraw(it); }
    relayout(); status();
  });
  function status() {
    const open = tops.filter((it) => it.expanded).length;
    document.getElementById("expanded-count").textContent = String(open);
    const shown = (it) => (!it.expanded ? 0 : it.items.reduce((n, c) => n + (c.kind === "op" ? 1 : shown(c)), 0));
    document.getElementById("op-count").textContent = String(tops.reduce((n, it) => n + shown(it), 0));
  }

  function reveal(i) {  // macro node i to the middle of the window, a third from the top
    const it = tops[i], r = svg.getBoundingClientRect();
    tv.x = r.width / 2 - (it.x + it.w / 2) * tv.s; tv.y = r.height / 3 - it.y * tv.s; applyView();
  }

  // ---- side table of motifs ----
  const body = document.getElementById("motif-rows");
  const order = Object.keys(D.motifs).map(Number).sort((a, b) => D.motifs[b].here - D.motifs[a].here || D.motifs[b].ops.length - D.motifs[a].ops.length || a - b);
  for (const m of order) {
    const mo = D.motifs[m], tr = document.createElement("tr");
    tr.dataset.m = m;
    for (const v of ["#" + m, mo.level, mo.ops.length, mo.here, mo.count, mo.support, mo.label]) {
      const td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td);
    }
    tr.title = "canonical id " + mo.id;
    tr.addEventListener("mouseenter", () => highlight(m));
    tr.addEventListener("mouseleave", () => highlight(null));
    tr.addEventListener("click", () => {
      const i = tops.findIndex((x) => x.motif === m);
      if (i >= 0) reveal(i);
    });
    body.appendChild(tr);
  }
  document.getElementById("title").textContent = D.title || "(unnamed graph)";
  document.title = "archmotif \u2014 " + (D.title || "graph");
  document.getElementById("node-count").textContent = String(N);
  document.getElementById("macro-count").textContent = String(M);
  document.getElementById("motif-count").textContent = String(order.length);
  document.getElementById("meta").textContent = Object.entries(D.labels).map(([k, v]) => k + "=" + v).join("  ") + (D.strategy ? "  strategy=" + D.strategy : "");
  // for scripts and tests: bring macro node i to the middle of the window
  window.archmotifViewer = { reveal: reveal, drawn: () => tops.filter((it) => it.el).length };
  fit();
  status();
  document.body.dataset.ready = "1";
})();
