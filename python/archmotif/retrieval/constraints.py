"""Constraints on an index's metadata: the ``where=`` of :meth:`Index.search` and
:func:`~archmotif.retrieval.index.search`, and the SI numbers (``10M``, ``1.5G``) they use.

``where`` has two spellings that mean the same thing:

- a **mapping** from field to a condition: ``{"params": ("<=", 10e6), "coarse": "cnn"}``;
  a bare value means ``==``, a list of ``(op, value)`` gives several conditions on one
  field, all of which must hold (``{"flops": [(">=", "1G"), ("<", "10G")]}``);
- a **string** of clauses joined by ``and``: ``"params <= 10M and coarse == cnn"`` (what
  the CLI's ``--where`` takes).

Operators are ``< <= > >= == !=``. A value that reads as a number (an ``int``, a
``float``, or text such as ``10M``: suffixes k/K = 1e3, M = 1e6, G = 1e9, T = 1e12)
compares numerically; any other text compares as text, with ``==`` and ``!=`` only.

Metadata values are text. :class:`MetadataColumns` reads each field once per index, the
first time a condition names it, into a float64 column (NaN where an item lacks the
field or its value is not a number, with the same SI reading) or a text column. An item
whose value is missing never satisfies a condition on that field, ``!=`` included (as
SQL's NULL). A field that no item has, or a numeric condition on a field that no item
holds a number in, is a :class:`~archmotif.RetrievalError` naming the field and the
fields that exist; a budget nothing meets is an all-false mask, not an error.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from archmotif.errors import RetrievalError

__all__ = ["Condition", "MetadataColumns", "Where", "parse_si", "parse_where"]

_SI = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([kKMGT]?)\s*")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_CLAUSE = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*(<=|>=|==|!=|<|>)\s*(\S(?:.*\S)?)\s*")


def parse_si(text: Any) -> float | None:
    """``text`` as a number (``"10M"`` is 1e7, ``"1.5G"`` 1.5e9, ``"3e4"`` 3e4), or
    ``None`` when it is not one. Ints and floats pass through; NaN and
    infinities are not numbers here."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float, np.integer, np.floating)):
        value = float(text)
    elif isinstance(text, str):
        m = _NUMBER.fullmatch(text)
        if m is None:
            return None
        value = float(m.group(1)) * _SI[m.group(2)]
    else:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Condition:
    """``field op value``: ``value`` is a float (numeric comparison) or a str (text)."""

    field: str
    op: str
    value: float | str

    def __str__(self) -> str:
        return (
            f"{self.field} {self.op} {self.value:g}"
            if isinstance(self.value, float)
            else f"{self.field} {self.op} {self.value}"
        )


Where = tuple[Condition, ...]


def _condition(field: Any, op: Any, value: Any, spelled: str) -> Condition:
    if not isinstance(field, str) or not field:
        raise RetrievalError(f"where: a field name must be non-empty text, got {field!r}")
    if op not in _OPS:
        raise RetrievalError(
            f"where: {spelled!r} has operator {op!r}; use one of {', '.join(_OPS)}"
        )
    number = parse_si(value)
    if number is not None:
        return Condition(field, op, number)
    if not isinstance(value, str) or not value:
        raise RetrievalError(f"where: {spelled!r} compares with {value!r}, not a number or text")
    if op not in ("==", "!="):
        raise RetrievalError(
            f"where: {spelled!r} compares text with {op!r}; text takes == and != only "
            "(numbers may carry k, M, G, T)"
        )
    return Condition(field, op, value)


