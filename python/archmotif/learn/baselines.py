"""The baselines the evaluation runs beside ours, each an *embedder*.

- :class:`GNNBaseline` (``"gcn"``, ``"gat"``): the paper's baselines, a 3-layer GCN or
  GAT over the raw operator graph (op embeddings as node features, mean pooling),
  trained with exactly our stage-2 objective (NT-Xent between two augmented views +
  coarse cross-entropy when labels are used) so that only the graph representation
  differs from ours.
- :class:`NARBaseline` (``"nar"``): Neural Architecture Retrieval (Pei et al., 2024) as
  its released code does it (audited in ``research/nar_spec.md`` §3-4), on
  ``mine(strategy="nar")``. Stage 1: separate motif and context encoders (3 GCNConv,
  512 wide, ELU between layers, mean pool, one-hot op inputs), a sigmoid discriminator
  on ``[z_motif || z_context]`` with BCE, the positive being the instance's own context
  and the one negative the context of macro node ``(i - n // 2) mod n`` of the same
  graph; Adam lr 1e-4, 128 architectures a batch. Stage 2: GCN 512->256->256 with ELU
  and mean pooling over the directed macro graph (self-loops added by GCNConv), loss
  ``-log(sum_{y_i = y_j} e^{cos} / sum_{i,j} e^{cos})`` over the batch (tau = 1, i = j
  included) + cross-entropy on coarse labels; Adam lr 1e-3, batch 512, 15 epochs; the
  embedding is z, no projection head.

  Fixed, because they are outright bugs of the released code: stage 1 is trained (the
  shipped config has 0 epochs, leaving the motif encoder random); a negative with the
  motif's own id (always the case when a graph has one motif) is replaced by the next
  context of another id; motifs are their induced subgraphs (the code's "edges with at
  least one endpoint" is a TODO); contexts are computed once, not every epoch. For CPU
  cost, stage 1 uses at most ``max_instances`` instances per graph (all of them in the
  code). With ``use_labels=False`` the same-label pairs reduce to ``i = j``.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GCNConv, global_mean_pool

from archmotif.attributes import DETAILS, check_detail, with_detail
from archmotif.errors import FormatError, LearnError
from archmotif.fileread import parse_json
from archmotif.graph import OpGraph
from archmotif.learn import ddp, encoder_file
from archmotif.learn.augment import Views
from archmotif.learn.data import (
    OpVocabulary,
    canonical_order,
    instance_graphs,
    op_data,
    unknown_instances,
)
from archmotif.learn.models import Heads, OpGraphEncoder
from archmotif.learn.stages import macro_inputs
from archmotif.learn.train import RunContext, embed_batches, train_views
from archmotif.mining import Mined, mine

__all__ = ["GNN_FORMAT", "GNNBaseline", "NARBaseline"]

GNN_FORMAT = "archmotif.gnn-baseline"


def _coarse_targets(graphs: Sequence[OpGraph], use_labels: bool) -> tuple[list[int], int]:
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
        detail: str = "op",
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
        ys, n_cls = _coarse_targets(gs, self.use_labels)
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
                  and s["conv"] in ("gcn", "gat") and s.get("detail", "op") in DETAILS
                  and all(type(s[k]) is int and 1 <= s[k] <= 4096 for k in ("hidden", "out"))
                  and isinstance(names, list) and len(names) <= 2**20
                  and all(isinstance(n, str) for n in names))  # fmt: skip
            if not ok:
                raise ValueError("settings or op names outside the schema")
            model = cls(s["conv"], hidden=s["hidden"], out=s["out"], progress=False,
                        detail=s.get("detail", "op"))  # fmt: skip
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


class _NARGCN(nn.Module):
    """The paper's encoder: GCNConv layers, ELU between them, mean pooling."""

    def __init__(self, dims: Sequence[int], *, one_hot: int = 0) -> None:
        super().__init__()
        self.one_hot = one_hot
        self.convs = nn.ModuleList(GCNConv(a, b) for a, b in itertools.pairwise(dims))

    def forward(self, b: Batch, table: torch.Tensor | None = None) -> torch.Tensor:
        h = F.one_hot(b.x, self.one_hot).float() if table is None else table[b.x]
        for k, conv in enumerate(self.convs):
            h = conv(h, b.edge_index)
            if k < len(self.convs) - 1:
                h = F.elu(h)
        return global_mean_pool(h, b.batch, size=b.num_graphs)


