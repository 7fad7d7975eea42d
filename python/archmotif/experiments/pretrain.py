"""Data-parallel pretraining from the command line, the ``torchrun`` entry point:

    torchrun --nproc_per_node=N -m archmotif.experiments.pretrain DATA -o encoder.pt

``DATA`` is a dataset name (``builtin``, ``darts``, ...) or a corpus path, loaded with
:func:`archmotif.datasets.load` by every rank. The process group is gloo on CPU and nccl
on CUDA (each rank on the device ``LOCAL_RANK`` names); every rank fits the same
:class:`~archmotif.learn.encoder.Encoder` data-parallel (:mod:`archmotif.learn.ddp`),
rank 0 alone shows progress and writes the file, and the run fails unless every rank
ended with the same parameters.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import torch
import torch.distributed as dist

from archmotif.datasets import load
from archmotif.learn import ddp
from archmotif.learn.encoder import Encoder

__all__ = ["main"]

# ranks whose parameters differ by more than this after a fit trained different models
MAX_SPREAD = 1e-6


def main(argv: Sequence[str] | None = None) -> int:
    """``torchrun --nproc_per_node=N -m archmotif.experiments.pretrain DATA -o encoder.pt``."""
    p = argparse.ArgumentParser(prog="python -m archmotif.experiments.pretrain",
                                description=main.__doc__)  # fmt: skip
    p.add_argument("data", help="a dataset name ('builtin', 'darts', ...) or a corpus path")
    p.add_argument("-o", "--output", required=True, help="encoder file (written by rank 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stage1-epochs", type=int, default=10)
    p.add_argument("--stage2-epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=32, help="global batch (all ranks)")
    args = p.parse_args(argv)

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    try:
        graphs = load(args.data)
        enc = Encoder(
            stage1_epochs=args.stage1_epochs,
            stage2_epochs=args.stage2_epochs,
            batch_size=args.batch_size,
            progress=ddp.rank() == 0,
        ).fit(graphs, seed=args.seed)
        spread = ddp.parameter_spread(enc)
        if ddp.rank() == 0:
            enc.save(args.output)
            print(f"rank 0 of {ddp.world_size()}: wrote {args.output}; parameters of all "
                  f"ranks agree to {spread:.1e}")  # fmt: skip
        if spread > MAX_SPREAD:
            raise RuntimeError(f"ranks ended with different parameters (spread {spread:.1e})")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
