"""The two-stage fit behind :class:`~archmotif.learn.encoder.Encoder`, with checkpoints.

:func:`fit_two_stage` prepares the data (motif graphs, sampled instance contexts, macro
graphs at the full and at a lower vocabulary level), builds every module up front (so a
resumed run starts from the same initial weights as an uninterrupted one), restores a
checkpoint of the same run when there is one, and runs stage 1 then stage 2, writing the
checkpoint after every epoch (modules, optimisers, the sampling generator, the losses).

The lower-level views come from mining the same graphs with fewer merge rounds
(``max_levels``): merging proceeds level by level, so those motifs are motifs of the full
vocabulary (checked; the views are left out if they are not) and each macro node of the
lower-level graph is a sub-motif of the full-level one it falls in.

When the settings ask for it (all off by default), stage 2 also rewrites its views as a
user's own spelling of a design would (:mod:`archmotif.learn.rewrite`: blocks repeated or
removed, motifs swapped for siblings one operator apart), and, with coarse labels, sets
every graph against the graphs of another class the motif bag puts nearest to it
(:func:`bag_neighbours`), so the learnt half learns what exact motif ids get wrong both
ways; with ``distill`` it is also taught to rank the graphs of a batch as the bag does
(:func:`~archmotif.learn.train.relational_kd`), every graph meeting one of its
bag-nearest graphs in its batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from archmotif.errors import LearnError
from archmotif.learn import ddp, encoder_file
from archmotif.learn.augment import GraphRewrites, Views
from archmotif.learn.data import SHAPE_FEATURES, OpVocabulary, macro_data, op_data
from archmotif.learn.models import Heads, MacroGraphEncoder, OpGraphEncoder
from archmotif.learn.motif_bag import MotifTfidf
from archmotif.learn.rewrite import find_blocks, siblings
from archmotif.learn.train import RunContext, embed_batches, train_stage1, train_views
from archmotif.mining import Mined
from archmotif.mining.motifs import MacroGraph

__all__ = ["Fitted", "fit_two_stage", "macro_inputs"]

MAX_CONTEXTS = 4  # instance contexts kept per motif (a fresh one is drawn every step)
HARD_NEGATIVES = 5  # bag-nearest graphs of another class a graph is set against
BAG_NEIGHBOURS = 5  # bag-nearest graphs a graph meets in its batch when distilling


@dataclass
class Fitted:
    """What embedding needs: op vocabulary, motif ids, motif table and both encoders."""

    ops: OpVocabulary
    vocab_ids: list[int]
    table: torch.Tensor
    motif_enc: OpGraphEncoder
    macro_enc: MacroGraphEncoder
    heads: Heads


def macro_inputs(
    macros: Sequence[MacroGraph],
    extra: dict[tuple[int, int], int],
    ys: Sequence[int] = (),
    *,
    shapes: bool = False,
) -> list[Data]:
    """Macro ``Data`` whose ``x`` index the motif table; unknown motifs (-1) get the
    rows ``extra[(graph, macro_node)]`` appended for them. With ``shapes``, each also
    carries its nodes' :func:`~archmotif.learn.data.shape_features` as ``feat``."""
    out = []
    for j, mg in enumerate(macros):
        d = macro_data(mg, y=ys[j] if ys else -100, shapes=shapes)
        for i in np.flatnonzero(mg.motifs < 0).tolist():
            d.x[i] = extra[(j, i)]
        out.append(d)
    return out


def _lower_level(mined: Mined, mine_fn: Callable[..., Mined], lower: int) -> Mined | None:
    top = mined.vocabulary.num_levels - 1
    if mined.strategy != "merge" or lower == 0 or top - lower < 1:
        return None
    low = mine_fn(mined.graphs, max_levels=top - lower)
    if not set(low.vocabulary.ids) <= set(mined.vocabulary.ids):
        return None
    return low


