"""Training loops, losses and the run context (device, precision, seeds, checkpoints).

- :func:`info_nce`: the motif-level loss. Row ``i`` of ``a`` (a motif) must pick row
  ``i`` of ``b`` (the context of one of its instances) among all rows of ``b`` (the
  contexts of the other motifs of the batch); symmetric, temperature ``tau``.
- :func:`nt_xent`: the graph-level loss of SimCLR between two views of each graph.
- :func:`relational_kd`: relational distillation, the student's neighbour distribution
  over a batch pulled towards a teacher's (the motif bag's cosines, in stage 2).
- :func:`train_stage1`: motif encoder + context encoder with :func:`info_nce`; a batch
  holds distinct motif ids only, so a negative is never a context of the same motif.
- :func:`train_views`: any graph encoder with :func:`nt_xent` on two augmented views
  (+ cross-entropy on coarse labels when given); stage 2 and the GNN baselines.
- :class:`RunContext`: device (CUDA when available, bf16 autocast there), the seeded
  ``torch.Generator`` all sampling draws from, deterministic algorithms, tqdm.

Loops take a start epoch and call ``on_epoch`` after every epoch, which is how
:class:`~archmotif.learn.encoder.Encoder` writes checkpoints and resumes from them.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch, Data

from archmotif.learn import ddp
from archmotif.learn.augment import GraphRewrites, Views

__all__ = ["RunContext", "info_nce", "nt_xent", "relational_kd", "train_stage1", "train_views"]


def info_nce(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    """Symmetric InfoNCE: ``a[i]`` and ``b[i]`` are positives, other rows negatives."""
    logits = F.normalize(a.float(), dim=1) @ F.normalize(b.float(), dim=1).T / tau
    target = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """NT-Xent over ``2n`` views: each view's positive is the other view of its graph."""
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    n = z1.shape[0]
    sim = z @ z.T / tau
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def relational_kd(
    z1: torch.Tensor, z2: torch.Tensor, teacher: torch.Tensor, tau: float
) -> torch.Tensor:
    """Relational knowledge distillation over a batch of ``n`` graphs: for each graph,
    the softmax at ``tau`` of its cosines to the other ``n - 1`` graphs (view 1 against
    view 2) is pulled towards the softmax of the ``teacher``'s cosines ``[n, n]`` (KL,
    teacher to student), both ways round. The student keeps the teacher's neighbour
    ranking, not its values: cosines equal to the teacher's up to a constant give zero
    loss."""
    n = z1.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=z1.device)
    p = torch.softmax((teacher.float() / tau).masked_fill(eye, float("-inf")), dim=1)
    a, b = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)

    def kl(s: torch.Tensor) -> torch.Tensor:
        # the diagonal has p = 0; zeroing its -inf keeps 0 * log 0 out of the sum
        log_q = F.log_softmax(s.masked_fill(eye, float("-inf")), dim=1).masked_fill(eye, 0.0)
        return F.kl_div(log_q, p, reduction="batchmean")

    sim = a @ b.T / tau
    return (kl(sim) + kl(sim.T)) / 2


