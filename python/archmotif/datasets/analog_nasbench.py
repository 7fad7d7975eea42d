"""CIFAR-10 accuracies of the NAS-Bench-201 cells, read from the PyPI package
``analog-nasbench`` (its ``data.anb``: the ``baseline_accuracy`` of all 15,625 cells,
trained with NASLib's NAS-Bench-201 space). :mod:`.nasbench201` attaches them.

**The encoding.** Keys are 6-tuples in NASLib's encoding (``OP_NAMES`` = Identity,
Zero, ReLUConvBN3x3, ReLUConvBN1x1, AvgPool; ``EDGE_LIST`` = 0->1, 0->2, 0->3, 1->2,
1->3, 2->3), which the package does not document, so we verified it against the data:

1. *none and the edge order*: exactly the 341 cells whose output is disconnected from
   their input sit at chance (10.0%), and no other cell does; of the 720 edge orders
   only NASLib's and its mirror image predict that set. Cells that
   :mod:`.nasbench201` draws identically (same ``effective_arch``) then have the same
   accuracy: grouping by it explains 99.98% of the variance with NASLib's order
   (largest deviation 4.8 points) and 35% with the mirror order, which is so ruled out.
2. *skip vs. pool*: among cells built from one parameter-free op and ``none``, op 0's
   accuracy depends only on the number of input-output paths (the output is a multiple
   of the input: one path 86.2-86.7% whatever its length, two 84.1-84.8%, four 60.8%),
   so op 0 is the identity; op 4's depends on path length (62.2-75.7% for one path),
   so it is the pooling.
3. *the convolutions*: all-op-2 cells reach 93.2%, all-op-3 89.5%: 3x3 above 1x1.

Uniform cells: all ``nor_conv_3x3`` 93.2, all ``nor_conv_1x1`` 89.5, all
``skip_connect`` 60.8, all ``avg_pool_3x3`` 50.3, all ``none`` 10.0; as in
NAS-Bench-201, 3x3 convolutions are best, ``none`` is chance, skip and pooling cells
are poor, and the best cell (94.07%) is 3x3 convolutions with a 0->3 skip.
:func:`read_accuracies` re-checks property 1 every time it reads the file.

**Safety.** The file is a pickle shipped by a package we pin, never a user-supplied
path. It is read with an unpickler that admits only the package's two record classes
(mapped to an inert stand-in), so it cannot execute code; reading it needs neither
pandas nor ``pkg_resources`` (which the package's own loader imports).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from typing import IO

from archmotif.errors import FormatError

__all__ = ["read_accuracies"]

# NASLib's encoding (verified: module docstring)
_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_NONE = _OPS.index("none")
# edge order of the NAS-Bench-201 arch string
_ARCH_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
_CLASSES = {("analognasbench.data", "Architecture"), ("analognasbench.data", "DriftMeasurement")}
_NUM_ARCHS = 5**6
_CHANCE = 10.0


class _Record:
    """Inert stand-in for analog-nasbench's record classes: unpickling only fills
    its ``__dict__``."""


class _Unpickler(pickle.Unpickler):
    def __init__(self, f: IO[bytes], path: str) -> None:
        super().__init__(f)
        self._path = path

    def find_class(self, module: str, name: str) -> type:
        if (module, name) in _CLASSES:
            return _Record
        raise FormatError(f"{self._path}: unexpected object {module}.{name} in the data")


def _anb_path() -> str | None:
    try:
        spec = importlib.util.find_spec("analognasbench")  # locates; does not import it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(next(iter(spec.submodule_search_locations)), "data.anb")
    return path if os.path.isfile(path) else None


def _connected(key: tuple[int, ...]) -> bool:
    reach = [True, False, False, False]
    for (i, j), op in zip(_EDGES, key, strict=True):  # ordered by source: topological
        reach[j] = reach[j] or (reach[i] and op != _NONE)
    return reach[3]


def read_accuracies() -> dict[tuple[str, ...], float] | None:
    """CIFAR-10 accuracy (%) per cell, keyed by the cell's six op names in arch-string
    edge order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3); None when analog-nasbench is not
    installed. A file that is not 15,625 cells in the verified encoding raises
    :class:`~archmotif.FormatError` naming it."""
    path = _anb_path()
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            data = _Unpickler(f, path).load()
        acc = {tuple(k): float(v.baseline_accuracy) for k, v in data.items()}
    except FormatError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as e:
        raise FormatError(f"{path}: not readable as analog-nasbench data ({e})") from None
    if len(acc) != _NUM_ARCHS or not all(
        len(k) == 6 and all(op in range(5) for op in k) for k in acc
    ):
        raise FormatError(f"{path}: expected {_NUM_ARCHS} 6-tuples of op indices 0..4")
    for key, a in acc.items():  # property 1: chance level <=> disconnected cell
        if (a <= _CHANCE + 0.5) == _connected(key):
            raise FormatError(f"{path}: {key} at {a}% contradicts the verified op encoding")
    return {tuple(_OPS[key[_EDGES.index(e)]] for e in _ARCH_EDGES): a for key, a in acc.items()}
