"""Two gloo processes: batch min/max are all_reduced so every rank keeps the same activation range."""
from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _worker(rank: int, store: str, out: str) -> None:
    from intq.qat.observers import ActQuant
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        q = ActQuant(8, ema_decay=0.5).train()
        q(torch.tensor([-1.0, 2.0]) if rank == 0 else torch.tensor([-3.0, 1.0]))   # global [-3, 2]
        q(torch.tensor([0.0, 4.0]) if rank == 0 else torch.tensor([-1.0, 0.5]))    # global [-1, 4]
        torch.save((float(q.min_val), float(q.max_val)), f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_ranks_share_ranges(tmp_path):
    out = str(tmp_path / "range")
    mp.spawn(_worker, args=(str(tmp_path / "store"), out), nprocs=2, join=True)
    r0, r1 = torch.load(f"{out}.0"), torch.load(f"{out}.1")
    assert r0 == r1 == (0.5 * -3.0 + 0.5 * -1.0, 0.5 * 2.0 + 0.5 * 4.0)