@dataclass
class RunContext:
    """Where and how a fit runs. ``gen`` drives every random choice of the loops."""

    seed: int
    device: torch.device
    progress: bool = True
    threads: int | None = 1
    gen: torch.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.gen = torch.Generator().manual_seed(self.seed)

    def seed_globals(self) -> None:
        """Seeds python, numpy and torch's global generators (torch's initialises the
        modules built next); only fitting does this, never embedding."""
        random.seed(self.seed)
        np.random.seed(self.seed % 2**32)
        torch.manual_seed(self.seed)

    @staticmethod
    def pick_device(device: str | torch.device | None) -> torch.device:
        if device is None:
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(device)

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """bf16 mixed precision on CUDA (no loss scaling needed); nothing on CPU."""
        if self.device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def scoped(self) -> Iterator[None]:
        """For the duration of a fit or embed: deterministic kernels (and on CPU
        ``threads`` intra-op threads); then the caller's settings again.

        On CUDA too, since the same seed must give the same model: measured on an H200,
        two default fits of the builtin set with one seed differed by up to 0.07 in an
        embedding coordinate, and even embedding one graph twice by 1e-3 (scatter sums
        by atomics), while with deterministic kernels both were bit-identical, at about
        40% more fit time. cuBLAS needs ``CUBLAS_WORKSPACE_CONFIG`` for that; it is set
        to ``:4096:8`` when unset, which holds when this process had not used cuBLAS
        before (set it yourself before any CUDA work otherwise). An operation torch has
        no deterministic CUDA kernel for warns instead of failing the fit.

        Why one CPU thread by default: message passing over batches of small graphs
        gains little from intra-op threads, and when the cores are shared OpenMP's
        spinning makes it far slower (measured here: the builtin fit takes 9 s on 1
        thread and 111 s on 2 while other jobs run). Results do not depend on the
        thread count."""
        cpu = self.device.type == "cpu"
        det = torch.are_deterministic_algorithms_enabled()
        warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
        nthreads = torch.get_num_threads()
        if self.device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=not cpu)
        if cpu and self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(det, warn_only=warn_only)
            torch.set_num_threads(nthreads)

    def bar(self, total: int, desc: str, initial: int = 0):
        from tqdm.auto import tqdm

        return tqdm(
            total=total,
            initial=initial,
            desc=desc,
            disable=not self.progress or ddp.rank() != 0 or None,
            leave=False,
            unit="epoch",
        )


def _chunks(order: torch.Tensor, size: int) -> Iterator[list[int]]:
    """Global batches; under data parallelism every rank sees the same ones."""
    idx = order.tolist()
    least = max(2, ddp.world_size())  # a negative; and a share for every rank
    for s in range(0, len(idx), size):
        chunk = idx[s : s + size]
        if len(chunk) >= least:
            yield chunk


def _with_partners(
    chunk: list[int], partners: Sequence[np.ndarray], gen: torch.Generator
) -> list[int]:
    """``chunk`` followed by one random partner of each member that has any, each graph
    at most once in the batch."""
    out, seen = list(chunk), set(chunk)
    draws = torch.rand(len(chunk), generator=gen).tolist()
    for i, u in zip(chunk, draws, strict=True):
        options = partners[i]
        if len(options):
            j = int(options[int(u * len(options))])
            if j not in seen:
                seen.add(j)
                out.append(j)
    return out


def _step(opt: torch.optim.Optimizer, loss: torch.Tensor, losses: list[float]) -> None:
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())


def _end_epoch(
    on_epoch: Callable[[int, float], None] | None, epoch: int, losses: list[float]
) -> None:
    if on_epoch is not None:
        on_epoch(epoch + 1, float(np.mean(losses)) if losses else float("nan"))


