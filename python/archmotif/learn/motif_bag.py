"""``MotifBag``: an architecture as the TF-IDF weighted bag of its canonical motifs, over
every level of the ``"merge"`` vocabulary. No training loop and no torch: the ablation
that shows what the vocabulary alone is worth, next to the learnt :class:`Encoder`.

A graph is contracted with the vocabulary mined at fit time (``Mined.apply``), as numbered:
the core breaks ties by structure, so the bag does not depend on the numbering (renumbering
first, as the learnt encoders do, left every embedding of builtin unchanged and took 5x the
time of mining it). Each macro node counts for its motif *and every motif it was merged
from* (``Motif.children``, recursively), so a ResNet-152 block and a ResNet-50 block that
differ only at the top level still share their lower-level parts. Counts get a sublinear
term frequency ``1 + log(count)`` (depth matters less than design) times the smoothed
inverse document frequency of the fitted graphs; rows are L2-normalised. Motifs the
vocabulary lacks (index -1) are not counted: a graph made only of those embeds as zeros.
The embedding has one column per vocabulary motif. Deterministic; ``seed`` is unused.

**The file** (:meth:`MotifBag.save`, written atomically; read by :meth:`MotifBag.load`
without unpickling) is an uncompressed ``.npz`` of ``header`` (UTF-8 JSON ``{"format":
"archmotif.motif-bag", "version": 1, "mine_kwargs", "vocab_ids": [hex]}``), ``idf``
(float64, one per motif) and ``corpus`` (uint8: the bytes of a corpus file holding the
fitted graphs). Loading checks the header against a schema (``mine_kwargs`` are mining
parameters and nothing else), reads the corpus with the corpus reader, mines it again
and checks that the vocabulary ids are the stored ones: the vocabulary is rebuilt, never
trusted from the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from archmotif.atomic import write_atomic
from archmotif.attributes import DEFAULT_DETAIL, DETAILS, PLAIN_DETAIL, check_detail, with_detail
from archmotif.corpus import load_corpus, save_corpus
from archmotif.errors import FormatError, InvalidArgument, LearnError, check_format
from archmotif.fileread import NpzReader, parse_json
from archmotif.graph import OpGraph
from archmotif.mining import Mined, check_mining_params, mine
from archmotif.mining.motifs import MacroGraph, MotifVocabulary

__all__ = ["BAG_FORMAT", "BAG_VERSION", "MotifBag", "MotifTfidf"]

BAG_FORMAT = "archmotif.motif-bag"
BAG_VERSION = 1


def _closure(vocab: MotifVocabulary) -> list[np.ndarray]:
    """For each motif, itself and every motif below it in the merge hierarchy."""
    # Children always have fewer nodes, so smallest-first sees them before their parents.
    # (Not level order: the core can record a child at its parent's level; seen on DARTS.)
    out: list[np.ndarray | None] = [None] * len(vocab)
    for m in sorted(vocab, key=lambda m: (m.num_nodes, m.index)):
        parts = {m.index}
        for c in m.children:
            parts.update(out[c].tolist())  # type: ignore[union-attr]
        out[m.index] = np.array(sorted(parts), dtype=np.int64)
    return out  # type: ignore[return-value]


class MotifTfidf:
    """The weighting of :class:`MotifBag` for a fixed vocabulary: ``fit(macros)`` takes
    the inverse document frequencies of the fitted macro graphs, ``transform(macros)``
    gives L2-normalised float32 rows (one column per vocabulary motif). The
    :class:`~archmotif.learn.encoder.Encoder` uses it for the sparse half of its
    embedding."""

    def __init__(self, vocabulary: MotifVocabulary) -> None:
        self._closure = _closure(vocabulary)
        self._idf = np.ones(len(self._closure), dtype=np.float64)

    @property
    def dim(self) -> int:
        return len(self._closure)

    def _counts(self, macros: Sequence[MacroGraph]) -> np.ndarray:
        x = np.zeros((len(macros), len(self._closure)), dtype=np.float64)
        for j, mg in enumerate(macros):
            known = mg.motifs[mg.motifs >= 0]
            if known.size:
                cols = np.concatenate([self._closure[i] for i in known.tolist()])
                np.add.at(x[j], cols, 1.0)
        return x

    def fit(self, macros: Sequence[MacroGraph]) -> MotifTfidf:
        df = (self._counts(macros) > 0).sum(axis=0)
        self._idf = np.log((1 + len(macros)) / (1 + df)) + 1.0
        return self

    def transform(self, macros: Sequence[MacroGraph]) -> np.ndarray:
        x = self._counts(macros)
        tf = np.zeros_like(x)
        np.log(x, out=tf, where=x > 0)
        z = np.where(x > 0, 1.0 + tf, 0.0) * self._idf
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0).astype(np.float32)


class MotifBag:
    """Hierarchical TF-IDF bag of canonical motifs (see the module docstring)."""

    name = "motif-bag"

    def __init__(
        self, *, mine_kwargs: dict[str, Any] | None = None, detail: str = DEFAULT_DETAIL
    ) -> None:
        self.mine_kwargs = dict(mine_kwargs or {})
        self.detail = check_detail(detail)
        self._mined: Mined | None = None

    def fit(self, graphs: Sequence[OpGraph], *, seed: int = 0) -> MotifBag:
        gs = with_detail(graphs, self.detail)
        if not gs:
            raise LearnError("MotifBag.fit needs at least one graph")
        self._mined = mine(gs, strategy="merge", progress=False, detail=self.detail,
                           **self.mine_kwargs)  # fmt: skip
        self._tfidf = MotifTfidf(self._mined.vocabulary).fit(self._mined.macro_graphs)
        return self

    def embed(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        if self._mined is None:
            raise LearnError("MotifBag.embed called before fit")
        gs = with_detail(graphs, self.detail)
        if not gs:
            return np.zeros((0, self._tfidf.dim), dtype=np.float32)
        return self._tfidf.transform(self._mined.apply(gs, progress=False))

    # ------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the fitted bag to one file (see the module docstring)."""
        if self._mined is None:
            raise LearnError("MotifBag.save called before fit")
        header = {
            "format": BAG_FORMAT,
            "version": BAG_VERSION,
            "mine_kwargs": self.mine_kwargs,
            "detail": self.detail,
            "vocab_ids": [format(i, "032x") for i in self._mined.vocabulary.ids],
        }
        with tempfile.TemporaryDirectory() as tmp:
            corpus = os.path.join(tmp, "corpus.npz")
            save_corpus(self._mined.graphs, corpus)
            with open(corpus, "rb") as f:
                corpus_bytes = np.frombuffer(f.read(), dtype=np.uint8)
        arrays = {
            "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            "idf": self._tfidf._idf,
            "corpus": corpus_bytes,
        }
        write_atomic(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MotifBag:
        """Reads a file written by :meth:`save`; a corrupt, foreign or newer file, or one
        whose corpus does not mine to its vocabulary, raises :class:`~archmotif.FormatError`
        naming it."""
        p = os.fspath(path)
        with NpzReader(p, "motif bag") as z:
            missing = {"header", "idf", "corpus"} - set(z.members)
            if missing:
                raise FormatError(f"{p}: not a motif bag file (missing {sorted(missing)})")
            for name, dtype in (("header", np.uint8), ("corpus", np.uint8), ("idf", np.float64)):
                if z.members[name].dtype != dtype or len(z.members[name].shape) != 1:
                    raise FormatError(f"{p}: motif bag member {name!r} is not a 1-D {dtype}")
            h = parse_json(z.array("header").tobytes(), p, "motif bag header")
            check_format(p, h, fmt=BAG_FORMAT, newest=BAG_VERSION, kind="motif bag file",
                         versioned="motif bag")  # fmt: skip
            ids, kwargs = h.get("vocab_ids"), h.get("mine_kwargs")
            detail = h.get("detail", PLAIN_DETAIL)  # files from before operator attributes: "op"
            if detail not in DETAILS:
                raise FormatError(f"{p}: motif bag header's detail is not one of {DETAILS}")
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise FormatError(f"{p}: motif bag header's vocab_ids is not a list of strings")
            if not isinstance(kwargs, dict):
                raise FormatError(f"{p}: motif bag header's mine_kwargs is not an object")
            try:
                kwargs = check_mining_params(**kwargs)
                vocab_ids = [int(i, 16) for i in ids]
            except (InvalidArgument, ValueError) as e:
                raise FormatError(f"{p}: bad motif bag header ({e})") from None
            if z.members["idf"].shape != (len(vocab_ids),):
                raise FormatError(f"{p}: motif bag idf has {z.members['idf'].shape} entries "
                                  f"for {len(vocab_ids)} motifs")  # fmt: skip
            idf, corpus = z.array("idf"), z.array("corpus")
        with tempfile.TemporaryDirectory() as tmp:
            file = os.path.join(tmp, "corpus.npz")
            with open(file, "wb") as f:
                f.write(corpus.tobytes())
            try:
                graphs = load_corpus(file)
            except FormatError as e:
                raise FormatError(f"{p}: stored corpus is unreadable ({e})") from None
        bag = cls(mine_kwargs=kwargs, detail=detail)
        if not graphs:
            raise FormatError(f"{p}: motif bag holds no fitted graphs")
        bag._mined = mine(graphs, strategy="merge", progress=False, detail=detail, **kwargs)
        if bag._mined.vocabulary.ids != vocab_ids:
            raise FormatError(
                f"{p}: mining the stored corpus gave another vocabulary than the one recorded "
                "(file altered or another archmotif version)"
            )
        bag._tfidf = MotifTfidf(bag._mined.vocabulary)
        bag._tfidf._idf = idf.astype(np.float64)
        return bag