def _contexts(
    sources: Sequence[Mined],
    vocab_index: dict[int, int],
    n: int,
    hops: int,
    seed: int,
    ops: OpVocabulary,
) -> list[list[Data]]:
    """Up to MAX_CONTEXTS instance contexts per motif, drawn from every source mining."""
    where: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    for s, m in enumerate(sources):
        for gi, mg in enumerate(m.macro_graphs):
            ids = mg.motif_ids
            for node in range(mg.num_nodes):
                where[vocab_index[ids[node]]].append((s, gi, node))
    rng = np.random.default_rng(seed)
    out = []
    for places in where:
        if len(places) > MAX_CONTEXTS:
            places = [places[k] for k in sorted(rng.choice(len(places), MAX_CONTEXTS, False))]
        out.append([op_data(sources[s].context(gi, node, hops), ops) for s, gi, node in places])
    return out


def bag_neighbours(bag: np.ndarray, k: int, ys: Sequence[int] | None = None) -> list[np.ndarray]:
    """For each graph, the ``k`` other graphs nearest to it by the cosine of its unit
    ``bag`` row, nearest first; ties go to the lower index. With ``ys`` (-100 = none,
    which gets none), only graphs of another class: the hard negatives, what exact motif
    ids put wrongly close."""
    y = None if ys is None else np.asarray(ys, dtype=np.int64)
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in range(len(bag))]
    rows = np.arange(len(bag)) if y is None else np.flatnonzero(y >= 0)
    for s in range(0, len(rows), 1024):
        part = rows[s : s + 1024]
        sim = bag[part] @ bag.T
        if y is None:
            sim[np.arange(len(part)), part] = -np.inf
        else:
            sim[(y[None, :] == y[part, None]) | (y[None, :] < 0)] = -np.inf
        # a stable sort of the negated scores puts equal scores in index order
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        for r, (i, t) in enumerate(zip(part.tolist(), top, strict=True)):
            out[i] = t[np.isfinite(sim[r, t])]
    return out


def _rewrites(
    datas: Sequence[Data], alts: Sequence[Data | None], near: Sequence[np.ndarray]
) -> list[GraphRewrites]:
    """Each macro graph's blocks (and its lower-level alternative's), with the siblings."""
    return [
        GraphRewrites(
            find_blocks(d.edge_index.numpy(), int(d.num_nodes)),
            find_blocks(a.edge_index.numpy(), int(a.num_nodes)) if a is not None else None,
            near,
        )
        for d, a in zip(datas, alts, strict=True)
    ]


