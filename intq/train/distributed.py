"""torchrun / DistributedDataParallel helpers: init from env, rank checks, cross-rank comparisons. Imports: torch."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: rank, world size, local rank, device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str | None = None) -> DistInfo:
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1): nccl on CUDA, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    dev = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local, dev)


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def broadcast_object(obj, src: int = 0):
    """Rank ``src``'s object on every rank (identity without a process group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src)
    return box[0]


def buffers_identical_across_ranks(model: torch.nn.Module, keys: tuple[str, ...] = ()) -> bool:
    """True when every buffer (those whose name contains one of ``keys``, or all) is bitwise equal on all ranks.

    Each rank flattens the selected buffers into one float64 vector; MIN and MAX all-reduces must agree with it.
    """
    named = [(n, b) for n, b in model.named_buffers() if not keys or any(k in n for k in keys)]
    flat = [b.detach().double().flatten() for n, b in named if b.is_floating_point() or b.dtype == torch.int64]
    if not flat:
        return True
    vec = torch.cat(flat)
    if not (dist.is_available() and dist.is_initialized()):
        return True
    lo, hi = vec.clone(), vec.clone()
    dist.all_reduce(lo, dist.ReduceOp.MIN)
    dist.all_reduce(hi, dist.ReduceOp.MAX)
    return bool(torch.equal(lo, vec) and torch.equal(hi, vec))
