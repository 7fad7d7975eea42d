"""Architecture datasets that need no download, in the one corpus format.

- ``"builtin"``: about 100 real models over more than 10 families, traced ahead of
  time and shipped inside the package (``archmotif/datasets/data/builtin.npz``);
- ``"zoo"``: every architecture timm, torchvision and transformers can build from
  code, traced on the meta device by ``archmotif zoo build`` (:mod:`.zoo`);
- ``"darts"``: DARTS-space networks, a genotype per class (:mod:`.darts`);
- ``"nasbench201"``: the 15,625 NAS-Bench-201 cells in the standard skeleton
  (:mod:`.nasbench201`).

``load(name_or_path)`` takes one of those names or the path of a corpus file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from archmotif.corpus import load_corpus
from archmotif.graph import OpGraph
from archmotif.normalize import normalize_many, normalizer_id

__all__ = [
    "BUILTIN_PATH",
    "available",
    "default_zoo_path",
    "load",
    "normalized_here",
    "normalized_meta",
    "stamped_here",
]

BUILTIN_PATH = Path(__file__).with_name("data") / "builtin.npz"


def default_zoo_path() -> Path:
    """Where ``archmotif zoo build`` writes by default: ``$ARCHMOTIF_HOME/zoo.npz``
    (``ARCHMOTIF_HOME`` defaults to ``~/.cache/archmotif``)."""
    home = os.environ.get("ARCHMOTIF_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache", "archmotif"
    )
    return Path(home) / "zoo.npz"


def _builtin() -> list[OpGraph]:
    return load_corpus(BUILTIN_PATH)


def _zoo() -> list[OpGraph]:
    p = default_zoo_path()
    if not p.exists():
        raise FileNotFoundError(f"{p}: no zoo built yet; run `archmotif zoo build` first")
    return load_corpus(p)


def _darts() -> list[OpGraph]:
    from archmotif.datasets import darts

    return darts.generate()


def _nasbench201() -> list[OpGraph]:
    from archmotif.datasets import nasbench201

    return nasbench201.generate()


# the named datasets stored as a corpus file, and where
_FILES: dict[str, Callable[[], Path]] = {"builtin": lambda: BUILTIN_PATH, "zoo": default_zoo_path}

_NAMED: dict[str, Callable[[], list[OpGraph]]] = {
    "builtin": _builtin,
    "zoo": _zoo,
    "darts": _darts,
    "nasbench201": _nasbench201,
}


def available() -> list[str]:
    """The dataset names :func:`load` accepts (besides a corpus path)."""
    return list(_NAMED)


def load(name_or_path: str | os.PathLike[str], *, normalize: bool = True) -> list[OpGraph]:
    """Loads a named dataset (see :func:`available`) or a corpus file.

    Each graph's ``labels`` carry at least ``source``, ``family`` and ``coarse``.
    With ``normalize`` (the default) graphs are in the normalised vocabulary
    (:func:`archmotif.normalize.normalize_many`; a no-op on graphs already
    normalised), as ``trace`` and ``from_onnx`` give them: a corpus written before
    normalisation existed, or by an earlier version of its rules, still meets today's
    queries. A corpus file that says it was normalised by this very pass (its
    ``meta["normalizer"]`` is :func:`archmotif.normalize.normalizer_id`, as ``zoo
    build`` and ``dataset export`` write it) is not normalised again, which is what
    normalising it would give. ``normalize=False`` gives the graphs as stored.
    An unknown name that is not a file raises :class:`FileNotFoundError`; a file
    that is not a corpus raises :class:`~archmotif.FormatError`.
    """
    key = os.fspath(name_or_path)
    if key in _NAMED:
        graphs = _NAMED[key]()
        stored = _FILES.get(key, lambda: None)()
    elif not os.path.lexists(key):
        raise FileNotFoundError(
            f"{key}: neither a dataset name ({', '.join(_NAMED)}) nor an existing corpus file"
        )
    else:
        graphs = load_corpus(key)  # refuses directories, FIFOs and the like (FormatError)
        stored = Path(key)
    if not normalize or (stored is not None and normalized_here(stored)):
        return graphs
    return normalize_many(graphs)


def normalized_here(path: str | os.PathLike[str]) -> bool:
    """Whether the corpus file at ``path`` says this normalisation pass wrote it
    (``meta["normalizer"]`` equal to :func:`archmotif.normalize.normalizer_id`)."""
    from archmotif.corpus import CorpusReader

    with CorpusReader(path) as r:
        return stamped_here(r.meta)


def stamped_here(meta: dict) -> bool:
    """Whether corpus metadata ``meta`` says this normalisation pass wrote the graphs."""
    own = normalizer_id()
    return own is not None and meta.get("normalized") is True and meta.get("normalizer") == own


def normalized_meta(normalized: bool = True) -> dict[str, object]:
    """What a corpus records in its metadata of its graphs' normalisation: normalised
    graphs are stamped with this pass, so that loading them does not normalise them
    again (see :func:`load`)."""
    return {"normalized": normalized, "normalizer": normalizer_id() if normalized else None}
