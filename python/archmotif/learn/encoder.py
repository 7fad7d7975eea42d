"""``archmotif.Encoder``: ours, the two-stage contrastive architecture encoder.

fit: graphs are renumbered by structure (:func:`~archmotif.learn.renumber.canonical_order`)
and mined (``strategy``, default ``"merge"``); with ``lower_levels=k`` once more with
``k`` fewer vocabulary levels, for the "other level" views. Stage 1 trains a motif
encoder and a context encoder with InfoNCE (a motif against the context of one of its
instances, the other motifs' contexts as negatives); the motif encoder then embeds every
vocabulary motif. Stage 2 trains a macro-graph encoder over those motif embeddings (plus
a learnt per-motif correction) with NT-Xent between two motif-preserving views, plus
cross-entropy on ``labels["coarse"]`` when ``use_labels`` and labels exist. The views
can also rewrite the graph as another spelling of the design would (issue 16): with
probability ``rewrite_depth`` a block is repeated or removed, and each macro node's
motif is swapped with probability ``rewrite_swap`` for a motif one operator apart
(:mod:`archmotif.learn.rewrite`); with ``hard_negatives`` (and coarse labels) each batch
pairs every graph with one of the graphs of another class the motif bag ranks nearest
to it. All three are off by default: on the zoo they lift the hand-written queries but
put the hybrid below the motif bag alone (README, "Rewrite views and hard negatives").
With ``distill`` > 0, stage 2 also distils the motif bag's neighbourhoods into the
learnt half (:func:`~archmotif.learn.train.relational_kd` with that weight, each batch
half anchors joined by one of their bag-nearest graphs): off by default, as it makes
the learnt half alone better and the hybrid worse (README, "Distilling the bag").
With ``shape_features``, every macro node also tells stage 2 what its instance does to
tensor sizes (:func:`~archmotif.learn.data.shape_features`: log ratios of its output's,
its largest and its smallest tensor's element count to its inputs'), the continuous side
of a design (a bottleneck's width, an MLP's ratio) that exact motif ids, and so the
motif bag, cannot see; graphs without shapes give zeros. Off by default (README,
"Shapes for the learnt half").
``detail`` (``"op"`` or ``"attrs"``, :mod:`archmotif.attributes`) is the level of detail
every graph is taken at, in fit and embed alike; the encoder file records it.

embed: new graphs are renumbered and contracted with the fitted vocabulary
(``Mined.apply``); a macro node whose motif the vocabulary lacks is embedded by the
motif encoder from its operator subgraph; the macro-graph encoder's output is
L2-normalised. With ``bag_weight`` > 0 (the default) the embedding is hybrid, as
sparse-plus-dense retrieval is in text search: the learnt (dense) part is concatenated
with the hierarchical TF-IDF bag of the graph's motifs
(:class:`~archmotif.learn.motif_bag.MotifTfidf`, the fitted vocabulary's document
frequencies) and the whole row L2-normalised again. Before fusing, the two halves are
put on the same scale, as hybrid search engines normalise sparse and dense scores: at
fit time the spread (standard deviation) of each half's pairwise cosine similarities
over the training graphs is measured (``spread_dense``, ``spread_bag``; label-free), and
the halves are scaled so that cosine similarity is

    (dense / spread_dense + bag_weight² · bag / spread_bag)
    / (1 / spread_dense + bag_weight² / spread_bag)

of the two cosines: ``bag_weight=1`` gives both halves equal say in the ranking. Left
unscaled, the learnt cosines spread 2-3 times wider than the bag's and drown it (the
bag keeps exact motif identity, which a 64-wide learnt vector blurs; the learnt part
adds what identity misses, similar but unequal motifs and motifs the vocabulary
lacks). ``bag_weight=0`` gives the learnt embedding alone.

The encoder file carries the fitted ``Mined`` (:meth:`~archmotif.Mined.to_bytes`: the
vocabulary, its rules, the training graphs and their macro graphs), so a loaded encoder
embeds without mining again. Files written before it (``corpus``: the training graphs
only) still load, and mine their graphs again on first use, checking the vocabulary ids
are the ones the encoder was trained with.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from archmotif.attributes import DEFAULT_DETAIL, DETAILS, PLAIN_DETAIL, with_detail
from archmotif.corpus import load_corpus
from archmotif.errors import FormatError, InvalidArgument, LearnError
from archmotif.fileread import parse_json
from archmotif.graph import OpGraph
from archmotif.learn import encoder_file
from archmotif.learn.data import (
    SHAPE_FEATURES,
    OpVocabulary,
    canonical_order,
    op_data,
    unknown_instances,
    unpack_graphs,
)
from archmotif.learn.models import CONVS, Heads, MacroGraphEncoder, OpGraphEncoder
from archmotif.learn.motif_bag import MotifTfidf
from archmotif.learn.stages import Fitted, fit_two_stage, macro_inputs
from archmotif.learn.train import RunContext, embed_batches
from archmotif.mining import STRATEGIES, Mined, MiningParams, check_mining_params, mine
from archmotif.mining.motifs import MacroGraph

__all__ = ["CONFIG_SCHEMA", "Encoder", "check_bounded", "check_config", "fuse", "similarity_spread"]

SPREAD_SAMPLE = 2048  # rows whose pairwise cosines measure a spread
MAX_WIDTH = 4096  # hidden and out: a file's widths are bounded before anything is built

# The encoder's settings, field by field: (type, low, high) for numbers, a tuple of
# choices for strings. The constructor and Encoder.load check the same table, so a
# file can carry nothing a caller could not pass, and widths and counts are bounded
# before any tensor is allocated.
CONFIG_SCHEMA: dict[str, Any] = {
    "conv": CONVS,
    "hidden": (int, 1, MAX_WIDTH),
    "out": (int, 1, MAX_WIDTH),
    "stage1_epochs": (int, 0, 10**6),
    "stage2_epochs": (int, 0, 10**6),
    "temperature": (float, 1e-6, 1e6),
    "use_labels": (bool, None, None),
    "strategy": STRATEGIES,
    "mine_kwargs": (dict, None, None),
    "context_hops": (int, 0, 64),
    "batch_size": (int, 2, 10**6),
    "lr": (float, 1e-12, 1e3),
    "lower_levels": (int, 0, 64),
    "bag_weight": (float, 0.0, 1e6),
    "detail": DETAILS,
    "rewrite_depth": (float, 0.0, 1.0),
    "rewrite_swap": (float, 0.0, 1.0),
    "hard_negatives": (bool, None, None),
    "distill": (float, 0.0, 1e6),
    "shape_features": (bool, None, None),
}


# what an encoder file written before these settings existed was trained with (the
# defaults, spelled out so that a change of default leaves old files as trained)
_BEFORE_REWRITES = {
    "rewrite_depth": 0.0,
    "rewrite_swap": 0.0,
    "hard_negatives": False,
    "distill": 0.0,
    "shape_features": False,
}


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked field by field against :data:`CONFIG_SCHEMA` (exactly its
    keys; ``mine_kwargs`` only mining parameters, see
    :func:`~archmotif.mining.check_mining_params`), with floats as floats. Raises
    ``ValueError`` (an :class:`~archmotif.InvalidArgument`) naming the field."""
    unknown = sorted(set(config) - set(CONFIG_SCHEMA))
    missing = sorted(set(CONFIG_SCHEMA) - set(config))
    if unknown or missing:
        raise InvalidArgument(f"encoder settings: unknown {unknown}, missing {missing}")
    out: dict[str, Any] = {}
    for key, rule in CONFIG_SCHEMA.items():
        v = config[key]
        if isinstance(rule[0], str):  # choices
            if v not in rule:
                raise InvalidArgument(f"{key} must be one of {rule}, got {v!r}")
        elif rule[0] is bool:
            if not isinstance(v, bool):
                raise InvalidArgument(f"{key} must be true or false, got {v!r}")
        elif rule[0] is dict:
            if not isinstance(v, dict):
                raise InvalidArgument(f"{key} must be a dict of mining parameters, got {v!r}")
            v = check_mining_params(**v)
        else:
            v = check_bounded(key, v, rule)
        out[key] = v
    return out


