"""csrc/intq_threads.c under stress: every chunk runs exactly once, with ThreadSanitizer where available.

Builds tests/runtime/csrc/pool_stress.c with the system C compiler (skipped without one).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CC = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(CC is None or not (ROOT / "csrc" / "intq_threads.c").exists(),
                                reason="no C compiler, or not a source checkout")


def _build(tmp_path: Path, flags: list[str]) -> Path | None:
    exe = tmp_path / "pool_stress"
    cmd = [CC, "-O1", "-g", "-std=gnu11", "-pthread", *flags, f"-I{ROOT / 'csrc'}",
           str(Path(__file__).parent / "csrc" / "pool_stress.c"), str(ROOT / "csrc" / "intq_threads.c"), "-o", str(exe)]
    return exe if subprocess.run(cmd, capture_output=True).returncode == 0 else None


@pytest.mark.parametrize("sanitizer", [None, "thread"])
def test_every_chunk_runs_once(tmp_path, sanitizer):
    exe = _build(tmp_path, [f"-fsanitize={sanitizer}"] if sanitizer else [])
    if exe is None:
        if sanitizer:
            pytest.skip(f"the compiler cannot build with -fsanitize={sanitizer}")
        pytest.fail("pool_stress.c does not build")
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr[-3000:]
    assert "ThreadSanitizer" not in r.stderr, r.stderr[-3000:]


def test_trace_build_records_every_call_in_order(tmp_path):
    """The diagnostic build benchmarks/pool_trace.py makes (-DINTQ_POOL_TRACE): the stress passes and the
    trace of its calls is in order, with workers' chunks in it."""
    exe = _build(tmp_path, ["-DINTQ_POOL_TRACE", "-Wall", "-Werror"])
    assert exe is not None, "pool_stress.c does not build with -DINTQ_POOL_TRACE -Wall -Werror"
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr[-3000:]
