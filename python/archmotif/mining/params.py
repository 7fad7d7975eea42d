"""The mining parameters, as one frozen object: :class:`MiningParams`.

It is the one place Python knows them: their names, defaults and bounds. It reaches
the core as (name, value) pairs (:meth:`MiningParams.pairs`), where
``Params::from_named`` (``rust/core/src/mine.rs``) turns them into the core's
``Params`` and checks them again; a saved :class:`~archmotif.Mined` stores them the
same way. Adding a mining parameter therefore touches this class, the core's
``Params`` (with its ``named``/``from_named``) and the docs, and nothing between: the
mining modes, the glue and the file formats pass the object whole.

Also here: the argument checks every mining call shares (:func:`check_int`, the
thread count :func:`threads_of`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from archmotif.errors import InvalidArgument

__all__ = [
    "MAX_THREADS",
    "MINING_PARAMS",
    "MiningParams",
    "check_int",
    "check_mining_params",
    "threads_of",
]

_U64 = 2**63 - 1


def check_int(name: str, value: Any, lo: int, hi: int = _U64) -> int:
    """``value`` as an int in ``[lo, hi]``; anything else raises :class:`InvalidArgument`
    (the core takes 64-bit integers: a wider one must not reach it as an OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name} must be an integer >= {lo}, got {value!r}")
    if not lo <= value <= hi:
        v = int(value)
        shown = f"{v:,}" if abs(v) < 10**30 else f"an integer of {len(str(v))} digits"
        raise InvalidArgument(
            f"{name} must be an integer >= {lo}"
            + (f" and <= {hi:,}" if hi < _U64 else " that fits in 64 bits")
            + f", got {shown}"
        )
    return int(value)


def _param(default: int, lo: int, hi: int = _U64) -> Any:
    return dataclasses.field(default=default, metadata={"bounds": (lo, hi)})


@dataclasses.dataclass(frozen=True)
class MiningParams:
    """How :func:`archmotif.mine` decides what a motif is. A candidate merge is
    frequent when it has at least ``min_count`` non-overlapping occurrences in the
    corpus and occurs in at least ``min_support`` graphs; no motif grows past
    ``max_motif_nodes`` operators; mining stops after ``max_levels`` levels (rounds).
    Every value is checked when the object is made (:class:`InvalidArgument` naming
    the parameter); the object is frozen, equal to another exactly when every value is.
    """

    min_count: int = _param(2, 1)
    min_support: int = _param(1, 1)
    max_motif_nodes: int = _param(32, 2, 4096)
    max_levels: int = _param(8, 0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            checked = check_int(f.name, getattr(self, f.name), *f.metadata["bounds"])
            object.__setattr__(self, f.name, checked)

    @classmethod
    def of(cls, **params: Any) -> MiningParams:
        """The defaults with ``params`` (names of :data:`MINING_PARAMS`) in their place;
        an unknown name raises :class:`InvalidArgument` naming it."""
        return cls(**check_mining_params(**params))

    def pairs(self) -> list[tuple[str, int]]:
        """``(name, value)`` of every parameter, as the core takes them."""
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]

    def asdict(self) -> dict[str, int]:
        return dict(self.pairs())


# The mining parameters and their bounds: the schema of the parameters an encoder file
# or a command line may carry (nothing else: never a client, a path or a callable).
MINING_PARAMS: dict[str, tuple[int, int]] = {
    f.name: f.metadata["bounds"] for f in dataclasses.fields(MiningParams)
}


def check_mining_params(**params: Any) -> dict[str, int]:
    """``params`` checked against :data:`MINING_PARAMS` (names and bounds), without
    filling in defaults; an unknown name or a value out of bounds raises
    :class:`InvalidArgument` naming it."""
    unknown = sorted(set(params) - set(MINING_PARAMS))
    if unknown:
        raise InvalidArgument(
            f"unknown mining parameter(s) {', '.join(unknown)}; "
            f"the mining parameters are {', '.join(MINING_PARAMS)}"
        )
    return {k: check_int(k, v, *MINING_PARAMS[k]) for k, v in params.items()}


# A documented bound, the same on every machine (results never depend on the thread
# count, so nothing needs more): threads=10**4 would start ten thousand OS threads.
MAX_THREADS = 256


def threads_of(threads: int | None) -> int | None:
    """The thread count for the core: ``threads``, else ``RAYON_NUM_THREADS``, else
    None (one per core), checked against :data:`MAX_THREADS`."""
    if threads is None:
        env = os.environ.get("RAYON_NUM_THREADS")
        if not (env and env.isdigit() and int(env) > 0):
            return None
        return check_int("RAYON_NUM_THREADS", int(env), 1, MAX_THREADS)
    return check_int("threads", threads, 1, MAX_THREADS)