def check_bounded(key: str, v: Any, rule: tuple[type, float, float]) -> int | float:
    """``v`` as ``rule = (int or float, lo, hi)`` asks (a bool is not a number; NaN
    fails), else :class:`~archmotif.InvalidArgument` naming ``key``."""
    kind, lo, hi = rule
    ok = not isinstance(v, bool) and isinstance(v, int if kind is int else (int, float))
    if not ok or not lo <= v <= hi:  # NaN fails too
        what = "an integer" if kind is int else "a number"
        raise InvalidArgument(f"{key} must be {what} in [{lo}, {hi}], got {v!r}")
    return kind(v)


def similarity_spread(z: np.ndarray) -> float:
    """The standard deviation of the pairwise cosine similarities of the unit rows ``z``
    (distinct pairs; at most ``SPREAD_SAMPLE`` evenly spaced rows), or 1.0 when there
    is no spread to measure (fewer than 2 rows, or all pairs alike)."""
    n = z.shape[0]
    if n > SPREAD_SAMPLE:
        z = z[np.linspace(0, n - 1, SPREAD_SAMPLE).astype(np.int64)]
        n = SPREAD_SAMPLE
    if n < 2:
        return 1.0
    z = z.astype(np.float64)
    sims = (z @ z.T)[np.triu_indices(n, 1)]
    sd = float(sims.std())
    return sd if sd > 1e-6 else 1.0


