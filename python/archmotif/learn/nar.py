"""The faithful Neural Architecture Retrieval baseline, an *embedder*:
:class:`NARBaseline` (``"nar"``), Pei et al., 2024, as its released code does it
(audited in ``research/nar_spec.md`` section 3-4), on ``mine(strategy="nar")``.

Stage 1: separate motif and context encoders (3 GCNConv, 512 wide, ELU between layers,
mean pool, one-hot op inputs), a sigmoid discriminator on ``[z_motif || z_context]``
with BCE, the positive being the instance's own context and the one negative the
context of macro node ``(i - n // 2) mod n`` of the same graph; Adam lr 1e-4, 128
architectures a batch. Stage 2: GCN 512->256->256 with ELU and mean pooling over the
directed macro graph (self-loops added by GCNConv), loss
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

A fitted baseline is saved (:meth:`NARBaseline.save`) in the encoder-file format
(:mod:`archmotif.learn.encoder_file`, no pickle) under :data:`NAR_FORMAT`: its settings,
op names, the two encoders embedding needs (motif encoder, graph encoder), the motif
table and, as the :class:`~archmotif.learn.encoder.Encoder` file does, the fitted
``Mined`` (:meth:`~archmotif.Mined.to_bytes`, its vocabulary and rules only: what
``apply`` needs), so a loaded baseline embeds new graphs exactly as the original.
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

from archmotif.attributes import DEFAULT_DETAIL, DETAILS, check_detail, with_detail
from archmotif.errors import FormatError, LearnError
from archmotif.fileread import parse_json
from archmotif.graph import OpGraph
from archmotif.learn import encoder_file
from archmotif.learn.data import OpVocabulary, instance_graphs, op_data, unknown_instances
from archmotif.learn.encoder import _bytes_tensor, _tensor_bytes
from archmotif.learn.gnn import coarse_targets
from archmotif.learn.stages import macro_inputs
from archmotif.learn.train import RunContext, embed_batches
from archmotif.mining import Mined, mine

__all__ = ["NAR_FORMAT", "NARBaseline", "nar_contrastive"]

NAR_FORMAT = "archmotif.nar-baseline"
# the settings a file stores: the widths decide the modules, the rest is for repr/refit
_WIDTHS = ("hidden", "out")
_COUNTS = ("stage1_epochs", "stage2_epochs", "max_instances", "stage1_graphs", "batch_size")


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
        detail: str = DEFAULT_DETAIL,
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
        mined = mine(gs, strategy="nar", detail=self.detail, progress=False, **self.mine_kwargs)
        self._ops = OpVocabulary.from_graphs(gs)
        nops = len(self._ops)
        ys, n_cls = coarse_targets(gs, self.use_labels)
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

    # File: the encoder-file format under its own format name; the settings are checked
    # before a module is built, the weights and the table must fit them and the Mined.
    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the fitted baseline (settings, op names, the motif and graph encoders,
        the motif table, the mined vocabulary) to one file, atomically."""
        if self._mined is None:
            raise LearnError("NARBaseline.save called before fit")
        settings = {k: getattr(self, k) for k in (*_WIDTHS, *_COUNTS, "use_labels", "detail")}
        encoder_file.write(path, NAR_FORMAT, {
            "settings": json.dumps(settings),
            "op_names": json.dumps(self._ops.names),
            "motif_enc": self._motif_enc.state_dict(),
            "graph_enc": self._graph_enc.state_dict(),
            "table": self._table,
            "mined": _bytes_tensor(self._mined.to_bytes(graphs=False)),
        })  # fmt: skip

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, device: str | torch.device | None = None
    ) -> NARBaseline:
        """Reads a file written by :meth:`save`; anything else raises
        :class:`~archmotif.FormatError` naming the file."""
        p = os.fspath(path)
        d = encoder_file.read(p, NAR_FORMAT)
        try:
            s = parse_json(d["settings"], p, "NAR baseline settings")
            names = parse_json(d["op_names"], p, "op names")
            ok = (isinstance(s, dict) and set(s) == {*_WIDTHS, *_COUNTS, "use_labels", "detail"}
                  and s["detail"] in DETAILS and type(s["use_labels"]) is bool
                  and all(type(s[k]) is int and 1 <= s[k] <= 4096 for k in _WIDTHS)
                  and all(type(s[k]) is int and 0 <= s[k] <= 2**31 for k in _COUNTS)
                  and isinstance(names, list) and 1 <= len(names) <= 2**20
                  and all(isinstance(n, str) for n in names))  # fmt: skip
            if not ok:
                raise ValueError("settings or op names outside the schema")
            model = cls(**s, device=device, progress=False)
            model._ops = ops = OpVocabulary(names)
            mined = Mined.from_bytes(_tensor_bytes(d["mined"]), source=p)
            table = d["table"]
            if mined.detail != model.detail:
                raise FormatError(f"{p}: the stored vocabulary is not at the baseline's detail")
            want = (len(mined.vocabulary), model.hidden)
            ok = isinstance(table, torch.Tensor) and table.dtype == torch.float32
            if not ok or tuple(table.shape) != want:
                raise ValueError(f"the motif table is not float32 {list(want)}")
            h, o = model.hidden, model.out
            model._motif_enc = encoder_file.load_module(
                p, "motif encoder", lambda: _NARGCN([len(ops), h, h, h], one_hot=len(ops)),
                d["motif_enc"],
            )  # fmt: skip
            model._graph_enc = encoder_file.load_module(
                p, "graph encoder", lambda: _NARGCN([h, o, o, o]), d["graph_enc"]
            )
        except FormatError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise FormatError(
                f"{p}: malformed NAR baseline file ({type(e).__name__}: {e})"
            ) from None
        model._motif_enc.to(model.device).eval()
        model._graph_enc.to(model.device).eval()
        model._table = table.to(model.device)
        model._mined = mined
        return model
