// archmotif viewer: the layered (Sugiyama-style) layout. Inlined into each page before
// viewer.js by archmotif/viz/html.py. Licence: Apache-2.0. Our own code: npm is not
// reachable from our build and no PyPI package ships a current dagre.
//
// layer(): longest-path layers and barycentre order, as layout.py does for the macro
// graph. route(): an edge that spans several layers gets one dummy node ("lane") per
// layer it crosses; lanes are ordered with the boxes by barycentre sweeps and take a
// slot of their own in their row. lanePath() draws the edge through its lanes, so a long
// edge (a U-Net skip, a residual) runs in the gaps between boxes, never under one.
// arrange(): pixel positions from layer, rank and sizes.
"use strict";
function archmotifLayout(GAP_X) {
  const LANE_W = 10;  // the slot a long edge takes in each row it crosses
  // longest-path layers, sources pulled down, four barycentre sweeps (as layout.py)
  function layer(items, links) {
    const n = items.length, indeg = new Array(n).fill(0), succ = items.map(() => []), pred = items.map(() => []);
    for (const [a, b] of links) { indeg[b]++; succ[a].push(b); pred[b].push(a); }
    const queue = [], lay = new Array(n).fill(0);
    for (let a = 0; a < n; a++) if (!indeg[a]) queue.push(a);
    for (let q = 0; q < queue.length; q++) {
      const a = queue[q];
      for (const b of succ[a]) { lay[b] = Math.max(lay[b], lay[a] + 1); if (--indeg[b] === 0) queue.push(b); }
    }
    for (let q = queue.length - 1; q >= 0; q--) {  // pull down to just above successors
      const a = queue[q];
      if (succ[a].length) lay[a] = Math.max(lay[a], Math.min(...succ[a].map((b) => lay[b])) - 1);
    }
    const rank = new Array(n).fill(0), byLayer = [];
    queue.forEach((a) => { (byLayer[lay[a]] = byLayer[lay[a]] || []).push(a); });
    const place = () => byLayer.forEach((row) => row.forEach((a, r) => { rank[a] = r - (row.length - 1) / 2; }));
    place();
    for (let sweep = 0; sweep < 4; sweep++) {
      const nb = sweep % 2 === 0 ? pred : succ;
      for (const row of byLayer) {
        const key = new Map(row.map((a) => [a, nb[a].length ? nb[a].reduce((s, b) => s + rank[b], 0) / nb[a].length : rank[a]]));
        row.sort((a, b) => key.get(a) - key.get(b) || rank[a] - rank[b]);
      }
      place();
    }
    byLayer.forEach((row) => row.forEach((a, r) => { items[a].layer = lay[a]; items[a].rank = r; }));
  }
  // Long links get a dummy per layer crossed; dummies and items are ordered together by
  // barycentre sweeps (items keep their relative start order); g.all holds both, and
  // g.routes[k] the chain of g.all indices link k runs through.
  function route(g, items, links) {
    const all = items.slice(), nb = items.map(() => [[], []]);
    // a huge macro graph with many long edges would need millions of lanes: past this
    // budget its edges are drawn directly (crossing boxes) rather than the page stalling
    const lanes = links.reduce((s, [a, b]) => s + Math.max(0, items[b].layer - items[a].layer - 1), 0);
    const budget = lanes <= 200000;
    g.routes = links.map(([a, b]) => {
      const chain = [a];
      for (let l = items[a].layer + 1; budget && l < items[b].layer; l++) {
        const t = (l - items[a].layer) / (items[b].layer - items[a].layer);
        all.push({ kind: "lane", layer: l, rank: items[a].rank + t * (items[b].rank - items[a].rank), w: LANE_W, h: 0 });
        nb.push([[], []]);
        chain.push(all.length - 1);
      }
      chain.push(b);
      for (let k = 1; k < chain.length; k++) { nb[chain[k]][0].push(chain[k - 1]); nb[chain[k - 1]][1].push(chain[k]); }
      return chain;
    });
    const rows = [];
    all.forEach((it, a) => (rows[it.layer] = rows[it.layer] || []).push(a));
    const rank = all.map((it) => it.rank);
    const place = () => rows.forEach((row) => row && row.forEach((a, r) => { rank[a] = r - (row.length - 1) / 2; }));
    for (const row of rows) if (row) row.sort((a, b) => rank[a] - rank[b]);
    place();
    for (let sweep = 0; sweep < (all.length > items.length ? 6 : 0); sweep++) {
      const dir = sweep % 2 === 0 ? 0 : 1;
      for (const row of dir === 0 ? rows : rows.slice().reverse()) {
        if (!row) continue;
        const key = new Map(row.map((a) => [a, nb[a][dir].length ? nb[a][dir].reduce((s, b) => s + rank[b], 0) / nb[a][dir].length : rank[a]]));
        row.sort((a, b) => key.get(a) - key.get(b) || rank[a] - rank[b]);
        row.forEach((a, r) => { rank[a] = r - (row.length - 1) / 2; });
      }
    }
    rows.forEach((row) => row && row.forEach((a, r) => { all[a].rank = r; }));
    g.all = all;
  }
  // an edge through its lanes: down the middle of each lane's row, curves between rows
  function lanePath(chain, all, dx, dy) {
    const p = all[chain[0]], q = all[chain[chain.length - 1]];
    const pts = [[p.x + p.w / 2, p.y + p.h]];
    for (let k = 1; k < chain.length - 1; k++) {
      const d = all[chain[k]], x = d.x + d.w / 2;
      pts.push([x, d.rowY], [x, d.rowY + d.rowH]);
    }
    pts.push([q.x + q.w / 2, q.y]);
    let path = `M${pts[0][0] + dx},${pts[0][1] + dy}`;
    for (let k = 1; k < pts.length; k++) {
      const [x1, y1] = pts[k - 1], [x2, y2] = pts[k];
      if (k % 2 === 0 && x1 === x2) { path += ` L${x2 + dx},${y2 + dy}`; continue; }  // through a row
      const my = (y1 + y2) / 2;
      path += ` C${x1 + dx},${my + dy} ${x2 + dx},${my + dy} ${x2 + dx},${y2 + dy}`;
    }
    return path;
  }
  // pixel positions from layer, rank and sizes; returns the extent
  function arrange(items, gapY) {
    const rows = [];
    for (const it of items) (rows[it.layer] = rows[it.layer] || []).push(it);
    let y = 0, width = 0;
    const widths = rows.map((row) => { row.sort((a, b) => a.rank - b.rank); return row.reduce((s, it) => s + it.w, 0) + GAP_X * (row.length - 1); });
    for (const w of widths) width = Math.max(width, w || 0);
    rows.forEach((row, l) => {
      if (!row) return;
      const h = Math.max(...row.map((it) => it.h));
      let x = (width - widths[l]) / 2;
      for (const it of row) { it.x = x; it.y = y + (h - it.h) / 2; it.rowY = y; it.rowH = h; x += it.w + GAP_X; }
      y += h + gapY;
    });
    return [width, Math.max(0, y - gapY)];
  }
  return { layer, route, lanePath, arrange };
}