def fuse(
    dense: np.ndarray, bag: np.ndarray, spreads: tuple[float, float], bag_weight: float
) -> np.ndarray:
    """The hybrid embedding from its halves (unit rows each): ``[dense / sqrt(s_d),
    w * bag / sqrt(s_b)]`` with rows L2-normalised, ``spreads = (s_d, s_b)``. Both halves
    are unit rows, so every norm is the same constant and a cosine is
    ``(dense / s_d + w² · bag / s_b) / (1 / s_d + w² / s_b)`` of the two cosines."""
    sd, sb = spreads
    z = np.hstack([dense.astype(np.float64) / np.sqrt(sd), (bag_weight / np.sqrt(sb)) * bag])
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0).astype(np.float32)


class Encoder:
    """Two-stage contrastive encoder of architectures (see the module docstring).

    ``Encoder().fit(graphs).embed(graphs)`` gives one float32 L2-normalised row per
    graph. Defaults are sized for CPUs: the 98-graph builtin set fits in well under a
    minute on 2 cores. ``checkpoint=PATH`` saves after every epoch; a later ``fit`` with
    the same path, data, seed and settings resumes from it (``stage2_epochs`` may grow).
    """

    name = "ours"

    def __init__(
        self,
        *,
        conv: str = "gin",
        hidden: int = 64,
        out: int = 64,
        stage1_epochs: int = 10,
        stage2_epochs: int = 60,
        temperature: float = 0.2,
        use_labels: bool = True,
        strategy: str = "merge",
        mine_kwargs: dict[str, Any] | None = None,
        context_hops: int = 1,
        batch_size: int = 32,
        lr: float = 1e-3,
        lower_levels: int = 0,
        bag_weight: float = 1.0,
        detail: str = DEFAULT_DETAIL,
        rewrite_depth: float = 0.0,
        rewrite_swap: float = 0.0,
        hard_negatives: bool = False,
        distill: float = 0.0,
        shape_features: bool = False,
        device: str | torch.device | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        progress: bool = True,
        threads: int | None = 1,
    ) -> None:
        self.config: dict[str, Any] = check_config(
            dict(
                conv=conv,
                hidden=hidden,
                out=out,
                stage1_epochs=stage1_epochs,
                stage2_epochs=stage2_epochs,
                temperature=temperature,
                use_labels=use_labels,
                strategy=strategy,
                mine_kwargs=dict(mine_kwargs or {}),
                context_hops=context_hops,
                batch_size=batch_size,
                lr=lr,
                lower_levels=lower_levels,
                bag_weight=bag_weight,
                detail=detail,
                rewrite_depth=rewrite_depth,
                rewrite_swap=rewrite_swap,
                hard_negatives=hard_negatives,
                distill=distill,
                shape_features=shape_features,
            )
        )
        self.device = RunContext.pick_device(device)
        self.checkpoint = checkpoint
        self.progress = progress
        self.threads = threads
        self.history: dict[str, list[float]] = {"stage1": [], "stage2": []}
        self._fitted: Fitted | None = None
        self._mined: Mined | None = None
        self._tfidf: MotifTfidf | None = None
        self._spread: tuple[float, float] | None = None
        self._graphs: list[OpGraph] = []

    # ---------------------------------------------------------------- fitting
    def _mine(self, graphs: Sequence[OpGraph], **over: Any) -> Mined:
        kw = {**self.config["mine_kwargs"], **over}
        return mine(graphs, strategy=self.config["strategy"], progress=False,
                    detail=self.config["detail"], **kw)  # fmt: skip

    def fit(
        self, corpus_or_mined: Sequence[OpGraph] | Mined | str | os.PathLike[str], *, seed: int = 0
    ) -> Encoder:
        """Fits on a list of graphs, a corpus file path or a ``Mined`` (mined with this
        encoder's ``strategy`` and ``mine_kwargs``). Returns ``self``."""
        if isinstance(corpus_or_mined, Mined):
            mined = corpus_or_mined
            if mined.detail != self.config["detail"]:
                raise LearnError(
                    f"the Mined passed to Encoder.fit was mined at detail={mined.detail!r}, "
                    f"this encoder takes detail={self.config['detail']!r}"
                )
            wanted = MiningParams.of(**self.config["mine_kwargs"])
            if mined.strategy != self.config["strategy"] or mined.params != wanted:
                raise LearnError(
                    "the Mined passed to Encoder.fit was not mined with this encoder's strategy "
                    f"({self.config['strategy']!r}) and mine_kwargs {self.config['mine_kwargs']}"
                )
        else:
            if isinstance(corpus_or_mined, (str, os.PathLike)):
                graphs = load_corpus(corpus_or_mined)
            else:
                graphs = list(corpus_or_mined)
            if not graphs:
                raise LearnError("Encoder.fit needs at least one graph")
            graphs = with_detail(graphs, self.config["detail"])  # before renumbering
            mined = self._mine([canonical_order(g) for g in graphs])
        if not mined.graphs:
            raise LearnError("Encoder.fit needs at least one graph")
        ctx = RunContext(int(seed), self.device, self.progress, self.threads)
        ctx.seed_globals()
        key = self._run_key(mined.graphs, int(seed))
        self.history = {"stage1": [], "stage2": []}
        with ctx.scoped():
            self._fitted = fit_two_stage(
                mined,
                self._mine,
                self.config,
                ctx,
                checkpoint=self.checkpoint,
                key=key,
                history=self.history,
            )
        self._mined = mined
        self._tfidf = None
        self._spread = None
        self._graphs = list(mined.graphs)
        if self.config["bag_weight"] > 0:
            self._spreads()
        return self

    def _run_key(self, graphs: Sequence[OpGraph], seed: int) -> str:
        """What a checkpoint must match to be resumed: data, seed and every setting
        except ``stage2_epochs`` (a resumed run may train longer)."""
        h = hashlib.sha256()
        cfg = {k: v for k, v in self.config.items() if k != "stage2_epochs"}
        h.update(json.dumps({"config": cfg, "seed": seed}, sort_keys=True).encode())
        for g in graphs:
            h.update(json.dumps([g.name, g.labels.get("coarse"), list(g.op_names)]).encode())
            h.update(g.ops.tobytes())
            h.update(g.edges.tobytes())
        return h.hexdigest()

    # -------------------------------------------------------------- embedding
    def _require(self) -> Fitted:
        if self._fitted is None:
            raise LearnError("Encoder.embed called before fit (or load)")
        return self._fitted

    def _vocabulary(self) -> Mined:
        if self._mined is None:  # loaded from a file: mine the stored corpus again
            mined = self._mine(self._graphs)
            if mined.vocabulary.ids != self._require().vocab_ids:
                raise FormatError(
                    "encoder file: mining its stored corpus gave another vocabulary "
                    "(written by an incompatible archmotif version?)"
                )
            self._mined = mined
        return self._mined

    def _bag(self) -> MotifTfidf:
        """The TF-IDF weighting of the fitted vocabulary (recomputed from the training
        graphs' macro graphs, so an encoder file needs nothing more to store)."""
        if self._tfidf is None:
            mined = self._vocabulary()
            self._tfidf = MotifTfidf(mined.vocabulary).fit(mined.macro_graphs)
        return self._tfidf

    @property
    def detail(self) -> str:
        """The level of detail graphs are taken at (:mod:`archmotif.attributes`)."""
        return str(self.config["detail"])

    @property
    def dim(self) -> int:
        """The embedding width: ``out``, plus one column per vocabulary motif when
        ``bag_weight`` > 0."""
        extra = len(self._require().vocab_ids) if self.config["bag_weight"] > 0 else 0
        return int(self.config["out"]) + extra

    @torch.no_grad()
    def embed(self, graphs: Sequence[OpGraph] | OpGraph) -> np.ndarray:
        """float32 ``[len(graphs), dim]``, rows L2-normalised (an empty graph: zeros)."""
        dense, bag = self.embed_halves(graphs)
        if bag is None:
            return dense
        return fuse(dense, bag, self._spreads(), self.config["bag_weight"])

    @torch.no_grad()
    def embed_halves(
        self, graphs: Sequence[OpGraph] | OpGraph
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The two halves of :meth:`embed` before fusing: the learnt rows ``[n, out]`` and
        the TF-IDF motif bag ``[n, num_motifs]`` (``None`` when ``bag_weight`` is 0), each
        L2-normalised. ``fuse(dense, bag, enc.spreads, w)`` gives the embedding at any
        other ``bag_weight`` ``w`` without refitting."""
        fitted = self._require()
        gs = [graphs] if isinstance(graphs, OpGraph) else list(graphs)
        with_bag = self.config["bag_weight"] > 0
        if not gs:
            n_bag = len(fitted.vocab_ids)
            empty = np.zeros((0, self.config["out"]), dtype=np.float32)
            return empty, (np.zeros((0, n_bag), dtype=np.float32) if with_bag else None)
        gs = with_detail(gs, self.config["detail"])
        macros = self._vocabulary().apply([canonical_order(g) for g in gs], progress=False)
        dense = self._dense(macros)
        return dense, (self._bag().transform(macros) if with_bag else None)

    @torch.no_grad()
    def embed_dense(self, graphs: Sequence[OpGraph] | OpGraph) -> np.ndarray:
        """The learnt half of :meth:`embed_halves` alone (the motif bag not computed)."""
        gs = [graphs] if isinstance(graphs, OpGraph) else list(graphs)
        if not gs:
            return np.zeros((0, self.config["out"]), dtype=np.float32)
        gs = with_detail(gs, self.config["detail"])
        return self._dense(
            self._vocabulary().apply([canonical_order(g) for g in gs], progress=False)
        )

    def _table_inputs(self, macros: Sequence[MacroGraph]) -> tuple[torch.Tensor, list[Any]]:
        """The motif table extended with rows for the motifs the vocabulary lacks
        (embedded by the motif encoder from their operator subgraphs), and the macro
        ``Data`` indexing it."""
        fitted = self._require()
        table = fitted.table
        unknown, subs = unknown_instances(macros)
        extra: dict[tuple[int, int], int] = {}
        if unknown:
            rows = embed_batches(
                fitted.motif_enc, [op_data(s, fitted.ops) for s in subs], device=self.device
            )
            table = torch.cat([table, torch.from_numpy(rows).to(table.device)])
            base = fitted.table.shape[0]
            extra = {u: base + k for k, u in enumerate(unknown)}
        return table, macro_inputs(macros, extra, shapes=self.config["shape_features"])

    def _dense(self, macros: Sequence[MacroGraph]) -> np.ndarray:
        """The learnt half: the macro-graph encoder's L2-normalised output."""
        fitted = self._require()
        ctx = RunContext(0, self.device, False, self.threads)
        fitted.motif_enc.eval()
        fitted.macro_enc.eval()
        with torch.no_grad(), ctx.scoped():
            table, datas = self._table_inputs(macros)
            return embed_batches(
                lambda b: fitted.macro_enc(b, table), datas, ctx=ctx, device=self.device
            )

    @torch.no_grad()
    def motif_means(self, graphs: Sequence[OpGraph] | OpGraph) -> np.ndarray:
        """float32 ``[len(graphs), motif_dim]``: the mean stage-1 motif embedding over
        each graph's macro nodes (zeros for an empty graph), what the graph is made of
        before stage 2 mixes it; :class:`~archmotif.learn.predictor.Predictor` reads it."""
        fitted = self._require()
        gs = [graphs] if isinstance(graphs, OpGraph) else list(graphs)
        out = np.zeros((len(gs), fitted.table.shape[1]), dtype=np.float32)
        if not gs:
            return out
        gs = with_detail(gs, self.config["detail"])
        macros = self._vocabulary().apply([canonical_order(g) for g in gs], progress=False)
        ctx = RunContext(0, self.device, False, self.threads)
        fitted.motif_enc.eval()
        with ctx.scoped():
            table, datas = self._table_inputs(macros)
            for j, d in enumerate(datas):
                if d.num_nodes:
                    out[j] = table[d.x.to(table.device)].float().mean(0).cpu().numpy()
        return out

    @property
    def spreads(self) -> tuple[float, float]:
        """``(spread_dense, spread_bag)``: the standard deviations of the two halves'
        pairwise cosines over the training graphs, which put them on one scale (see the
        module docstring and :func:`fuse`)."""
        self._require()
        return self._spreads()

    def _spreads(self) -> tuple[float, float]:
        """The spreads of the dense and the bag cosines over the training graphs (stored
        in the encoder file; measured again for a file that lacks them)."""
        if self._spread is None:
            mined = self._vocabulary()
            macros = mined.macro_graphs
            self._spread = (
                similarity_spread(self._dense(macros)),
                similarity_spread(self._bag().transform(macros)),
            )
        return self._spread

    # ------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the fitted encoder to one file (atomic, versioned, checksummed)."""
        encoder_file.write(path, encoder_file.ENCODER_FORMAT, self.to_payload())

    def to_payload(self) -> dict[str, Any]:
        """What :meth:`save` writes (tensors, JSON strings, numbers), for a file that
        carries an encoder inside it (:class:`~archmotif.learn.predictor.Predictor`)."""
        f = self._require()
        return {
            "config": json.dumps(self.config),
            "op_names": json.dumps(f.ops.names),
            "vocab_ids": json.dumps([format(i, "032x") for i in f.vocab_ids]),
            "motif_dim": f.table.shape[1],
            "motif_enc": f.motif_enc.state_dict(),
            "macro_enc": f.macro_enc.state_dict(),
            "table": f.table,
            "mined": _bytes_tensor(self._vocabulary().to_bytes()),
            **({"spreads": json.dumps(self._spreads())} if self.config["bag_weight"] else {}),
        }

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        device: str | torch.device | None = None,
        progress: bool = True,
        threads: int | None = 1,
    ) -> Encoder:
        """Reads a file written by :meth:`save`; a corrupt, foreign or newer file raises
        :class:`~archmotif.FormatError` naming it."""
        p = os.fspath(path)
        d = encoder_file.read(p, encoder_file.ENCODER_FORMAT)
        return cls.from_payload(d, p, device=device, progress=progress, threads=threads)

    @classmethod
    def from_payload(
        cls,
        d: dict[str, Any],
        p: str,
        *,
        device: str | torch.device | None = None,
        progress: bool = True,
        threads: int | None = 1,
    ) -> Encoder:
        """The encoder a :meth:`to_payload` dict describes, read from file ``p`` (named in
        errors); every setting and size is checked before anything is allocated."""
        try:
            config = parse_json(d["config"], p, "encoder settings")
            if not isinstance(config, dict):
                raise FormatError(f"{p}: encoder settings are not an object")
            config.setdefault("bag_weight", 0.0)  # files from before the hybrid embedding
            config.setdefault("detail", PLAIN_DETAIL)  # files from before operator attributes
            # files from before rewrite views, hard negatives, distillation and shapes
            config.update({k: config.get(k, v) for k, v in _BEFORE_REWRITES.items()})
            try:
                config = check_config(config)
            except InvalidArgument as e:
                raise FormatError(f"{p}: bad encoder settings ({e})") from None
            enc = cls(**config, device=device, progress=progress, threads=threads)
            ops = OpVocabulary(parse_json(d["op_names"], p, "op names"))
            ids = [int(s, 16) for s in parse_json(d["vocab_ids"], p, "vocabulary ids")]
            c, table = enc.config, d["table"]
            # every size a module is built with is bounded (widths by the schema) or
            # matches a tensor the file holds, before anything is allocated
            if not isinstance(table, torch.Tensor) or table.shape != (len(ids), d["motif_dim"]):
                raise ValueError("the motif table does not match the vocabulary")
            motif_enc = encoder_file.load_module(
                p, "motif encoder",
                lambda: OpGraphEncoder(len(ops), c["conv"], c["hidden"], c["out"]),
                d["motif_enc"],
            )  # fmt: skip
            macro_enc = encoder_file.load_module(
                p, "macro-graph encoder",
                lambda: MacroGraphEncoder(int(d["motif_dim"]), c["conv"], c["hidden"], c["out"],
                                          num_motifs=len(ids),
                                          num_feats=SHAPE_FEATURES if c["shape_features"] else 0),
                d["macro_enc"],
            )  # fmt: skip
            mined = None
            if "mined" in d:  # version 3: the fitted Mined itself
                mined = Mined.from_bytes(_tensor_bytes(d["mined"]), source=p)
                if mined.vocabulary.ids != ids or mined.detail != c["detail"]:
                    raise FormatError(f"{p}: the stored vocabulary is not the encoder's")
                graphs = list(mined.graphs)
            else:  # version 2: the training graphs, mined again on first use
                graphs = unpack_graphs(d["corpus"], source=p)
            spreads = (
                tuple(float(v) for v in parse_json(d["spreads"], p, "similarity spreads"))
                if "spreads" in d
                else None
            )
            if spreads is not None and (len(spreads) != 2 or not all(v > 0 for v in spreads)):
                raise ValueError(f"bad similarity spreads {spreads!r}")
        except FormatError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise FormatError(f"{p}: malformed encoder file ({type(e).__name__}: {e})") from None
        enc._fitted = Fitted(
            ops=ops,
            vocab_ids=ids,
            table=table.to(enc.device),
            motif_enc=motif_enc.to(enc.device),
            macro_enc=macro_enc.to(enc.device),
            heads=Heads(c["out"], 0),
        )
        enc._graphs = graphs
        enc._mined = mined
        enc._spread = spreads  # type: ignore[assignment]
        return enc

    def __repr__(self) -> str:
        state = "fitted" if self._fitted is not None else "not fitted"
        c = self.config
        return (
            f"Encoder({c['conv']}, hidden={c['hidden']}, out={c['out']}, "
            f"strategy={c['strategy']!r}, {state}, device={self.device})"
        )


def _bytes_tensor(data: bytes) -> torch.Tensor:
    """``data`` as a uint8 tensor (a payload member of the encoder file)."""
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def _tensor_bytes(t: Any) -> bytes:
    if not isinstance(t, torch.Tensor) or t.dtype != torch.uint8 or t.dim() != 1:
        raise ValueError("the stored Mined is not a byte string")
    return t.numpy().tobytes()
