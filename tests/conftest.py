"""Shared test fixtures: where the read-only shared data lives; thread counts under pytest-xdist."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config):
    """Under pytest-xdist each of the N worker processes would start one OpenMP thread per core (torch's
    default), N times as many threads as cores: on a 16-core machine the torch-heavy tests of 14 workers
    crawled past a 150 s limit. Each worker gets its share of the cores instead (before torch is imported,
    which reads OMP_NUM_THREADS once); a value the user set is kept."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and workers.isdigit() and int(workers) > 0:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(workers))))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
