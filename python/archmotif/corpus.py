"""The corpus file: many ``OpGraph`` in one versioned ``.npz`` file.

Layout (a zip of ``.npy`` arrays, read with ``allow_pickle=False``, so loading a
stranger's file never executes code):

- ``header``: uint8, UTF-8 JSON ``{"format": "archmotif.corpus", "version": 1,
  "num_graphs": G, "op_names": [str], "names": [str], "labels": [{str: str}],
  "node_names": [null | [str]], "meta"?: {...}}`` (``meta``: free JSON metadata of the
  whole corpus, e.g. a zoo build's failures);
- ``ops``: int32 ``[sum N]``, every graph's nodes, as ids into the shared ``op_names``;
- ``node_offsets``: int64 ``[G + 1]``, graph ``g``'s nodes are ``ops[o[g]:o[g+1]]``;
- ``edges``: int64 ``[2, sum E]``, node ids local to each graph;
- ``edge_offsets``: int64 ``[G + 1]``.

The file is written atomically. Loading validates every graph in one parallel
call into the Rust core; the loaded graphs share one op vocabulary.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from archmotif import _core
from archmotif.atomic import write_atomic
from archmotif.errors import FormatError, GraphError
from archmotif.graph import OpGraph

__all__ = ["CORPUS_FORMAT", "CORPUS_VERSION", "corpus_info", "load_corpus", "save_corpus"]

CORPUS_FORMAT = "archmotif.corpus"
CORPUS_VERSION = 1
_ARRAYS = ("header", "ops", "node_offsets", "edges", "edge_offsets")


def save_corpus(
    graphs: Iterable[OpGraph],
    path: str | os.PathLike[str],
    *,
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Writes ``graphs`` to one corpus file at ``path`` (atomically), with ``meta``
    (JSON-serialisable metadata of the whole corpus) in its header."""
    graphs = list(graphs)
    for i, g in enumerate(graphs):
        if not isinstance(g, OpGraph):
            raise TypeError(f"graphs[{i}] is {type(g).__name__}, not OpGraph")
    vocab: dict[str, int] = {}
    ops_parts, edge_parts = [], []
    node_off = np.zeros(len(graphs) + 1, dtype=np.int64)
    edge_off = np.zeros(len(graphs) + 1, dtype=np.int64)
    for i, g in enumerate(graphs):
        remap = np.array([vocab.setdefault(n, len(vocab)) for n in g.op_names], dtype=np.int32)
        ops_parts.append(remap[g.ops] if g.num_nodes else np.zeros(0, dtype=np.int32))
        edge_parts.append(g.edges)
        node_off[i + 1] = node_off[i] + g.num_nodes
        edge_off[i + 1] = edge_off[i] + g.num_edges
    header = {
        "format": CORPUS_FORMAT,
        "version": CORPUS_VERSION,
        "num_graphs": len(graphs),
        "op_names": list(vocab),
        "names": [g.name for g in graphs],
        "labels": [g.labels for g in graphs],
        "node_names": [None if g.node_names is None else list(g.node_names) for g in graphs],
    }
    if meta is not None:
        try:
            header["meta"] = json.loads(json.dumps(dict(meta)))
        except (TypeError, ValueError) as e:
            raise TypeError(f"corpus meta must be JSON-serialisable: {e}") from None
    arrays = {
        "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        "ops": np.concatenate(ops_parts) if ops_parts else np.zeros(0, np.int32),
        "node_offsets": node_off,
        "edges": np.concatenate(edge_parts, axis=1) if edge_parts else np.zeros((2, 0), np.int64),
        "edge_offsets": edge_off,
    }
    write_atomic(path, lambda f: np.savez(f, **arrays))


def _read_arrays(path: str) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if not raw.startswith(b"PK"):
            raise FormatError(f"{path}: not an archmotif corpus (not a zip/.npz archive)")
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            missing = [k for k in _ARRAYS if k not in z.files]
            if missing:
                raise FormatError(f"{path}: not an archmotif corpus (missing {', '.join(missing)})")
            return {k: z[k] for k in _ARRAYS}
    except FormatError:
        raise
    # zipfile raises RuntimeError for a member flagged as encrypted and
    # NotImplementedError (a RuntimeError) for an unknown compression method
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise FormatError(f"{path}: not a readable archmotif corpus ({e})") from None


def _header(path: str, raw: np.ndarray) -> dict[str, Any]:
    try:
        h = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: corrupt corpus header ({e})") from None
    if not isinstance(h, dict) or h.get("format") != CORPUS_FORMAT:
        raise FormatError(f"{path}: not an archmotif corpus (format != {CORPUS_FORMAT!r})")
    v = h.get("version")
    if not isinstance(v, int) or v > CORPUS_VERSION:
        raise FormatError(
            f"{path}: corpus version {v!r} is newer than this archmotif reads "
            f"({CORPUS_VERSION}); upgrade archmotif"
        )
    bad = _bad_header_field(h)
    if bad:
        raise FormatError(f"{path}: corrupt corpus header ({bad})")
    return h


