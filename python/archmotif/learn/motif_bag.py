"""``MotifBag``: an architecture as the TF-IDF weighted bag of its canonical motifs, over
every level of the ``"merge"`` vocabulary. No training loop and no torch: the ablation
that shows what the vocabulary alone is worth, next to the learnt :class:`Encoder`.

A graph is renumbered canonically and contracted with the vocabulary mined at fit time
(``Mined.apply``). Each macro node counts for its motif *and every motif it was merged
from* (``Motif.children``, recursively), so a ResNet-152 block and a ResNet-50 block that
differ only at the top level still share their lower-level parts. Counts get a sublinear
term frequency ``1 + log(count)`` (depth matters less than design) times the smoothed
inverse document frequency of the fitted graphs; rows are L2-normalised. Motifs the
vocabulary lacks (index -1) are not counted: a graph made only of those embeds as zeros.
The embedding has one column per vocabulary motif. Deterministic; ``seed`` is unused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from archmotif.errors import LearnError
from archmotif.graph import OpGraph
from archmotif.mining import Mined, mine
from archmotif.motifs import MacroGraph, MotifVocabulary

__all__ = ["MotifBag", "MotifTfidf"]


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

    def __init__(self, *, mine_kwargs: dict[str, Any] | None = None) -> None:
        self.mine_kwargs = dict(mine_kwargs or {})
        self._mined: Mined | None = None

    def fit(self, graphs: Sequence[OpGraph], *, seed: int = 0) -> MotifBag:
        from archmotif.learn.renumber import canonical_order

        gs = [canonical_order(g) for g in graphs]
        if not gs:
            raise LearnError("MotifBag.fit needs at least one graph")
        self._mined = mine(gs, strategy="merge", progress=False, **self.mine_kwargs)
        self._tfidf = MotifTfidf(self._mined.vocabulary).fit(self._mined.macro_graphs)
        return self

    def embed(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        from archmotif.learn.renumber import canonical_order

        if self._mined is None:
            raise LearnError("MotifBag.embed called before fit")
        gs = [canonical_order(g) for g in graphs]
        if not gs:
            return np.zeros((0, self._tfidf.dim), dtype=np.float32)
        return self._tfidf.transform(self._mined.apply(gs, progress=False))
