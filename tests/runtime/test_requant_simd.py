"""The vector requantization equals the scalar MultiplyByQuantizedMultiplier port: AVX2's (csrc/intq_common.h)
and the VNNI level's 16-lane one with its output codes (csrc/intq_v512.h).

Builds tests/runtime/csrc/requant_check.c with the system C compiler (skipped without one or without AVX2),
as is (the 16-lane part runs where the CPU has AVX-512 VNNI) and with -DINTQ_EMULATE_VNNI (its operations
in C, so it runs on any AVX2 CPU). The scalar mbqm() is itself checked against intq.scheme.fixedpoint
through the kernels' tests.
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
@pytest.mark.parametrize("flags", [[], ["-DINTQ_EMULATE_VNNI"]], ids=["native", "emulated-vnni"])
def test_vector_requantization_equals_scalar(tmp_path, flags):
    exe = tmp_path / "requant_check"
    build = subprocess.run([CC, "-O2", "-std=gnu11", f"-I{ROOT / 'csrc'}", *flags,
                            str(Path(__file__).parent / "csrc" / "requant_check.c"), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    if r.stdout.strip() == "skip":
        pytest.skip("this CPU has no AVX2")
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