def nar_contrastive(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The paper's batch-level ratio: -log(sum over same-label pairs of e^cos / sum over
    all pairs of e^cos), tau = 1, the diagonal included; label -100 matches only itself."""
    zn = F.normalize(z.float(), dim=1)
    e = torch.exp(zn @ zn.T)
    same = (y[:, None] == y[None, :]) & (y[:, None] >= 0)
    same |= torch.eye(len(y), dtype=torch.bool, device=z.device)
    return -torch.log(e[same].sum() / e.sum())


class NARBaseline:
    """The faithful Neural Architecture Retrieval pipeline (see the module docstring)."""

    name = "nar"

    def __init__(
        self,
        *,
        hidden: int = 512,
        out: int = 256,
        stage1_epochs: int = 5,
        stage2_epochs: int = 15,
        use_labels: bool = True,
        max_instances: int = 16,
        stage1_graphs: int = 128,
        batch_size: int = 512,
        device: str | torch.device | None = None,
        progress: bool = True,
        threads: int | None = 1,
        mine_kwargs: dict | None = None,
        detail: str = "op",
    ) -> None:
        self.detail = check_detail(detail)
        self.hidden, self.out = hidden, out
        self.stage1_epochs, self.stage2_epochs = stage1_epochs, stage2_epochs
        self.use_labels, self.max_instances = use_labels, max_instances
        self.stage1_graphs, self.batch_size = stage1_graphs, batch_size
        self.device = RunContext.pick_device(device)
        self.progress, self.threads = progress, threads
        self.mine_kwargs = dict(mine_kwargs or {})
        self.history: dict[str, list[float]] = {"stage1": [], "stage2": []}
        self._mined: Mined | None = None

    def _triplets(self, mined: Mined, rng: np.random.Generator) -> list[list[tuple[Data, ...]]]:
        """Per graph: (motif, own context, negative context) for sampled instances."""
        out = []
        for gi, mg in enumerate(mined.macro_graphs):
            n, ids = mg.num_nodes, mg.motifs
            picks = np.arange(n)
            if n > self.max_instances:
                picks = np.sort(rng.choice(n, self.max_instances, replace=False))
            subs = instance_graphs(mg, picks.tolist())
            rows = []
            for i, sub in zip(picks.tolist(), subs, strict=True):
                j = (i - n // 2) % n
                # bug fix: the code's negative can be the motif's own id (always when n = 1)
                k = (
                    next((j + s) % n for s in range(n) if ids[(j + s) % n] != ids[i])
                    if (ids != ids[i]).any()
                    else None
                )
                if k is None:  # one motif id in this graph: a context from the next graph
                    other = mined.macro_graphs[(gi + 1) % len(mined.macro_graphs)]
                    if (gi + 1) % len(mined.macro_graphs) == gi or other.num_nodes == 0:
                        continue
                    neg = mined.context((gi + 1) % len(mined.macro_graphs), 0, 1)
                else:
                    neg = mined.context(gi, k, 1)
                pos = mined.context(gi, i, 1)
                rows.append(
                    (op_data(sub, self._ops), op_data(pos, self._ops), op_data(neg, self._ops))
                )
            out.append(rows)
        return out

    def fit(self, graphs: Sequence[OpGraph], *, seed: int = 0) -> NARBaseline:
        gs = with_detail(graphs, self.detail)
        if not gs:
            raise LearnError("NARBaseline.fit needs at least one graph")
        ctx = RunContext(int(seed), self.device, self.progress, self.threads)
        ctx.seed_globals()
        mined = mine(gs, strategy="nar", progress=False, **self.mine_kwargs)
        self._ops = OpVocabulary.from_graphs(gs)
        nops = len(self._ops)
        ys, n_cls = _coarse_targets(gs, self.use_labels)
        triplets = self._triplets(mined, np.random.default_rng(seed))
        dev = self.device
        with ctx.scoped():
            self._motif_enc = _NARGCN([nops, self.hidden, self.hidden, self.hidden], one_hot=nops)
            ctx_enc = _NARGCN([nops, self.hidden, self.hidden, self.hidden], one_hot=nops)
            disc = nn.Linear(2 * self.hidden, 1)
            self._graph_enc = _NARGCN([self.hidden, self.out, self.out, self.out])
            classify = nn.Linear(self.out, n_cls) if n_cls else None
            for m in (self._motif_enc, ctx_enc, disc, self._graph_enc, classify):
                if m is not None:
                    m.to(dev)
            opt_m = torch.optim.Adam(self._motif_enc.parameters(), lr=1e-4)
            opt_c = torch.optim.Adam([*ctx_enc.parameters(), *disc.parameters()], lr=1e-4)
            self.history = {"stage1": [], "stage2": []}
            for _ in range(self.stage1_epochs):
                losses = []
                order = torch.randperm(len(gs), generator=ctx.gen).tolist()
                for s in range(0, len(order), self.stage1_graphs):
                    rows = [t for gi in order[s : s + self.stage1_graphs] for t in triplets[gi]]
                    if not rows:
                        continue
                    m, p, q = (Batch.from_data_list([r[k] for r in rows]).to(dev) for k in range(3))
                    with ctx.autocast():
                        zm, zp, zq = self._motif_enc(m), ctx_enc(p), ctx_enc(q)
                        lp = disc(torch.cat([zm, zp], 1)).float().squeeze(1)
                        ln = disc(torch.cat([zm, zq], 1)).float().squeeze(1)
                        loss = F.binary_cross_entropy_with_logits(
                            lp, torch.ones_like(lp)
                        ) + F.binary_cross_entropy_with_logits(ln, torch.zeros_like(ln))
                    opt_m.zero_grad()
                    opt_c.zero_grad()
                    loss.backward()
                    opt_m.step()
                    opt_c.step()
                    losses.append(loss.item())
                self.history["stage1"].append(float(np.mean(losses)) if losses else float("nan"))
            self._motif_enc.eval()
            motifs = [op_data(mo.to_opgraph(), self._ops) for mo in mined.vocabulary]
            self._table = self._raw_embed(self._motif_enc, motifs)
            datas = macro_inputs(mined.macro_graphs, {}, ys)
            params = [*self._graph_enc.parameters()]
            params += [*classify.parameters()] if classify is not None else []
            opt = torch.optim.Adam(params, lr=1e-3)
            for _ in range(self.stage2_epochs):
                losses = []
                order = torch.randperm(len(gs), generator=ctx.gen).tolist()
                for s in range(0, len(order), self.batch_size):
                    b = Batch.from_data_list([datas[i] for i in order[s : s + self.batch_size]])
                    b = b.to(dev)
                    with ctx.autocast():
                        z = self._graph_enc(b, self._table)
                        loss = nar_contrastive(z, b.y if n_cls else torch.full_like(b.y, -100))
                        if classify is not None and bool((b.y >= 0).any()):
                            loss = loss + F.cross_entropy(classify(z).float(), b.y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                self.history["stage2"].append(float(np.mean(losses)) if losses else float("nan"))
            self._graph_enc.eval()
        self._mined = mined
        return self

    @torch.no_grad()
    def _raw_embed(self, enc: nn.Module, datas: Sequence[Data]) -> torch.Tensor:
        """Mean-pooled encoder outputs, not normalised (the paper feeds them as they are)."""
        parts = [
            enc(Batch.from_data_list(list(datas[s : s + 256])).to(self.device)).float()
            for s in range(0, len(datas), 256)
        ]
        return torch.cat(parts) if parts else torch.zeros(0, self.hidden, device=self.device)

    @torch.no_grad()
    def embed(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        if self._mined is None:
            raise LearnError("NARBaseline.embed called before fit")
        gs = with_detail(graphs, self.detail)
        if not gs:
            return np.zeros((0, self.out), dtype=np.float32)
        macros = self._mined.apply(gs, progress=False)
        ctx = RunContext(0, self.device, False, self.threads)
        with ctx.scoped():
            table = self._table
            unknown, subs = unknown_instances(macros)
            extra = {u: table.shape[0] + k for k, u in enumerate(unknown)}
            if unknown:
                rows = self._raw_embed(self._motif_enc, [op_data(s, self._ops) for s in subs])
                table = torch.cat([table, rows])
            datas = macro_inputs(macros, extra)
            return embed_batches(
                lambda b: self._graph_enc(b, table), datas, ctx=ctx, device=self.device
            )
