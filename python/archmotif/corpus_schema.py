"""What a corpus file's header and per-graph records may hold, checked before any field
is used (:mod:`archmotif.corpus` reads them; the format is described there), so a
hand-edited or fuzzed file is a :class:`~archmotif.FormatError`, never a ``TypeError``.
Each check returns what is wrong, or None.
"""

from __future__ import annotations

from typing import Any

from archmotif.graph import check_text

__all__ = ["bad_header_field", "bad_record"]


def _is_str_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(s, str) for s in x)


def _is_labels(d: Any) -> bool:
    return isinstance(d, dict) and all(isinstance(v, str) for v in d.values())


def bad_header_field(h: dict[str, Any]) -> str | None:
    """What is wrong with the header's fields, or None."""
    g = h.get("num_graphs")
    if not isinstance(g, int) or isinstance(g, bool) or g < 0:
        return f"num_graphs must be a count, got {g!r}"
    if not _is_str_list(h.get("op_names")) or len(set(h["op_names"])) != len(h["op_names"]):
        return "op_names must be a list of distinct strings"
    if not isinstance(h.get("meta", {}), dict):
        return "meta must be an object"
    if h.get("version", 0) >= 4:
        bad = _bad_attr_fields(h) or _bad_shape_names(h)
        if bad:
            return bad
    if h.get("version") != 1:
        return None
    if not _is_str_list(h.get("names")):
        return "names must be a list of strings"
    labels = h.get("labels")
    if not isinstance(labels, list) or not all(_is_labels(d) for d in labels):
        return "labels must be a list of string-to-string objects"
    nn = h.get("node_names")
    if not isinstance(nn, list) or not all(x is None or _is_str_list(x) for x in nn):
        return "node_names must be a list of null or lists of strings"
    return None


def _bad_attr_fields(h: dict[str, Any]) -> str | None:
    names = h.get("attr_names")
    if not _is_str_list(names) or not names or names[0] != "" or len(set(names)) != len(names):
        return "attr_names must be a list of distinct strings, the empty one first"
    if any("[" in n or "]" in n for n in names):
        return "attr_names must not hold '[' or ']'"
    pairs, n_ops = h.get("attr_pairs"), len(h["op_names"])
    ok = isinstance(pairs, list) and all(
        isinstance(q, list) and len(q) == 2 and all(type(x) is int for x in q)
        and 0 <= q[0] < n_ops and 0 < q[1] < len(names)
        for q in pairs
    )  # fmt: skip
    return None if ok else "attr_pairs must be [op id, attribute id] pairs in range"


def _bad_shape_names(h: dict[str, Any]) -> str | None:
    """``shape_names`` (optional: files written before shapes were kept lack it)."""
    if "shape_names" not in h:
        return None
    names = h["shape_names"]
    if not _is_str_list(names) or not names or names[0] != "" or len(set(names)) != len(names):
        return "shape_names must be a list of distinct strings, the empty one first"
    return check_text("shape_names", names)


def bad_record(r: Any) -> str | None:
    """What is wrong with one graph's record, or None."""
    if not isinstance(r, dict):
        return "not an object"
    if not isinstance(r.get("name"), str):
        return "name must be a string"
    if not _is_labels(r.get("labels")):
        return "labels must be a string-to-string object"
    nn = r.get("node_names")
    if nn is not None and not _is_str_list(nn):
        return "node_names must be null or a list of strings"
    return check_text("strings", [r["name"], *r["labels"], *r["labels"].values(), *(nn or ())])