def _is_str_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(s, str) for s in x)


def _bad_header_field(h: dict[str, Any]) -> str | None:
    """What is wrong with the header's fields, or None. Checked before any field is
    used, so a hand-edited or fuzzed header is a FormatError, never a TypeError."""
    g = h.get("num_graphs")
    if not isinstance(g, int) or isinstance(g, bool) or g < 0:
        return f"num_graphs must be a count, got {g!r}"
    if not _is_str_list(h.get("op_names")) or len(set(h["op_names"])) != len(h["op_names"]):
        return "op_names must be a list of distinct strings"
    if not _is_str_list(h.get("names")):
        return "names must be a list of strings"
    labels = h.get("labels")
    if not isinstance(labels, list) or not all(
        isinstance(d, dict) and all(isinstance(v, str) for v in d.values()) for d in labels
    ):
        return "labels must be a list of string-to-string objects"
    nn = h.get("node_names")
    if not isinstance(nn, list) or not all(x is None or _is_str_list(x) for x in nn):
        return "node_names must be a list of null or lists of strings"
    if not isinstance(h.get("meta", {}), dict):
        return "meta must be an object"
    return None


def _check_arrays(path: str, a: dict[str, np.ndarray], h: dict[str, Any]) -> None:
    """The arrays' dtypes and shapes agree with the header (their contents are
    checked by the core)."""
    g_count = h["num_graphs"]
    ops, edges = a["ops"], a["edges"]
    noff, eoff = a["node_offsets"], a["edge_offsets"]
    shapes_ok = (
        ops.dtype == np.int32
        and ops.ndim == 1
        and edges.dtype == np.int64
        and edges.ndim == 2
        and edges.shape[0] == 2
        and noff.dtype == np.int64
        and noff.shape == (g_count + 1,)
        and eoff.dtype == np.int64
        and eoff.shape == (g_count + 1,)
        and all(len(h[k]) == g_count for k in ("names", "labels", "node_names"))
    )
    if not shapes_ok:
        raise FormatError(f"{path}: corpus arrays have the wrong dtype or shape")


def load_corpus(path: str | os.PathLike[str]) -> list[OpGraph]:
    """Reads a corpus file written by :func:`save_corpus`. A corrupt, truncated,
    foreign or newer file raises :class:`~archmotif.FormatError` naming it; a
    graph that fails validation raises :class:`~archmotif.GraphError` naming the
    file and the graph."""
    p = os.fspath(path)
    a = _read_arrays(p)
    h = _header(p, a["header"])
    _check_arrays(p, a, h)
    g_count = h["num_graphs"]
    ops, edges = a["ops"], a["edges"]
    noff, eoff = a["node_offsets"], a["edge_offsets"]
    op_names = tuple(h["op_names"])
    edges = np.ascontiguousarray(edges)
    try:
        kept = _core.validate_graphs(ops, noff, edges, eoff, len(op_names))
    except GraphError as e:
        raise GraphError(f"{p}: {e}") from None
    except ValueError as e:
        raise FormatError(f"{p}: {e}") from None
    graphs = []
    for g in range(g_count):
        e = edges[:, eoff[g] : eoff[g + 1]]
        if kept[g] is not None:
            e = e[:, kept[g]]
        nn, n = h["node_names"][g], int(noff[g + 1] - noff[g])
        if nn is not None and len(nn) != n:
            raise FormatError(f"{p}: graph {g} has {len(nn)} node names for {n} nodes")
        graphs.append(
            OpGraph._trusted(
                ops[noff[g] : noff[g + 1]],
                np.ascontiguousarray(e),
                op_names,
                str(h["names"][g]),
                {str(k): str(v) for k, v in h["labels"][g].items()},
                None if nn is None else tuple(nn),
            )
        )
    return graphs


def corpus_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A summary of a corpus file without building its graphs: ``num_graphs``,
    ``num_nodes``, ``num_edges``, ``num_ops`` (distinct op names), ``version``,
    ``label_counts`` (per label key, how many graphs carry each value; numeric-looking
    keys such as ``params`` are left out), ``meta`` and ``size_bytes``."""
    p = os.fspath(path)
    a = _read_arrays(p)
    h = _header(p, a["header"])
    _check_arrays(p, a, h)
    label_counts: dict[str, dict[str, int]] = {}
    for labels in h["labels"]:
        for k, v in labels.items():
            label_counts.setdefault(k, {})
            label_counts[k][v] = label_counts[k].get(v, 0) + 1
    label_counts = {
        k: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
        for k, c in label_counts.items()
        if not all(v.replace(".", "", 1).isdigit() for v in c)
    }
    return {
        "path": p,
        "version": h["version"],
        "num_graphs": h["num_graphs"],
        "num_nodes": int(a["ops"].shape[0]),
        "num_edges": int(a["edges"].shape[1]),
        "num_ops": len(h["op_names"]),
        "label_counts": label_counts,
        "meta": h.get("meta", {}),
        "size_bytes": os.path.getsize(p),
    }