def fit_two_stage(
    mined: Mined,
    mine_fn: Callable[..., Mined],
    config: dict[str, Any],
    ctx: RunContext,
    *,
    checkpoint: str | os.PathLike[str] | None,
    key: str,
    history: dict[str, list[float]],
) -> Fitted:
    c = config
    graphs = mined.graphs
    ops = OpVocabulary.from_graphs(graphs)
    vocab = mined.vocabulary
    vocab_index = {mid: i for i, mid in enumerate(vocab.ids)}
    classes = sorted({g.labels["coarse"] for g in graphs if "coarse" in g.labels})
    use_labels = bool(c["use_labels"]) and len(classes) > 1
    cls_index = {k: i for i, k in enumerate(classes)}
    ys = [cls_index.get(g.labels.get("coarse", ""), -100) if use_labels else -100 for g in graphs]

    low = _lower_level(mined, mine_fn, c["lower_levels"])
    sources = [mined] + ([low] if low is not None else [])
    seed = int(ctx.gen.initial_seed())
    motifs = [op_data(m.to_opgraph(), ops) for m in vocab]
    contexts = _contexts(sources, vocab_index, len(vocab), c["context_hops"], seed, ops)
    shapes = bool(c["shape_features"])
    datas = macro_inputs(mined.macro_graphs, {}, ys, shapes=shapes)
    alts: list[Data | None] = [None] * len(graphs)
    if low is not None:
        to_full = np.array([vocab_index[i] for i in low.vocabulary.ids], dtype=np.int64)
        alts = [
            macro_data(mg, y=ys[j], motif_index=to_full, shapes=shapes)
            for j, mg in enumerate(low.macro_graphs)
        ]

    # every module is built now, in a fixed order, so initial weights never depend on
    # where a resumed run starts
    motif_enc = OpGraphEncoder(len(ops), c["conv"], c["hidden"], c["out"]).to(ctx.device)
    ctx_enc = OpGraphEncoder(len(ops), c["conv"], c["hidden"], c["out"]).to(ctx.device)
    macro_enc = MacroGraphEncoder(
        c["out"], c["conv"], c["hidden"], c["out"], num_motifs=len(vocab),
        num_feats=SHAPE_FEATURES if shapes else 0,
    ).to(ctx.device)  # fmt: skip
    heads = Heads(c["out"], len(classes) if use_labels else 0).to(ctx.device)
    opt1 = torch.optim.Adam([*motif_enc.parameters(), *ctx_enc.parameters()], lr=c["lr"])
    opt2 = torch.optim.Adam([*macro_enc.parameters(), *heads.parameters()], lr=c["lr"])
    modules = {"motif_enc": motif_enc, "ctx_enc": ctx_enc, "macro_enc": macro_enc, "heads": heads}
    optims = {"opt1": opt1, "opt2": opt2}
    done = {"stage1": 0, "stage2": 0}

    if checkpoint is not None and os.path.exists(checkpoint):
        d = encoder_file.read(checkpoint, encoder_file.CHECKPOINT_FORMAT)
        if d.get("key") != key:
            raise LearnError(
                f"{os.fspath(checkpoint)}: checkpoint of another run (data, seed or settings "
                "other than stage2_epochs differ); delete it or pass another path"
            )
        for name, m in {**modules, **optims}.items():
            m.load_state_dict(d[name])
        ctx.gen.set_state(d["gen"])
        done = {"stage1": int(d["stage1"]), "stage2": int(d["stage2"])}
        history.update(json.loads(d["history"]))

    def save(stage: str) -> Callable[[int, float], None]:
        def on_epoch(epoch: int, loss: float) -> None:
            done[stage] = epoch
            history[stage].append(loss)
            if checkpoint is not None and ddp.rank() == 0:
                encoder_file.write(
                    checkpoint,
                    encoder_file.CHECKPOINT_FORMAT,
                    {
                        "key": key,
                        **done,
                        "gen": ctx.gen.get_state(),
                        "history": json.dumps(history),
                        **{k: m.state_dict() for k, m in {**modules, **optims}.items()},
                    },
                )

        return on_epoch

    # data-parallel under torch.distributed (see archmotif.learn.ddp); else the modules
    train_stage1(
        ddp.wrap(motif_enc),
        ddp.wrap(ctx_enc),
        motifs,
        contexts,
        ctx=ctx,
        epochs=c["stage1_epochs"],
        batch_size=c["batch_size"],
        tau=c["temperature"],
        opt=opt1,
        start=done["stage1"],
        on_epoch=save("stage1"),
    )
    motif_enc.eval()
    table = torch.from_numpy(embed_batches(motif_enc, motifs, device=ctx.device)).to(ctx.device)
    macro_step = ddp.wrap(macro_enc)
    rewrites = partners = None
    training = c["stage2_epochs"] > done["stage2"]
    if training and (c["rewrite_depth"] > 0 or c["rewrite_swap"] > 0):
        rewrites = _rewrites(datas, alts, siblings(vocab))
    hard = c["hard_negatives"] and use_labels
    teacher = None
    if training and (hard or c["distill"] > 0):
        bag = MotifTfidf(vocab).fit(mined.macro_graphs).transform(mined.macro_graphs)
        if hard:
            partners = bag_neighbours(bag, HARD_NEGATIVES, ys)
        else:  # distilling: every anchor meets one of its bag neighbours, of any class
            partners = bag_neighbours(bag, BAG_NEIGHBOURS)
        if c["distill"] > 0:
            teacher = torch.from_numpy(bag).to(ctx.device)
    train_views(
        lambda b: macro_step(b, table),
        [macro_enc],
        heads,
        datas,
        ctx=ctx,
        epochs=c["stage2_epochs"],
        batch_size=c["batch_size"],
        tau=c["temperature"],
        opt=opt2,
        views=Views(p_depth=c["rewrite_depth"], p_swap=c["rewrite_swap"]),
        alternatives=alts,
        rewrites=rewrites,
        partners=partners,
        teacher=teacher,
        distill=c["distill"],
        use_labels=use_labels,
        start=done["stage2"],
        on_epoch=save("stage2"),
    )
    macro_enc.eval()
    return Fitted(ops, list(vocab.ids), table, motif_enc, macro_enc, heads)
