"""The paper's GNN baselines, an *embedder*: :class:`GNNBaseline` (``"gcn"``, ``"gat"``),
a 3-layer GCN or GAT over the raw operator graph (op embeddings as node features, mean
pooling), trained with exactly our stage-2 objective (NT-Xent between two augmented
views + coarse cross-entropy when labels are used) so that only the graph
representation differs from ours. A fitted baseline is saved in the encoder-file
format (:mod:`archmotif.learn.encoder_file`) under its own format name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
import torch

from archmotif.attributes import DEFAULT_DETAIL, DETAILS, PLAIN_DETAIL, check_detail, with_detail
from archmotif.errors import FormatError, LearnError
from archmotif.fileread import parse_json
from archmotif.graph import OpGraph
from archmotif.learn import ddp, encoder_file
from archmotif.learn.augment import Views
from archmotif.learn.data import OpVocabulary, canonical_order, op_data
from archmotif.learn.models import Heads, OpGraphEncoder
from archmotif.learn.train import RunContext, embed_batches, train_views

__all__ = ["GNN_FORMAT", "GNNBaseline", "coarse_targets"]

GNN_FORMAT = "archmotif.gnn-baseline"


def coarse_targets(graphs: Sequence[OpGraph], use_labels: bool) -> tuple[list[int], int]:
    """Per graph its coarse-label class (-100: none) and the class count; no classes
    (all -100, 0) without ``use_labels`` or with fewer than two labels."""
    classes = sorted({g.labels["coarse"] for g in graphs if "coarse" in g.labels})
    if not use_labels or len(classes) < 2:
        return [-100] * len(graphs), 0
    index = {c: i for i, c in enumerate(classes)}
    return [index.get(g.labels.get("coarse", ""), -100) for g in graphs], len(classes)


class GNNBaseline:
    """GCN or GAT on raw operator graphs, trained like our stage 2."""

    def __init__(
        self,
        conv: str = "gcn",
        *,
        hidden: int = 64,
        out: int = 64,
        epochs: int = 30,
        temperature: float = 0.2,
        use_labels: bool = True,
        batch_size: int = 32,
        lr: float = 1e-3,
        detail: str = DEFAULT_DETAIL,
        device: str | torch.device | None = None,
        progress: bool = True,
        threads: int | None = 1,
    ) -> None:
        self.detail = check_detail(detail)
        if conv not in ("gcn", "gat"):
            raise ValueError(f"conv must be 'gcn' or 'gat', got {conv!r}")
        self.name = conv
        self.conv, self.hidden, self.out, self.epochs = conv, hidden, out, epochs
        self.temperature, self.use_labels, self.batch_size, self.lr = (
            temperature,
            use_labels,
            batch_size,
            lr,
        )
        self.device = RunContext.pick_device(device)
        self.progress, self.threads = progress, threads
        self.history: list[float] = []
        self._ops: OpVocabulary | None = None
        self._enc: OpGraphEncoder | None = None

    def fit(self, graphs: Sequence[OpGraph], *, seed: int = 0) -> GNNBaseline:
        gs = [canonical_order(g) for g in with_detail(graphs, self.detail)]
        if not gs:
            raise LearnError(f"{type(self).__name__}.fit needs at least one graph")
        ctx = RunContext(int(seed), self.device, self.progress, self.threads)
        ctx.seed_globals()
        ys, n_cls = coarse_targets(gs, self.use_labels)
        self._ops = OpVocabulary.from_graphs(gs)
        datas = [op_data(g, self._ops, y=y) for g, y in zip(gs, ys, strict=True)]
        with ctx.scoped():
            self._enc = OpGraphEncoder(len(self._ops), self.conv, self.hidden, self.out)
            self._enc.to(self.device)
            heads = Heads(self.out, n_cls).to(self.device)
            opt = torch.optim.Adam([*self._enc.parameters(), *heads.parameters()], lr=self.lr)
            self.history = []
            train_views(
                ddp.wrap(self._enc),
                [self._enc],
                heads,
                datas,
                ctx=ctx,
                epochs=self.epochs,
                batch_size=self.batch_size,
                tau=self.temperature,
                opt=opt,
                views=Views(),
                use_labels=n_cls > 0,
                on_epoch=lambda _e, loss: self.history.append(loss),
                desc=f"{self.name} (graphs)",
            )
        self._enc.eval()
        return self

    def embed(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        if self._enc is None or self._ops is None:
            raise LearnError(f"{type(self).__name__}.embed called before fit")
        ops = self._ops
        datas = [op_data(canonical_order(g), ops) for g in with_detail(graphs, self.detail)]
        if not datas:
            return np.zeros((0, self.out), dtype=np.float32)
        ctx = RunContext(0, self.device, False, self.threads)
        with ctx.scoped():
            return embed_batches(self._enc, datas, ctx=ctx, device=self.device, batch_size=32)

    # File: the encoder-file format (pickle-free, see encoder_file) under its own format
    # name; the settings are checked before a module is built, the weights must fit it.
    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the fitted baseline (settings, op names, weights) to one file."""
        if self._enc is None or self._ops is None:
            raise LearnError(f"{type(self).__name__}.save called before fit")
        settings = {"conv": self.conv, "hidden": self.hidden, "out": self.out,
                    "detail": self.detail}  # fmt: skip
        encoder_file.write(path, GNN_FORMAT, {"settings": json.dumps(settings),
                                              "op_names": json.dumps(self._ops.names),
                                              "encoder": self._enc.state_dict()})  # fmt: skip

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GNNBaseline:
        """Reads a file written by :meth:`save`; anything else raises
        :class:`~archmotif.FormatError` naming the file."""
        p = os.fspath(path)
        d = encoder_file.read(p, GNN_FORMAT)
        try:
            s = parse_json(d["settings"], p, "GNN baseline settings")
            names = parse_json(d["op_names"], p, "op names")
            ok = (isinstance(s, dict) and set(s) - {"detail"} == {"conv", "hidden", "out"}
                  and s["conv"] in ("gcn", "gat") and s.get("detail", PLAIN_DETAIL) in DETAILS
                  and all(type(s[k]) is int and 1 <= s[k] <= 4096 for k in ("hidden", "out"))
                  and isinstance(names, list) and len(names) <= 2**20
                  and all(isinstance(n, str) for n in names))  # fmt: skip
            if not ok:
                raise ValueError("settings or op names outside the schema")
            model = cls(s["conv"], hidden=s["hidden"], out=s["out"], progress=False,
                        detail=s.get("detail", PLAIN_DETAIL))  # fmt: skip
            model._ops = OpVocabulary(names)
            model._enc = encoder_file.load_module(
                p, "GNN baseline",
                lambda: OpGraphEncoder(len(model._ops), model.conv, model.hidden, model.out),
                d["encoder"],
            )  # fmt: skip
        except FormatError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise FormatError(
                f"{p}: malformed GNN baseline file ({type(e).__name__}: {e})"
            ) from None
        model._enc.to(model.device).eval()
        return model
