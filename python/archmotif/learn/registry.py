"""The encoders an index file may carry, by short name: a fixed table in code.

An index file stores its encoder's bytes and names which class reads them. The name is
looked up here and nowhere else: a file can choose among these entries and nothing
more; it never names a module, an attribute path or any other code to import. Each
entry's ``load`` reads its own pickle-free file format.

Index files of version 1 named the class by import path (``"archmotif.learn.wl:
WLBaseline"``); :data:`LEGACY_NAMES` maps the spellings archmotif itself wrote to their
entries, and any other string is refused.
"""

from __future__ import annotations

import importlib
from typing import Any

from archmotif.errors import FormatError, RetrievalError

__all__ = ["ENCODERS", "LEGACY_NAMES", "encoder_class", "encoder_kind"]

# short name -> (module, class): literals in code, imported only when the entry is used
# (the "ours" entry imports torch)
ENCODERS: dict[str, tuple[str, str]] = {
    "ours": ("archmotif.learn.encoder", "Encoder"),
    "wl": ("archmotif.learn.wl", "WLBaseline"),
    "bag": ("archmotif.learn.motif_bag", "MotifBag"),
    "gnn": ("archmotif.learn.gnn", "GNNBaseline"),
    "nar": ("archmotif.learn.nar", "NARBaseline"),
}
# only the two entries version-1 files could name
LEGACY_NAMES = {f"{module}:{name}": kind for kind, (module, name) in ENCODERS.items()
                if kind in ("ours", "wl")}  # fmt: skip


def _load(kind: str) -> type:
    module, name = ENCODERS[kind]
    return getattr(importlib.import_module(module), name)


def encoder_kind(encoder: Any) -> str:
    """The registry name of ``encoder``'s class; a class not in the registry (a
    subclass too: its own behaviour would be lost on load) raises
    :class:`~archmotif.RetrievalError`."""
    cls = type(encoder)
    for kind, (module, name) in ENCODERS.items():
        if (cls.__module__, cls.__qualname__) == (module, name) and cls is _load(kind):
            return kind
    raise RetrievalError(
        f"an index can store only archmotif's own encoders ({', '.join(sorted(ENCODERS))}), "
        f"not {cls.__module__}.{cls.__qualname__}; build the Index without encoder= to save "
        "embeddings only"
    )


def encoder_class(kind: Any, source: str) -> type:
    """The class registered as ``kind``; anything else raises
    :class:`~archmotif.FormatError` naming ``source`` (the file)."""
    if isinstance(kind, str):
        kind = LEGACY_NAMES.get(kind, kind)
    if not isinstance(kind, str) or kind not in ENCODERS:
        raise FormatError(
            f"{source}: names encoder {kind!r}, not one of archmotif's "
            f"({', '.join(sorted(ENCODERS))})"
        )
    return _load(kind)
