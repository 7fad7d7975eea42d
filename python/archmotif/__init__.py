"""archmotif: find the building blocks of neural networks.

Turn models into operator graphs (:func:`trace`, :func:`from_onnx`,
:class:`OpGraph`), keep many of them in one corpus file (:func:`save_corpus`,
:func:`load_corpus`, :class:`CorpusWriter`; :func:`open_corpus` reads one in chunks),
mine their motifs (:func:`mine`, :func:`canonical_hash`, :func:`contract`). The graph
work runs in a Rust core (``archmotif._core``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archmotif import _core
from archmotif.corpus import CorpusReader, CorpusWriter, load_corpus, open_corpus, save_corpus
from archmotif.errors import (
    ArchmotifError,
    FormatError,
    GraphError,
    InternalError,
    InvalidArgument,
    LimitError,
    RetrievalError,
    TraceError,
)
from archmotif.graph import OpGraph
from archmotif.mining import (
    MacroGraph,
    Mined,
    MiningParams,
    Motif,
    MotifVocabulary,
    canonical_hash,
    contract,
    load_mined,
    mine,
)

__version__: str = _core.__version__

__all__ = [
    "ArchmotifError",
    "CorpusReader",
    "CorpusWriter",
    "FormatError",
    "GraphError",
    "InternalError",
    "InvalidArgument",
    "LimitError",
    "MacroGraph",
    "Mined",
    "MiningParams",
    "Motif",
    "MotifVocabulary",
    "OpGraph",
    "RetrievalError",
    "TraceError",
    "__version__",
    "canonical_hash",
    "contract",
    "datasets",
    "from_onnx",
    "load_corpus",
    "load_mined",
    "mine",
    "open_corpus",
    "save_corpus",
    "trace",
]

# Learning and retrieval need torch (the ``gnn`` extra); they load on first use so
# that ``import archmotif`` stays numpy-only. ``datasets`` (dataset loading for
# experiments, above the library layers) loads on first use too, so importing
# ``archmotif`` or ``archmotif.mining`` does not load it.
_LAZY = {
    "datasets": ("archmotif.datasets", None),  # the harness: never loaded by the layers
    "Encoder": ("archmotif.learn.encoder", "Encoder"),
    "Predictor": ("archmotif.learn.predictor", "Predictor"),
    "Index": ("archmotif.retrieval.index", "Index"),
    "search": ("archmotif.retrieval.index", "search"),
    "evaluate": ("archmotif.retrieval.evaluate", "evaluate"),
    "metrics": ("archmotif.metrics", None),
    "view": ("archmotif.viz", "view"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'archmotif' has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def trace(
    model: Any,
    example_inputs: Any = None,
    *,
    meta: bool = True,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    normalize: bool = True,
) -> OpGraph:
    """Traces a PyTorch model (or a model name) into an :class:`OpGraph`, in the
    normalised vocabulary unless ``normalize=False`` (:mod:`archmotif.normalize`).

    See :func:`archmotif.frontends.torch_export.trace`; torch is imported only here.
    """
    from archmotif.frontends.torch_export import trace as _trace

    return _trace(model, example_inputs, meta=meta, name=name, labels=labels, normalize=normalize)


def from_onnx(path_or_model: Any, *, name: str | None = None, normalize: bool = True) -> OpGraph:
    """Reads an ONNX model into an :class:`OpGraph`, in the normalised vocabulary unless
    ``normalize=False``; see :mod:`archmotif.frontends.onnx`."""
    from archmotif.frontends.onnx import from_onnx as _from_onnx

    return _from_onnx(path_or_model, name=name, normalize=normalize)
