"""Data-parallel pretraining from the command line, the ``torchrun`` entry point:

    torchrun --nproc_per_node=N -m archmotif.experiments.pretrain DATA -o encoder.pt

``DATA`` is a dataset name (``builtin``, ``darts``, ...) or a corpus path, loaded with
:func:`archmotif.datasets.load` by every rank. The process group is gloo on CPU and nccl
on CUDA (each rank on the GPU ``LOCAL_RANK`` names). ``--device auto`` (the default)
takes CUDA when this node has a GPU for each of its ranks and the CPU otherwise, saying
so; ``--device cuda`` with fewer GPUs than ranks on the node is an error naming both
counts, before any process group starts. Every rank fits the same
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
from archmotif.errors import InvalidArgument
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
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CUDA when this node has a GPU per rank, else the CPU")  # fmt: skip
    args = p.parse_args(argv)

    try:
        cuda = _use_cuda(args.device, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except InvalidArgument as e:
        p.error(str(e))
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
            device="cuda" if cuda else "cpu",
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


def _use_cuda(device: str, ranks_here: int) -> bool:
    """Whether the ranks of this node train on CUDA (see the module docstring)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "cpu":
        return False
    if gpus >= ranks_here:
        return True
    if device == "cuda":
        raise InvalidArgument(
            f"--device cuda needs a GPU per rank: {ranks_here} ranks on this node, "
            f"{gpus} GPU(s); start at most {gpus} per node, or pass --device cpu"
        )
    if int(os.environ.get("LOCAL_RANK", "0")) == 0 and gpus:
        print(f"{ranks_here} ranks on this node and {gpus} GPU(s): training on the CPU (gloo)")
    return False


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
