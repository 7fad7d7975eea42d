"""The optional per-node metadata of an :class:`~archmotif.OpGraph`, checked here.

Besides its ops and edges, a graph may carry, one entry per node:

- ``node_flops``: float64, each operator's forward FLOPs (NaN: unknown);
- ``attrs`` into ``attr_names``: attribute strings (:mod:`archmotif.attributes`);
- ``node_shapes`` into ``shape_names``: the shape of the tensor each node outputs, as
  text (:func:`shape_text`: ``"1×64×56×56"``; ``""``: unknown). Shapes repeat a lot (a
  ResNet stage has a few), so a graph keeps a small table of strings and int32 ids,
  as it does for op names and attributes;
- ``node_params``: int64, the number of parameters each node reads directly. A
  parameter is counted once, at its first reader, so the entries sum to the model's
  parameter count (the ``params`` label ``trace`` records).

Every check raises :class:`~archmotif.GraphError` naming the field and the node, and
returns read-only arrays; a frontend, a file reader and a user calling ``OpGraph`` get
the same checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from archmotif.errors import GraphError

__all__ = [
    "check_flops",
    "check_params",
    "check_strings",
    "coerce_table",
    "same_flops",
    "same_params",
    "shape_log2_elements",
    "shape_text",
]

_INT64_MAX = np.iinfo(np.int64).max


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def check_flops(flops: Any, n: int) -> np.ndarray | None:
    """``flops`` as a read-only float64 ``[n]`` array (None, null entries and NaN mean
    unknown); negative, infinite or misshapen values raise :class:`GraphError`."""
    if flops is None:
        return None
    try:
        if isinstance(flops, (list, tuple)):
            flops = [np.nan if f is None else f for f in flops]
        a = np.array(flops, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise GraphError(f"node_flops must be numbers, one per node: {e}") from None
    if a.shape != (n,):
        raise GraphError(f"node_flops has shape {a.shape} for {n} nodes")
    known = a[~np.isnan(a)]
    if not np.all(np.isfinite(known)) or np.any(known < 0):
        raise GraphError("node_flops must be finite and >= 0 (NaN or null for unknown)")
    return _frozen(a)


def same_flops(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return np.array_equal(a, b, equal_nan=True)


def check_params(params: Any, n: int) -> np.ndarray | None:
    """``params`` as a read-only int64 ``[n]`` array of counts (>= 0), or None."""
    if params is None:
        return None
    if isinstance(params, np.ndarray):
        if params.size and params.dtype.kind not in "iu":
            raise GraphError(f"node_params must be integer counts, got dtype {params.dtype}")
        if params.size and params.dtype == np.uint64 and int(params.max()) > _INT64_MAX:
            raise GraphError("node_params holds a count past the int64 range")
        seq: Any = params
    else:
        if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
            raise GraphError(f"node_params must be integer counts, got {params!r:.40}")
        seq = list(params)
        if any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) for p in seq):
            raise GraphError("node_params must be integer counts, one per node")
    try:
        a = np.array(seq, dtype=np.int64) if len(seq) else np.zeros(0, np.int64)
    except OverflowError:
        raise GraphError("node_params holds a count past the int64 range") from None
    if a.shape != (n,):
        raise GraphError(f"node_params has shape {a.shape} for {n} nodes")
    if a.size and int(a.min()) < 0:
        node = int(np.argmax(a < 0))
        raise GraphError(f"node {node} has a negative parameter count {int(a[node])}")
    return _frozen(np.ascontiguousarray(a))


def same_params(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is b if a is None or b is None else np.array_equal(a, b)


def check_strings(field: str, names: Any) -> tuple[str, ...]:
    """``names`` as a tuple of distinct strings, else :class:`GraphError`."""
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        raise GraphError(f"{field} must be a sequence of str, got {names!r:.40}")
    out = tuple(names)
    for i, s in enumerate(out):
        if not isinstance(s, str):
            raise GraphError(f"{field}[{i}] is {type(s).__name__}, not str")
    if len(set(out)) != len(out):
        raise GraphError(f"{field} lists one string more than once")
    return out


def coerce_table(
    values: Any,
    names: Sequence[str] | None,
    n: int,
    *,
    field: str,
    names_field: str,
    what: str,
    check_names: Callable[[Any], tuple[str, ...]],
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """``(ids int32 [n] or None, names)`` from one string per node, or from integer ids
    into ``names`` (checked by ``check_names``). ``field`` and ``names_field`` are the
    two fields' names and ``what`` one entry's (``"attribute"``), for messages; a bad
    entry raises :class:`GraphError` naming the node."""
    if values is None:
        if names:
            raise GraphError(f"{names_field} given without {field}")
        return None, ()
    if isinstance(values, (str, bytes)):
        raise GraphError(f"{field} must hold one {what} string (or id) per node, not one str")
    arr = values if isinstance(values, np.ndarray) else None
    if arr is None or arr.dtype.kind not in "iu":
        seq = list(values) if arr is None else arr.tolist()
        if len(seq) != n:
            raise GraphError(f"{field} has {len(seq)} entries for {n} nodes")
        if all(isinstance(a, str) for a in seq):
            table = check_names(names if names is not None else dict.fromkeys(seq))
            index = {a: i for i, a in enumerate(table)}
            ids = np.empty(n, dtype=np.int32)
            for node, a in enumerate(seq):
                if a not in index:
                    raise GraphError(f"node {node} has {what} string {a!r}, not in {names_field}")
                ids[node] = index[a]
            return ids, table
        try:
            arr = np.asarray(seq, dtype=np.int64) if seq else np.zeros(0, np.int64)
        except (TypeError, ValueError, OverflowError):
            raise GraphError(f"{field} must be {what} strings or integer ids") from None
    if arr.ndim != 1 or arr.shape[0] != n:
        raise GraphError(f"{field} has shape {arr.shape} for {n} nodes")
    if names is None:
        raise GraphError(f"integer {field} need {names_field}")
    table = check_names(names)
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= len(table)):
        node = int(np.argmax((arr < 0) | (arr >= len(table))))
        raise GraphError(f"node {node} has {what} id {int(arr[node])}, not in {names_field}")
    return np.ascontiguousarray(arr, dtype=np.int32), table


def _dims(shape: Sequence[Any]) -> str:
    return "×".join(str(d) for d in shape) if len(shape) else "scalar"


def shape_text(shapes: Sequence[Sequence[Any]]) -> str:
    """The one spelling of a node's output shape: dimensions joined by ``×``
    (``"1×64×56×56"``; a symbolic size as torch or ONNX names it, ``"s0×768"``), a
    0-d tensor ``"scalar"``; several outputs joined by ``", "``, a run of equal ones
    written once with its count (``"1×197×64 (×3)"``); no outputs ``""`` (unknown)."""
    parts: list[str] = []
    counts: list[int] = []
    for s in shapes:
        text = _dims(s)
        if parts and parts[-1] == text:
            counts[-1] += 1
        else:
            parts.append(text)
            counts.append(1)
    return ", ".join(p if c == 1 else f"{p} (×{c})" for p, c in zip(parts, counts, strict=True))


def shape_log2_elements(text: str) -> float | None:
    """log2 of the element count of one output that :func:`shape_text` spelled with
    concrete sizes (``"1×64×56×56"``: 17.6); None for anything else (unknown, symbolic,
    several outputs, ``"scalar"``)."""
    try:
        dims = [int(d) for d in text.split("×")] if text else []
    except ValueError:
        return None
    return float(np.sum(np.log2(dims))) if dims and min(dims) > 0 else None
