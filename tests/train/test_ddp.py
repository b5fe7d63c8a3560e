"""`torchrun --nproc_per_node=2 -m intq train`: DDP on CPU (gloo) trains, converts, ranks agree on ranges."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


def test_torchrun_two_cpu_processes(tmp_path):
    pytest.importorskip("torch.distributed.run")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "intq",
           "train", "--mode", "qat", "--depth", "2", "--epochs", "1", "--max-steps", "3", "--batch-size", "16",
           "--max-eval", "32", "--threads", "1", "--device", "cpu", "--no-progress", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["steps"] == 3
    assert metrics["observer_ranges"] and metrics["observer_ranges_identical_across_ranks"] is True
    assert metrics["params_identical_across_ranks"] is True
    assert (tmp_path / "model.tflite").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "metrics.json", "model.tflite"]
