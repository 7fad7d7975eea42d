"""Data-parallel pretraining over ``torch.distributed`` (DDP), e.g. under ``torchrun``.

When a process group is initialised with more than one rank, every fit of
:class:`~archmotif.learn.encoder.Encoder` (and of the GNN baselines) runs data-parallel:

- every rank holds the same data and draws the same random choices (same seed), so all
  ranks agree on each global batch; each rank encodes its contiguous share of it;
- the encoders are wrapped in ``DistributedDataParallel``, which averages their
  gradients across ranks;
- the contrastive losses need every negative of the global batch, so the embeddings of
  all ranks are gathered (an ``all_gather`` whose backward hands each rank the summed
  gradient of its own rows) and every rank computes the loss of the whole batch. The
  gradient a rank's embeddings receive is then the world size times their share, and
  DDP's average turns it back into exactly the gradient of one process.

The models have no batch-statistic layers, so a sharded step computes what one process
computes for the same global batch: parameters agree with a single-process fit up to
float rounding (the order of gradient summation). Batches with fewer graphs than ranks
(at most the last one of an epoch) are skipped by every rank alike.

The ``torchrun`` entry point, which loads a dataset and writes the encoder file, is
harness: :mod:`archmotif.experiments.pretrain`.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

__all__ = [
    "active",
    "gather",
    "local_range",
    "parameter_spread",
    "rank",
    "world_size",
    "wrap",
]


def active() -> bool:
    """Whether a process group of more than one rank is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def _share(n: int, r: int, w: int) -> tuple[int, int]:
    base, extra = divmod(n, w)
    start = r * base + min(r, extra)
    return start, start + base + (1 if r < extra else 0)


def local_range(n: int) -> tuple[int, int]:
    """This rank's contiguous share ``[start, stop)`` of ``n`` items (sizes differ by at
    most one, earlier ranks larger)."""
    return _share(n, rank(), world_size())


def gather(x: torch.Tensor, n: int) -> torch.Tensor:
    """The rows of every rank's ``x`` (this rank's share of ``n`` rows), in rank order:
    the global batch. Differentiable; a no-op in one process."""
    if not active():
        return x
    w = world_size()
    sizes = [_share(n, r, w) for r in range(w)]
    most = max(b - a for a, b in sizes)
    padded = torch.zeros((most, *x.shape[1:]), dtype=x.dtype, device=x.device)
    padded = torch.cat([x, padded[: most - x.shape[0]]]) if x.shape[0] < most else x
    parts = _AllGather.apply(padded)
    return torch.cat([p[: b - a] for p, (a, b) in zip(parts, sizes, strict=True)])


class _AllGather(torch.autograd.Function):
    """``all_gather`` that sends each rank the summed gradient of its own rows back
    (what a reduce-scatter would; gloo has none, so an all-reduce of the whole)."""

    @staticmethod
    def forward(ctx: object, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        parts = [torch.empty_like(x) for _ in range(world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.stack(parts)

    @staticmethod
    def backward(ctx: object, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[rank()]


def wrap(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` in ``DistributedDataParallel`` when data-parallel, else itself."""
    if not active():
        return module
    from torch.nn.parallel import DistributedDataParallel

    p = next(module.parameters(), None)
    if p is not None and p.device.type == "cuda":
        return DistributedDataParallel(module, device_ids=[p.device])
    return DistributedDataParallel(module)


def parameter_spread(encoder: object) -> float:
    """The largest difference between any rank's parameters and rank 0's after a fit
    (0.0 in one process): data-parallel training must leave every rank the same model."""
    f = encoder._require()  # type: ignore[attr-defined]
    flat = torch.cat(
        [p.detach().flatten().double().cpu() for m in (f.motif_enc, f.macro_enc, f.heads)
         for p in m.parameters()]
    )  # fmt: skip
    if not active():
        return 0.0
    ref = flat.clone()
    dist.broadcast(ref, src=0)
    diff = (flat - ref).abs().max().reshape(1)
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return float(diff.item())


if __name__ == "__main__":  # pragma: no cover
    # the entry point this module used to be; it loads datasets, so it lives above the layers
    raise SystemExit(
        "archmotif.learn.ddp is no longer an entry point: run "
        "`torchrun --nproc_per_node=N -m archmotif.experiments.pretrain DATA -o encoder.pt`"
    )
