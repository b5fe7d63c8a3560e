"""The AVX2 requantization of csrc/intq_common.h equals the scalar MultiplyByQuantizedMultiplier port.

Builds tests/runtime/csrc/requant_check.c with the system C compiler (skipped without one or without AVX2).
The scalar mbqm() is itself checked against intq.scheme.fixedpoint through the kernels' tests.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CC = shutil.which("cc") or shutil.which("gcc")


@pytest.mark.skipif(CC is None or not (ROOT / "csrc" / "intq_common.h").exists(),
                    reason="no C compiler, or not a source checkout")
def test_vector_requantization_equals_scalar(tmp_path):
    exe = tmp_path / "requant_check"
    build = subprocess.run([CC, "-O2", "-std=gnu11", f"-I{ROOT / 'csrc'}",
                            str(Path(__file__).parent / "csrc" / "requant_check.c"), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    if r.stdout.strip() == "skip":
        pytest.skip("this CPU has no AVX2")
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