def parse_where(where: Mapping[str, Any] | str | Sequence[Condition] | None) -> Where:
    """``where`` in either spelling (see the module docstring) as a tuple of conditions,
    all of which must hold. ``None`` or an empty string or mapping is no condition."""
    if where is None:
        return ()
    if isinstance(where, str):
        out = []
        for clause in re.split(r"\s+and\s+", where.strip()) if where.strip() else []:
            m = _CLAUSE.fullmatch(clause)
            if m is None:
                raise RetrievalError(
                    f"where: cannot read {clause!r}; write FIELD OP VALUE clauses joined "
                    "by 'and', e.g. 'params <= 10M and coarse == cnn'"
                )
            out.append(_condition(m.group(1), m.group(2), m.group(3), clause))
        return tuple(out)
    if isinstance(where, Mapping):
        out = []
        for field, spec in where.items():
            specs = spec if isinstance(spec, list) else [spec]
            if isinstance(spec, list) and not all(isinstance(s, tuple) for s in spec):
                # {"coarse": ["cnn", "hybrid"]} reads as "one of", which conditions joined
                # by "and" cannot say: refuse it rather than return nothing
                raise RetrievalError(
                    f"where: {field!r} maps to a list of values; a list holds (op, value) "
                    "conditions that must all hold, e.g. [('>=', '1M'), ('<', '10M')]"
                )
            for s in specs:
                op, value = s if isinstance(s, tuple) and len(s) == 2 else ("==", s)
                out.append(_condition(field, op, value, f"{field}: {s!r}"))
        return tuple(out)
    if isinstance(where, Sequence) and all(isinstance(c, Condition) for c in where):
        return tuple(where)
    raise RetrievalError(
        f"where must be a mapping such as {{'params': ('<=', 1e7)}} or a string such as "
        f"'params <= 10M', got {type(where).__name__}"
    )


class MetadataColumns:
    """Column views of an index's metadata, each read once, when a condition first
    names it. The metadata is taken as fixed from then on (as :class:`Index` treats it)."""

    def __init__(self, metadata: Sequence[Mapping[str, str]]) -> None:
        self._metadata = metadata
        self._fields: frozenset[str] | None = None
        self._numeric: dict[str, np.ndarray] = {}
        self._text: dict[str, np.ndarray] = {}

    @property
    def fields(self) -> frozenset[str]:
        """Every field at least one item has."""
        if self._fields is None:
            self._fields = frozenset(k for m in self._metadata for k in m)
        return self._fields

    def numeric_fields(self) -> list[str]:
        return sorted(f for f in self.fields if not np.isnan(self.numeric(f)).all())

    def numeric(self, field: str) -> np.ndarray:
        """float64 column of ``field``: NaN where missing or not a number."""
        col = self._numeric.get(field)
        if col is None:
            nan = float("nan")
            values = (parse_si(m.get(field)) for m in self._metadata)
            col = np.fromiter((nan if v is None else v for v in values), np.float64)
            col.flags.writeable = False
            self._numeric[field] = col
        return col

    def text(self, field: str) -> np.ndarray:
        """Text column of ``field`` as a numpy object array, ``None`` where missing."""
        col = self._text.get(field)
        if col is None:
            col = np.array([m.get(field) for m in self._metadata], dtype=object)
            col.flags.writeable = False
            self._text[field] = col
        return col

    def _known(self, field: str) -> None:
        if field not in self.fields:
            have = ", ".join(sorted(self.fields)) or "none (the index has no metadata)"
            raise RetrievalError(f"where: no field {field!r} in this index; fields: {have}")

    def mask(self, where: Where) -> np.ndarray | None:
        """Boolean mask of the items that meet every condition; ``None`` for no
        condition (every item)."""
        if not where:
            return None
        keep = np.ones(len(self._metadata), dtype=bool)
        for c in where:
            self._known(c.field)
            if isinstance(c.value, float):
                col = self.numeric(c.field)
                if np.isnan(col).all():
                    sample = next(m[c.field] for m in self._metadata if c.field in m)
                    numeric = ", ".join(self.numeric_fields()) or "none"
                    raise RetrievalError(
                        f"where: field {c.field!r} is not numeric (a value: {sample!r}), so "
                        f"'{c}' cannot hold; numeric fields: {numeric}"
                    )
                with np.errstate(invalid="ignore"):
                    keep &= _OPS[c.op](col, c.value) & ~np.isnan(col)
            else:
                col = self.text(c.field)
                keep &= _OPS[c.op](col, c.value) & (col != None)  # noqa: E711 (elementwise)
        return keep
