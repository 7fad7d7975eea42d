"""The self-contained HTML viewer of one macro graph.

:func:`viewer_html` turns a mined graph into one HTML page: the payload (the macro
graph with its precomputed layered layout, the operators of every instance with their
canonical positions, the motifs reachable from the macro graph with how each divides
into its children) is embedded as JSON, and the drawing code (``viewer.js``, vanilla
JavaScript, a few hundred lines, no library) and styles (``viewer.css``) are inlined
from package data. Opening the page needs no network: a Content-Security-Policy
forbids every fetch and allows only the inlined script and style, by hash.

Safety: names come from users (model names, op names, node names, labels). They travel
only inside the JSON payload, where ``<``, ``>`` and ``&`` are written as ``\\u003c``
etc., so no name can close the ``<script>`` element; the script puts them on the page
with ``textContent`` only. The page title is HTML-escaped. Even if escaping failed, the
policy would refuse to run any script but the inlined one.

What a graph carries is shown where it has it: module paths (node names), operator
attributes (in the operator's box, ``convolution[k3,s2]``), output shapes (on every edge,
the shape of the tensor it carries; a macro edge that carries several tensors says how
many) and parameters (in the operator's tooltip).

Size: linear in the graph: about 20-25 bytes per operator (op id, macro node, position,
inner edges), plus node names, attributes, shapes and parameters when the graph has
them, plus the macro graph.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections import Counter
from importlib import resources
from typing import Any

import numpy as np

from archmotif.mining.motifs import MacroGraph, MotifVocabulary, describe_ops
from archmotif.viz.hierarchy import instance_positions, motif_splits
from archmotif.viz.layout import layered_layout

__all__ = ["PAYLOAD_FORMAT", "PAYLOAD_VERSION", "motif_label", "viewer_html", "viewer_payload"]

PAYLOAD_FORMAT = "archmotif.viewer"
PAYLOAD_VERSION = 1

# Written as JSON unicode escapes so that no payload string can end the <script>
# element or be read as markup (U+2028/9 are escaped for old JavaScript parsers).
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}  # fmt: skip
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")


def motif_label(ops: tuple[str, ...] | list[str]) -> str:
    """A short description of a motif from its ops (see ``describe_ops``)."""
    return describe_ops(ops)


def _reachable(vocab: MotifVocabulary, roots: set[int]) -> list[int]:
    seen: set[int] = set()
    stack = [r for r in roots if r >= 0]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        stack.extend(vocab[i].children)
    return sorted(seen)


def _crossing_shapes(mg: MacroGraph, shapes: list[str]) -> list[str]:
    """Per macro edge, what it carries: the shape of its one tensor (``""`` unknown), or
    ``"k tensors"`` when the operators of one macro node hand the other several."""
    g, m = mg.graph, max(mg.num_nodes, 1)
    src, dst = g.edges
    a, b = mg.node_to_macro[src], mg.node_to_macro[dst]
    cross = a != b
    # distinct (macro edge, source operator) pairs: one source operator is one tensor
    pairs = np.unique(np.stack([a[cross] * m + b[cross], src[cross]]), axis=1)
    keys, first, count = np.unique(pairs[0], return_index=True, return_counts=True)
    out = []
    for key in (mg.edges[0] * m + mg.edges[1]).tolist():
        i = int(np.searchsorted(keys, key))
        if i == len(keys) or keys[i] != key:  # (a macro edge always has an operator edge)
            out.append("")
        elif count[i] == 1:
            out.append(shapes[int(pairs[1, first[i]])])
        else:
            out.append(f"{int(count[i])} tensors")
    return out


def _node_metadata(mg: MacroGraph) -> dict[str, Any]:
    """The optional per-operator fields of the payload (None where the graph has none)."""
    g = mg.graph
    shapes = g.output_shapes() if g.node_shapes is not None else None
    return {
        "attrs": None if g.attrs is None else g.attrs.tolist(),
        "attrNames": list(g.attr_names),
        "shapes": None if g.node_shapes is None else g.node_shapes.tolist(),
        "shapeNames": list(g.shape_names),
        "params": None if g.node_params is None else g.node_params.tolist(),
        "edgeShapes": None if shapes is None else _crossing_shapes(mg, shapes),
    }


def viewer_payload(mg: MacroGraph, *, strategy: str = "", title: str | None = None) -> dict:
    """The JSON-ready data the viewer draws (see the module docstring)."""
    g = mg.graph
    lay = layered_layout(mg.num_nodes, mg.edges)
    motifs_arr = mg.motifs.astype(np.int64)
    here = Counter(motifs_arr.tolist())
    vocab = mg.vocabulary
    reach = _reachable(vocab, set(here))
    splits = motif_splits(vocab, sorted(set(here)))
    op_names = list(g.op_names)
    op_index = {n: i for i, n in enumerate(op_names)}
    motifs: dict[str, Any] = {}
    for i in reach:
        m = vocab[i]
        for op in m.ops:
            if op not in op_index:
                op_index[op] = len(op_names)
                op_names.append(op)
        split = splits.get(i)
        motifs[str(i)] = {
            "id": f"{m.id:032x}",
            "level": m.level,
            "ops": [op_index[op] for op in m.ops],
            "count": m.count,
            "support": m.support,
            "here": here.get(i, 0),
            "children": list(m.children),
            "split": split[0] if split else None,
            "sub": split[1] if split else None,
            "label": motif_label(m.ops),
        }
    n2m = mg.node_to_macro
    src, dst = g.edges
    inner = n2m[src] == n2m[dst]
    order = np.argsort(n2m[src[inner]], kind="stable")
    return {
        "format": PAYLOAD_FORMAT,
        "version": PAYLOAD_VERSION,
        "title": g.name if title is None else title,
        "labels": dict(g.labels),
        "strategy": strategy,
        "opNames": op_names,
        "ops": g.ops.tolist(),
        "nodeNames": list(g.node_names) if g.node_names is not None else None,
        **_node_metadata(mg),
        "n2m": n2m.tolist(),
        "pos": instance_positions(mg).tolist(),
        "inner": [src[inner][order].tolist(), dst[inner][order].tolist()],
        "macro": {
            "motif": motifs_arr.tolist(),
            "layer": lay.layer.tolist(),
            "rank": lay.rank.tolist(),
            "edges": mg.edges.tolist(),
            "weights": mg.weights.tolist(),
        },
        "motifs": motifs,
    }


def _asset(name: str) -> str:
    return resources.files("archmotif.viz").joinpath(name).read_text(encoding="utf-8")


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _safe_json(payload: dict) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JSON_UNSAFE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def viewer_html(mg: MacroGraph, *, strategy: str = "", title: str | None = None) -> str:
    """The viewer page of ``mg`` as a string (UTF-8 text, self-contained)."""
    from archmotif._core import __version__

    payload = viewer_payload(mg, strategy=strategy, title=title)
    script, css = _asset("viewer_layout.js") + "\n" + _asset("viewer.js"), _asset("viewer.css")
    csp = (
        f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    fields = {
        "CSP": csp,
        "VERSION": html.escape(__version__),
        "TITLE": html.escape(f"archmotif — {payload['title'] or 'graph'}"),
        "CSS": css,
        "DATA": _safe_json(payload),
        "SCRIPT": script,
    }
    # one pass, so a placeholder spelled inside a name is never expanded
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: fields[m.group(1)], _asset("viewer.html"))
