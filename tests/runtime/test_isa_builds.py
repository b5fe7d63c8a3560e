"""The kernel library's other builds, checked on this CPU: each runs the fast-kernel tests against the reference.

- ``emulated-vnni``: ``-DINTQ_EMULATE_VNNI`` writes the VNNI level's 16-lane operations (csrc/intq_v512.h:
  vpdpbusd, vpdpwssd, the epilogue's arithmetic, loads, stores, widening) in C and reports ISA level 2 on any
  AVX2 CPU, so the VNNI level's im2col row sums, int8 packing, tiles, epilogue and depthwise steps run here
  even without AVX-512.
- ``portable-only``: ``-DINTQ_PORTABLE_ONLY`` leaves out every SIMD path: the build other CPUs get.

Each build goes into a copy of the package in tmp_path; a subprocess runs the fast-kernel and real-model
tests with that copy first on its path and first checks that it imported the copy at the expected level.
Skipped without a C compiler or outside a source checkout.
"""
from __future__ import annotations

import importlib.machinery
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CC = shutil.which("cc") or shutil.which("gcc")
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CC is None or not (ROOT / "csrc" / "intq_fast.c").exists(),
                                 reason="no C compiler, or not a source checkout")]

TESTS = sorted(str(p) for p in Path(__file__).parent.glob("test_fast_*.py")) + [
    str(Path(__file__).parent / "test_real_models.py")]

# flags, the ISA level the build must report, and whether it needs an x86 CPU with AVX2
BUILDS = {"emulated-vnni": (["-DINTQ_EMULATE_VNNI"], 2, True),
          "portable-only": (["-DINTQ_PORTABLE_ONLY"], 0, False)}


def _has_avx2() -> bool:
    try:
        return " avx2 " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
    except OSError:
        return False


def _build_package(dest: Path, flags: list[str]) -> Path:
    """Copy of intq/ under dest with the kernel library built from csrc/ with ``flags``; returns dest."""
    shutil.copytree(ROOT / "intq", dest / "intq", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    lib = dest / "intq" / "runtime" / "fast" / f"_intq_fast{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    cmd = [CC, "-O2", "-std=gnu11", "-pthread", "-ffp-contract=off", "-fPIC", "-shared", *flags,
           *sorted(str(p) for p in (ROOT / "csrc").glob("*.c")), "-o", str(lib)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return dest


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_build_matches_reference(tmp_path, build):
    flags, level, needs_avx2 = BUILDS[build]
    if needs_avx2 and not (X86 and _has_avx2()):
        pytest.skip("the emulated VNNI build needs an x86 CPU with AVX2")
    pkg = _build_package(tmp_path / "pkg", flags)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(pkg), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    probe = subprocess.run(
        [sys.executable, "-c", "import intq, intq.runtime.fast as f; print(intq.__file__); print(f.ISA_LEVEL)"],
        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr[-3000:]
    where, got_level = probe.stdout.split()
    assert Path(where).resolve().is_relative_to(pkg.resolve()), f"imported {where}, not the {build} copy"
    assert int(got_level) == level
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        "--rootdir", str(ROOT), *TESTS],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1800)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert " passed" in r.stdout, r.stdout[-3000:]