def train_stage1(
    motif_enc: torch.nn.Module,
    ctx_enc: torch.nn.Module,
    motifs: Sequence[Data],
    contexts: Sequence[Sequence[Data]],
    *,
    ctx: RunContext,
    epochs: int,
    batch_size: int,
    tau: float,
    opt: torch.optim.Optimizer,
    start: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> None:
    """Motif-level contrastive training; ``contexts[i]`` are instance contexts of motif ``i``
    (motifs with none are skipped). Calls ``on_epoch(epoch, mean_loss)``."""
    trainable = [i for i, c in enumerate(contexts) if c]
    motif_enc.train()
    ctx_enc.train()
    with ctx.bar(epochs, "stage 1 (motifs)", start) as bar:
        for epoch in range(start, epochs):
            losses = []
            order = torch.tensor(trainable)[torch.randperm(len(trainable), generator=ctx.gen)]
            for chunk in _chunks(order, batch_size):
                picks = torch.randint(0, 2**31 - 1, (len(chunk),), generator=ctx.gen).tolist()
                cb = [contexts[i][p % len(contexts[i])] for i, p in zip(chunk, picks, strict=True)]
                a, b = ddp.local_range(len(chunk))  # this rank's share (all of it alone)
                mb = Batch.from_data_list([motifs[i] for i in chunk[a:b]]).to(ctx.device)
                cbatch = Batch.from_data_list(cb[a:b]).to(ctx.device)
                with ctx.autocast():
                    zm = ddp.gather(motif_enc(mb), len(chunk))
                    zc = ddp.gather(ctx_enc(cbatch), len(chunk))
                    loss = info_nce(zm, zc, tau)
                _step(opt, loss, losses)
            bar.update(1)
            _end_epoch(on_epoch, epoch, losses)


def train_views(
    encode: Callable[[Batch], torch.Tensor],
    modules: Sequence[torch.nn.Module],
    heads: torch.nn.Module,
    graphs: Sequence[Data],
    *,
    ctx: RunContext,
    epochs: int,
    batch_size: int,
    tau: float,
    opt: torch.optim.Optimizer,
    views: Views,
    alternatives: Sequence[Data | None] | None = None,
    rewrites: Sequence[GraphRewrites | None] | None = None,
    partners: Sequence[np.ndarray] | None = None,
    teacher: torch.Tensor | None = None,
    distill: float = 0.0,
    use_labels: bool = True,
    start: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
    desc: str = "stage 2 (graphs)",
) -> None:
    """Graph-level contrastive training with NT-Xent between two random views of each
    graph, plus cross-entropy on ``Data.y`` (coarse label, -100 = none) when
    ``use_labels`` and ``heads.classify`` exist.

    ``rewrites`` (per graph) lets the views rewrite it (see :class:`Views`). With
    ``partners`` (per graph, the graphs to set against it: hard negatives), a batch is
    half anchors, each joined by one of its partners drawn at random, so every anchor
    meets a graph it is easily confused with among its negatives. With ``teacher`` (per
    graph, a unit row whose cosines the embedding should rank alike: the motif bag) and
    ``distill`` > 0, :func:`relational_kd` on the encoder's output (what retrieval
    compares) is added with that weight."""
    for m in (*modules, heads):
        m.train()
    alts = alternatives if alternatives is not None else [None] * len(graphs)
    rws = rewrites if rewrites is not None else [None] * len(graphs)
    anchors = max(1, batch_size // 2) if partners is not None else batch_size
    with ctx.bar(epochs, desc, start) as bar:
        for epoch in range(start, epochs):
            losses = []
            for chunk in _chunks(torch.randperm(len(graphs), generator=ctx.gen), anchors):
                if partners is not None:
                    chunk = _with_partners(chunk, partners, ctx.gen)
                v1 = [views(graphs[i], ctx.gen, alts[i], rws[i]) for i in chunk]
                v2 = [views(graphs[i], ctx.gen, alts[i], rws[i]) for i in chunk]
                # both views of this rank's share in one forward pass (DDP wants one
                # forward per backward); graphs are encoded independently of each other
                a, b = ddp.local_range(len(chunk))
                both = Batch.from_data_list(v1[a:b] + v2[a:b]).to(ctx.device)
                with ctx.autocast():
                    z = encode(both)
                    z1 = ddp.gather(z[: b - a], len(chunk))
                    z2 = ddp.gather(z[b - a :], len(chunk))
                    loss = nt_xent(heads.project(z1), heads.project(z2), tau)
                    if teacher is not None and distill > 0:
                        t = teacher[chunk]
                        loss = loss + distill * relational_kd(z1, z2, t @ t.T, tau)
                    y = ddp.gather(both.y[: b - a], len(chunk))
                    if use_labels and heads.classify is not None and bool((y >= 0).any()):
                        ce1 = F.cross_entropy(heads.classify(z1).float(), y, ignore_index=-100)
                        ce2 = F.cross_entropy(heads.classify(z2).float(), y, ignore_index=-100)
                        loss = loss + (ce1 + ce2) / 2
                _step(opt, loss, losses)
            bar.update(1)
            _end_epoch(on_epoch, epoch, losses)


@torch.no_grad()
def embed_batches(
    encode: Callable[[Batch], torch.Tensor],
    graphs: Sequence[Data],
    *,
    ctx: RunContext | None = None,
    device: torch.device,
    batch_size: int = 128,
) -> np.ndarray:
    """Runs ``encode`` over ``graphs`` in batches; float32 rows, L2-normalised."""
    out = []
    for s in range(0, len(graphs), batch_size):
        b = Batch.from_data_list(list(graphs[s : s + batch_size])).to(device)
        cm = ctx.autocast() if ctx is not None else contextlib.nullcontext()
        with cm:
            z = encode(b)
        out.append(F.normalize(z.float(), dim=1).cpu())
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(out).numpy().astype(np.float32)
