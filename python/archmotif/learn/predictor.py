"""``archmotif.Predictor``: predicts a number per architecture (accuracy, say) from its
graph, with few labels, on top of the two-stage :class:`Encoder`'s motif embeddings.

Everything learnt before the labels is label-free and sees every architecture of the
space (for NAS-Bench-201 all 15,625 networks, no accuracy seen); then heads are fitted
on the few labelled ones. ``head`` says which:

- ``"mlp"``: an ensemble of small MLP heads (:mod:`archmotif.learn.rank_head`) over the
  encoder's features, with a squared error plus a pairwise ranking loss (the metric of
  the field is Kendall tau), pretrained on the architecture surrogates (below);
- ``"trees"``: gradient-boosted trees (:mod:`archmotif.learn.trees`, saved as arrays)
  over the graph's architecture surrogates and the log counts of its operator walks of
  two and three nodes (which operators feed which: :func:`~archmotif.learn.surrogate.
  walk_counts`), with columns fixed on the space;
- ``"auto"`` (the default): both, the tree head's share of the prediction (0, 0.25,
  0.5, 0.75 or 1) picked by the Kendall tau of out-of-fold predictions over 3 folds of
  the labelled graphs, nothing else seen. On NAS-Bench-201 the MLP heads rank better
  with a hundred labels and the trees from several hundred on (docs/prediction.md).

The encoder is frozen. ``features`` says what the MLP heads read, ``+``-joined:

- ``motifs``: the mean stage-1 motif embedding over the graph's macro nodes
  (:meth:`Encoder.motif_means`), what the graph is made of;
- ``walks``: what the tree head reads, the graph's architecture surrogates and the log
  counts of its operator walks of two and three nodes, columns fixed on the encoder's
  corpus;
- ``graph``: the encoder's learnt (dense) half, the stage-2 macro-graph embedding;
- ``bag``: the columns of its hierarchical TF-IDF motif bag whose motif occurs in at
  least ``min_df`` of the pretraining graphs (and not in all of them).

The default, ``motifs+walks``, ranks best on NAS-Bench-201: which operators feed which
decides accuracy in a cell space, and a mean of motif embeddings blurs it.

**The pretraining that helps is the heads'** (:mod:`archmotif.learn.surrogate`): before
the labelled fit, each head's hidden layer is trained ``pretrain_steps`` steps to regress
the *architecture surrogates* of every distinct graph of the space (operator counts,
FLOPs, depth, parameterised operators along a path, path count: what the graph says
about itself, as FGP regresses a flow surrogate), and during the labelled fit it keeps
regressing them, ``surrogate_weight`` times their squared error added to every step's
loss, so a few dozen labels cannot pull it away from what holds for the whole space. On
NAS-Bench-201 (docs/prediction.md) this is what beats no pretraining at 78 and 156
labels (``pretrain_steps=0, surrogate_weight=0`` is the same model without it).

**The encoder a Predictor builds is not trained contrastively** (``stage1_epochs=0,
stage2_epochs=0``, ``out=256``: :data:`UNTRAINED_ENCODER`, unless ``encoder_settings``
say otherwise): its motif embeddings are a fixed random GNN of each motif's operator
graph, which works as a random projection of what the motif is made of and keeps it. The
contrastive objectives, built for retrieval (NT-Xent with augmentations), make the
embeddings invariant to what decides accuracy: over them the same predictor ranks
worse (docs/prediction.md, the contrastive rows). Of the encoder's features,
``motifs`` ranks best; the bag's sparse columns overfit a few dozen labels.

**Targets that span decades** (all positive, the largest at least :data:`LOG_SPAN` times
the smallest: parameter counts, FLOPs, latencies) are fitted as their logarithm and
predicted back through the exponential, so a prediction is positive and an error is a
factor, not an absolute amount dwarfed by the largest models (fitted on the 98 built-in
graphs' parameter counts, 1.2 M to 1.75 G, resnet18's prediction was -3.6 M in plain
units). Accuracies (NAS-Bench-201: 10 % to 94 %) stay in plain units. The heads' choice
is by Kendall tau, which the logarithm does not change.

Each feature is standardised over the encoder's corpus (label-free) before the head.
The encoder stays frozen while the head is fitted, so the features of a graph never
change: they are computed once per distinct graph (by :func:`~archmotif.canonical_hash`
at the predictor's ``detail``) and remembered, which is what makes refitting the head on
another labelled set (the benchmark's 20 splits) cheap; :meth:`pretrain` runs once and
serves every later :meth:`fit`.

``Predictor(encoder=None)`` builds its encoder at :meth:`fit` on the labelled graphs
plus ``unlabelled``; an unfitted :class:`Encoder` is fitted the same way; a fitted one
or a path to an encoder file is used as it is. The surrogates the MLP heads are
pretrained on are those of the graphs given to :meth:`pretrain`, or else of the labelled
graphs plus ``unlabelled`` at the first :meth:`fit`. Graphs are seen at the encoder's level of
detail (``Encoder(detail=...)``; one built here takes ``detail``, ``"attrs"`` by
default: with attributes a 1x1 and a 3x3 convolution differ); a ``detail`` other than a
given encoder's raises :class:`~archmotif.InvalidArgument`.

:meth:`save` writes one checked file and :meth:`load` reads it back
(:mod:`archmotif.learn.predictor_file`: the settings schema and the file format).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from archmotif.attributes import DEFAULT_DETAIL, check_detail
from archmotif.errors import InvalidArgument, LearnError
from archmotif.graph import OpGraph
from archmotif.learn import predictor_file
from archmotif.learn.encoder import CONFIG_SCHEMA as ENCODER_SCHEMA
from archmotif.learn.encoder import Encoder
from archmotif.learn.predictor_file import CONFIG_SCHEMA, PREDICTOR_FORMAT, check_config
from archmotif.learn.rank_head import MLPHead, fit_ensemble, predict_ensemble
from archmotif.learn.surrogate import SurrogateHead, Surrogates, pretrain_heads, surrogate_targets
from archmotif.learn.train import RunContext
from archmotif.learn.trees import TreeEnsemble, fit_trees
from archmotif.mining import canonical_hash

__all__ = [
    "CONFIG_SCHEMA",
    "LOG_SPAN",
    "PREDICTOR_FORMAT",
    "UNTRAINED_ENCODER",
    "Predictor",
    "check_targets",
]

# the encoder a Predictor builds when given none: no contrastive training (see the module
# docstring); its motif embeddings are a fixed random GNN of each motif's operator graph,
# 256 wide: a random projection keeps more of what a motif is made of the wider it is
# (NAS-Bench-201, 2 seeds: tau 0.751/0.776 at 78/156 labels against 0.739/0.772 at 64)
UNTRAINED_ENCODER: dict[str, Any] = {"stage1_epochs": 0, "stage2_epochs": 0, "out": 256}
# head="auto": the tree head's shares tried, and the folds of the labelled graphs
MIXES = (0.0, 0.25, 0.5, 0.75, 1.0)
FOLDS = 3
# positive targets whose largest is at least this many times the smallest are fitted as
# their logarithm (see the module docstring)
LOG_SPAN = 100.0


def check_targets(graphs: Sequence[OpGraph], targets: Any) -> np.ndarray:
    """``targets`` as float64 ``[len(graphs)]``: one finite number per graph, at least two
    distinct values. Anything else raises :class:`~archmotif.InvalidArgument`."""
    try:
        y = np.asarray(targets, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"targets must be numbers ({e})") from None
    if y.ndim != 1:
        raise InvalidArgument(f"targets must be one number per graph, got shape {y.shape}")
    if len(y) != len(graphs):
        raise InvalidArgument(f"{len(graphs)} graphs but {len(y)} targets")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise InvalidArgument(f"target {int(bad[0])} is {y[bad[0]]} (targets must be finite)")
    if len(y) < 2 or np.ptp(y) == 0:
        raise InvalidArgument("fitting needs at least two graphs with different targets")
    return y


def _distinct(graphs: Sequence[OpGraph], detail: str) -> dict[int, OpGraph]:
    """The first graph of each canonical hash at ``detail``, by hash, in order."""
    seen: dict[int, OpGraph] = {}
    for g in graphs:
        seen.setdefault(canonical_hash(g, detail=detail), g)
    return seen


def _graph_list(graphs: Any, what: str) -> list[OpGraph]:
    gs = [graphs] if isinstance(graphs, OpGraph) else list(graphs)
    for i, g in enumerate(gs):
        if not isinstance(g, OpGraph):
            raise InvalidArgument(f"{what}[{i}] is {type(g).__name__}, not an OpGraph")
    return gs


class Predictor:
    """Few-label predictor of a number per architecture (see the module docstring)."""

    name = "ours"

    def __init__(
        self,
        encoder: Encoder | str | os.PathLike[str] | None = None,
        *,
        detail: str | None = None,
        features: str = "motifs+walks",
        head: str = "auto",
        hidden: int = 64,
        members: int = 5,
        steps: int = 300,
        lr: float = 3e-3,
        weight_decay: float = 1e-3,
        dropout: float = 0.1,
        rank_weight: float = 1.0,
        min_df: float = 0.01,
        pretrain_steps: int = 1000,
        surrogate_weight: float = 3.0,
        encoder_settings: dict[str, Any] | None = None,
        device: str | torch.device | None = None,
        threads: int | None = 1,
        progress: bool = False,
    ) -> None:
        if isinstance(encoder, (str, os.PathLike)):
            encoder = Encoder.load(encoder, device=device, progress=progress, threads=threads)
        elif encoder is None:
            settings = {**UNTRAINED_ENCODER, **(encoder_settings or {})}
            unknown = sorted(set(settings) - set(ENCODER_SCHEMA))
            if unknown:
                raise InvalidArgument(f"encoder_settings: unknown {unknown}")
            settings.setdefault("detail", detail or DEFAULT_DETAIL)
            encoder = Encoder(**settings, device=device, progress=progress, threads=threads)
        elif not isinstance(encoder, Encoder):
            raise InvalidArgument(f"encoder must be an Encoder, a path or None, not {encoder!r}")
        if detail is not None and check_detail(detail) != encoder.detail:
            raise InvalidArgument(
                f"detail={detail!r} but the encoder takes graphs at detail={encoder.detail!r}"
            )
        self.config = check_config(
            dict(detail=encoder.detail, features=features, head=head, hidden=hidden,
                 members=members, steps=steps, lr=lr, weight_decay=weight_decay, dropout=dropout,
                 rank_weight=rank_weight, min_df=min_df, pretrain_steps=pretrain_steps,
                 surrogate_weight=surrogate_weight)
        )  # fmt: skip
        self.device = RunContext.pick_device(device)
        self.threads, self.progress = threads, progress
        self.encoder = encoder
        self._columns: np.ndarray | None = None  # bag columns the head reads
        self._scale: tuple[np.ndarray, np.ndarray] | None = None  # feature mean, std
        self._y: tuple[float, float] = (0.0, 1.0)  # target mean, std (of its log if _log)
        self._log = False  # targets fitted as their logarithm
        self._heads: list[MLPHead] = []
        self._trees: TreeEnsemble | None = None
        self._mix = 0.0  # the tree head's share of the prediction
        # the surrogates and operator walks (Surrogates(walks=True), columns fixed on the
        # encoder's corpus): what the tree head reads, and the "walks" feature
        self._walks: Surrogates | None = None
        self._wired: dict[int, np.ndarray] = {}  # their rows, by canonical hash
        # head="auto": each share's out-of-fold Kendall tau at the last fit
        self.mix_scores: dict[float, float] = {}
        # what pretrain() leaves for fit: the heads' start, the space's features and
        # surrogates (kept for the surrogate term of the labelled fit)
        self._pretrained: list[dict[str, torch.Tensor]] | None = None
        self._surrogates: tuple[torch.Tensor, torch.Tensor] | None = None
        self._memo: dict[int, np.ndarray] = {}

    # -------------------------------------------------------------- features
    def _fitted_encoder(self) -> bool:
        return self.encoder._fitted is not None

    def _raw(self, graphs: Sequence[OpGraph]) -> tuple[np.ndarray, np.ndarray]:
        """Unscaled features of the distinct graphs among ``graphs``, remembered by
        canonical hash: ``(rows [n, d] aligned with graphs, hashes)``."""
        detail = self.config["detail"]
        hashes = np.array([canonical_hash(g, detail=detail) for g in graphs], dtype=object)
        todo: dict[int, OpGraph] = {}
        for h, g in zip(hashes.tolist(), graphs, strict=True):
            if h not in self._memo:
                todo.setdefault(h, g)
        if todo:
            gs = list(todo.values())  # the encoder views them at its detail
            wanted = self.config["features"].split("+")
            parts = [self.encoder.motif_means(gs)] if "motifs" in wanted else []
            if "bag" in wanted:
                dense, bag = self.encoder.embed_halves(gs)
                parts += [dense] if "graph" in wanted else []
                parts += [bag[:, self._columns]] if bag is not None else []
            elif "graph" in wanted:
                parts.append(self.encoder.embed_dense(gs))
            parts += [self._walk_rows(gs)] if "walks" in wanted else []
            rows = np.hstack(parts).astype(np.float32)
            self._memo.update(zip(todo, rows, strict=True))
        d = self._dim()
        out = np.stack([self._memo[h] for h in hashes.tolist()]) if len(graphs) else None
        return (out if out is not None else np.zeros((0, d), np.float32)), hashes

    def _dim(self) -> int:
        wanted = self.config["features"].split("+")
        f = self.encoder._require()
        bag = len(self._columns) if self._columns is not None and "bag" in wanted else 0
        motifs = int(f.table.shape[1]) if "motifs" in wanted else 0
        graph = int(self.encoder.config["out"]) if "graph" in wanted else 0
        walks = self._walks.width if self._walks is not None and "walks" in wanted else 0
        return motifs + graph + bag + walks

    def _uses_walks(self) -> bool:
        return self.config["head"] != "mlp" or "walks" in self.config["features"].split("+")

    def _prepare(self) -> None:
        """Picks the bag columns and the standardisation from the pretraining corpus."""
        enc = self.encoder
        corpus = enc._graphs
        self._memo = {}
        self._pretrained = self._surrogates = None  # of features at another scale
        if enc.config["bag_weight"] > 0 and "bag" in self.config["features"]:
            bag = enc.embed_halves(corpus)[1]
            assert bag is not None
            df = (bag > 0).mean(axis=0)
            self._columns = np.flatnonzero((df >= self.config["min_df"]) & (df < 1.0))
        else:
            self._columns = np.zeros(0, dtype=np.int64)
        self._walks, self._wired = None, {}
        if self._uses_walks():
            distinct = _distinct(corpus, self.config["detail"])
            self._walks = Surrogates(self.config["detail"], walks=True)
            rows = self._walks.fit_transform(list(distinct.values()))
            self._wired = dict(zip(distinct, rows, strict=True))
        x = self._raw(corpus)[0].astype(np.float64)
        mean, std = x.mean(axis=0), x.std(axis=0)
        self._scale = (mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32))

    def features(self, graphs: Sequence[OpGraph] | OpGraph) -> np.ndarray:
        """The standardised float32 features ``[n, d]`` the head reads (see the module
        docstring)."""
        if self._scale is None:
            raise LearnError("Predictor.features called before fit (or load)")
        x, _ = self._raw(_graph_list(graphs, "graphs"))
        return (x - self._scale[0]) / self._scale[1]

    # ----------------------------------------------------------------- fitting
    def pretrain(self, graphs: Sequence[OpGraph], *, seed: int = 0) -> Predictor:
        """Label-free pretraining of the heads on ``graphs`` (the whole space; their
        distinct members by canonical hash): each head's hidden layer learns to regress
        the graphs' architecture surrogates (:mod:`archmotif.learn.surrogate`). The
        encoder must be fitted (an unfitted one is fitted on ``graphs`` first). Later
        :meth:`fit` calls start their heads from these weights. With ``head="trees"``
        there is no MLP head to pretrain: only the encoder is fitted when it needs to be
        (the walk columns the trees read are fixed on the encoder's corpus). Returns
        ``self``."""
        gs = _graph_list(graphs, "graphs")
        if not gs:
            raise InvalidArgument("Predictor.pretrain needs at least one graph")
        if not self._fitted_encoder():
            self.encoder.fit(gs, seed=seed)
            self._scale = None
        if self._scale is None:
            self._prepare()
        distinct = list(_distinct(gs, self.config["detail"]).values())
        c = self.config
        if c["head"] == "trees":  # no MLP head to pretrain
            return self
        targets = torch.from_numpy(surrogate_targets(distinct, c["detail"])).to(self.device)
        x = torch.from_numpy(self.features(distinct)).to(self.device)
        ctx = RunContext(int(seed), self.device, self.progress, self.threads)
        ctx.seed_globals()
        with ctx.scoped():
            self._pretrained = pretrain_heads(
                lambda: self._surrogate_head(x.shape[1], targets.shape[1]),
                x, targets,
                members=c["members"], steps=c["pretrain_steps"], lr=c["lr"],
                weight_decay=c["weight_decay"], gen=ctx.gen,
            )  # fmt: skip
        self._surrogates = (x, targets)
        return self

    def _surrogate_head(self, dim: int, num_targets: int) -> SurrogateHead:
        c = self.config
        return SurrogateHead(MLPHead(dim, c["hidden"], c["dropout"]), c["hidden"], num_targets)

    def _uses_surrogates(self) -> bool:
        return self.config["pretrain_steps"] > 0 or self.config["surrogate_weight"] > 0

    def fit(
        self,
        graphs: Sequence[OpGraph],
        targets: Sequence[float] | np.ndarray,
        *,
        seed: int = 0,
        unlabelled: Sequence[OpGraph] = (),
    ) -> Predictor:
        """Fits the heads on ``graphs`` and their ``targets``. When the encoder is not
        fitted it is fitted first on ``graphs`` + ``unlabelled``; when the heads use the
        surrogates (``pretrain_steps`` or ``surrogate_weight`` > 0) and :meth:`pretrain`
        has not run, it runs on ``graphs`` + ``unlabelled`` (pass the whole space as
        ``unlabelled``: no target of it is read). The heads start from the pretrained
        ones and, with ``surrogate_weight`` > 0, keep regressing the surrogates of the
        space (that weight times their squared error is added to every step's loss).
        Returns ``self``."""
        gs = _graph_list(graphs, "graphs")
        if not gs:
            raise InvalidArgument("Predictor.fit needs at least two labelled graphs, got none")
        y = check_targets(gs, targets)
        pool = gs + _graph_list(unlabelled, "unlabelled")
        if not self._fitted_encoder():
            self.encoder.fit(pool, seed=seed)
            self._scale = None
        if self._scale is None:
            self._prepare()
        c = self.config
        if self._uses_surrogates() and self._surrogates is None and c["head"] != "trees":
            self.pretrain(pool, seed=seed)
        x = self.features(gs)
        self._log = bool(y.min() > 0 and y.max() >= LOG_SPAN * y.min())
        if self._log:
            y = np.log(y)
        mu, sd = float(y.mean()), float(y.std())
        self._y = (mu, sd)
        z = (y - mu) / sd
        mix = {"mlp": 0.0, "trees": 1.0}.get(c["head"])
        if mix is None:
            mix, self.mix_scores = self._cross_validate(gs, x, z, seed)
        self._mix = mix
        self._heads = self._fit_mlp(x, z, seed) if mix < 1 else []
        self._trees = fit_trees(self._tree_inputs(gs), z, seed=seed) if mix > 0 else None
        return self

    @property
    def tree_share(self) -> float:
        """The tree head's share of each prediction (0 with ``head="mlp"``, 1 with
        ``"trees"``, chosen at :meth:`fit` with ``"auto"``)."""
        return self._mix

    def _fit_mlp(self, x: np.ndarray, z: np.ndarray, seed: int) -> list[MLPHead]:
        """The MLP heads fitted on features ``x`` and standardised targets ``z``."""
        c = self.config
        xt = torch.from_numpy(x).to(self.device)
        yt = torch.from_numpy(z).float()
        ctx = RunContext(int(seed), self.device, self.progress, self.threads)
        ctx.seed_globals()
        use = self._uses_surrogates() and self._surrogates is not None
        starts = iter(self._pretrained or [] if use else [])
        xs, ts = self._surrogates if use and self._surrogates is not None else (xt, xt[:, :0])

        def make() -> nn.Module:
            if not use:
                return MLPHead(xt.shape[1], c["hidden"], c["dropout"])
            m = self._surrogate_head(xt.shape[1], ts.shape[1])
            start = next(starts, None)
            if start is not None:  # the k-th member starts from the k-th pretrained head
                m.load_state_dict(start)
            return m

        weight = c["surrogate_weight"] if use else 0.0
        with ctx.scoped():
            members = fit_ensemble(
                make,
                lambda m, rows: m(xt[rows]),
                torch.arange(len(x)),
                yt,
                members=c["members"], steps=c["steps"], lr=c["lr"],
                weight_decay=c["weight_decay"], rank_weight=c["rank_weight"],
                gen=ctx.gen, device=self.device,
                aux=(lambda m: weight * m.surrogate_loss(xs, ts, ctx.gen)) if weight else None,
            )  # fmt: skip
        return [m.head if isinstance(m, SurrogateHead) else m for m in members]

    def _predict_mlp(self, heads: list[MLPHead], x: np.ndarray) -> np.ndarray:
        xt = torch.from_numpy(x).to(self.device)
        ctx = RunContext(0, self.device, False, self.threads)
        with ctx.scoped():
            s = predict_ensemble(heads, lambda m, rows: m(xt[rows]), torch.arange(len(x)))
        return s.numpy()

    def _walk_rows(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        """The graphs' rows of :attr:`_walks`, computed once per distinct graph."""
        assert self._walks is not None
        detail = self.config["detail"]
        hashes = [canonical_hash(g, detail=detail) for g in graphs]
        todo = {h: g for h, g in zip(hashes, graphs, strict=True) if h not in self._wired}
        if todo:  # surrogates walk each graph in Python: once per distinct graph
            rows = self._walks.transform(list(todo.values()))
            self._wired.update(zip(todo, rows, strict=True))
        width = self._walks.width
        return np.stack([self._wired[h] for h in hashes]) if hashes else np.zeros((0, width))

    def _tree_inputs(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        """What the tree head reads: the graphs' surrogates and operator walks
        (:class:`~archmotif.learn.surrogate.Surrogates` with ``walks``), not the motif
        embeddings (over them as well, the trees rank worse: 0.871 against 0.891 Kendall
        tau at 1,563 NAS-Bench-201 labels, one split)."""
        return self._walk_rows(graphs).astype(np.float64)

    def _cross_validate(
        self, graphs: list[OpGraph], x: np.ndarray, z: np.ndarray, seed: int
    ) -> tuple[float, dict[float, float]]:
        """``head="auto"``: the share of the tree head in the prediction, picked among
        :data:`MIXES` by the Kendall tau of out-of-fold predictions over :data:`FOLDS`
        folds of the labelled graphs (nothing else is seen); ties go to the smaller
        share. Returns it and every share's tau."""
        from scipy.stats import kendalltau

        order = np.random.default_rng(seed).permutation(len(z))
        folds = [np.sort(f) for f in np.array_split(order, min(FOLDS, len(z)))]
        trees_x = self._tree_inputs(graphs)
        mlp, trees = np.zeros(len(z)), np.zeros(len(z))
        for k, held in enumerate(folds):
            rest = np.setdiff1d(np.arange(len(z)), held)
            if len(rest) < 2 or np.ptp(z[rest]) == 0:
                continue  # nothing to fit on: both stay 0 there
            mlp[held] = self._predict_mlp(self._fit_mlp(x[rest], z[rest], seed + k), x[held])
            fitted = fit_trees(trees_x[rest], z[rest], seed=seed + k)
            trees[held] = fitted.predict(trees_x[held])
        scores = {}
        for w in MIXES:
            tau = kendalltau((1 - w) * mlp + w * trees, z)[0]
            scores[w] = float(tau) if np.isfinite(tau) else -1.0
        return max(MIXES, key=lambda w: (scores[w], -w)), scores

    def predict(self, graphs: Sequence[OpGraph] | OpGraph) -> np.ndarray:
        """float64 ``[len(graphs)]``: the predicted target of each graph (in the targets'
        units)."""
        if not self._heads and self._trees is None:
            raise LearnError("Predictor.predict called before fit (or load)")
        gs = _graph_list(graphs, "graphs")
        if not gs:
            return np.zeros(0, dtype=np.float64)
        s = np.zeros(len(gs))
        if self._mix < 1:
            s = self._predict_mlp(self._heads, self.features(gs))
        if self._trees is not None and self._mix > 0:
            s = (1 - self._mix) * s + self._mix * self._trees.predict(self._tree_inputs(gs))
        out = s * self._y[1] + self._y[0]
        return np.exp(out) if self._log else out

    # ------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the fitted predictor, its encoder included, to one file (atomic)."""
        predictor_file.write(self, path)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        device: str | torch.device | None = None,
        threads: int | None = 1,
    ) -> Predictor:
        """Reads a file written by :meth:`save`; a corrupt, foreign or newer file raises
        :class:`~archmotif.FormatError` naming it."""
        return predictor_file.read(cls, path, device=device, threads=threads)

    def __repr__(self) -> str:
        parts = [f"{len(self._heads)} heads"] if self._heads else []
        parts += [f"{len(self._trees.roots)} trees"] if self._trees is not None else []
        state = f"fitted, {' + '.join(parts)}, tree share {self._mix}" if parts else "not fitted"
        return f"Predictor(detail={self.config['detail']!r}, {state}, device={self.device})"
