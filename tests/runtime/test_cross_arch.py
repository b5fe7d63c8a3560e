"""The kernel library built for AArch64 (NEON, where the portable level's loops are vectorised by the compiler)
gives the reference bytes, under qemu-user at the portable level:

- conv and depthwise cases, prepared here by the fast kernels' own prepare with the reference kernels' outputs,
  replayed by tests/runtime/csrc/replay_cases.c;
- whole one-call plans (every op the plans run: QUANTIZE, TRANSPOSE, PAD, pools, MEAN, ADD, CONCATENATION,
  SOFTMAX, DEQUANTIZE, ...) of converted models and of the shared real ones when present, written by
  tests/runtime/plan_dump.py in a process at the portable level (INTQ_ISA=portable) and run by
  tests/runtime/csrc/replay_plan.c through intq_run_plan with poisoned outputs.

Runs where ``aarch64-linux-gnu-gcc`` and ``qemu-aarch64`` are installed (Debian: gcc-aarch64-linux-gnu,
qemu-user), else skips; a source checkout only.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from intq.runtime.kernels import ExecContext
from intq.runtime.reference import conv as ref_conv, depthwise_conv as ref_dw
from fast_cases import conv_like_case

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast import conv as fast_conv, depthwise_conv as fast_dw  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CROSS, QEMU = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CROSS is None or QEMU is None or not (ROOT / "csrc").is_dir(),
                                 reason="needs aarch64-linux-gnu-gcc, qemu-aarch64 and a source checkout")]

# (op, (n, h, w, c), cout, window, stride, dilation, padding, dtype, mult)
CASES = [
    ("CONV_2D", (1, 9, 9, 3), 32, (3, 3), 2, 1, "SAME", "uint8", 1),     # a first layer: K = 27
    ("CONV_2D", (1, 7, 7, 64), 40, (1, 1), 1, 1, "VALID", "uint8", 1),   # 1x1, channels not a multiple of 32
    ("CONV_2D", (2, 6, 5, 20), 24, (3, 3), 1, 2, "SAME", "int8", 1),    # per-channel int8, dilation, batch 2
    ("CONV_2D", (1, 1, 1, 300), 10, (1, 1), 1, 1, "VALID", "int8", 1),  # a fully connected shape: 1 row
    ("CONV_2D", (1, 12, 13, 16), 96, (1, 1), 1, 1, "VALID", "uint8", 1),  # 156 pixels: several tiles
    ("DEPTHWISE_CONV_2D", (1, 9, 8, 24), 24, (3, 3), 1, 1, "SAME", "uint8", 1),
    ("DEPTHWISE_CONV_2D", (1, 8, 8, 17), 17, (3, 3), 2, 1, "SAME", "int8", 1),
    ("DEPTHWISE_CONV_2D", (1, 6, 6, 8), 16, (3, 3), 1, 1, "VALID", "uint8", 2),   # depth multiplier 2
    ("DEPTHWISE_CONV_2D", (2, 7, 7, 32), 32, (5, 5), 1, 2, "SAME", "int8", 1),
]


def _write_cases(path: Path) -> int:
    """Write every case at 1 and 2 threads; returns how many were written."""
    words = []
    n = 0
    for i, (op, shape, cout, window, stride, dil, padding, dtype, mult) in enumerate(CASES):
        extra = {"depth_multiplier": mult} if op == "DEPTHWISE_CONV_2D" else {}
        g, x = conv_like_case(op, shape, cout, window, stride, dil, padding, dtype, 100 + i,
                              spread=(0.0005, 0.05), bias_bound=2**31 if i % 3 == 0 else 5000,
                              gain=0.05 if i % 2 else 4, **extra)
        node = g.nodes[0]
        ref, fk, code = (ref_conv, fast_conv, 1) if op == "CONV_2D" else (ref_dw, fast_dw, 2)
        want = ref.run(ref.prepare(g, node), [x, g.tensor("w").data, g.tensor("b").data], ExecContext())[0]
        p = fk.prepare(g, node)
        geom = p["geom"].copy()
        geom[0] = x.shape[0]
        names = fast_conv.CONSTS if code == 1 else ("w32", "bias", "m0", "shift", "w2", "bint")
        arrays = [x] + [p[k] for k in names] + [want]
        if code == 1 and fast.ISA_LEVEL > 0:     # the portable level's copy in B16's place (level_consts)
            fast_conv.level_consts(p, 0)
            arrays[2] = p["portable"][0]
        for threads in (1, 2):
            words.append(struct.pack(f"<3i{geom.size}i", code, threads, geom.size, *geom.tolist()))
            for a in arrays:
                b = np.ascontiguousarray(a).tobytes()
                words.append(struct.pack("<i", len(b)) + b)
            n += 1
    path.write_bytes(b"".join(words))
    return n


def _cross_build(harness: str, exe: Path) -> Path:
    """The AArch64 executable of tests/runtime/csrc/``harness`` linked with every csrc/*.c (static, for qemu)."""
    build = subprocess.run([CROSS, "-O3", "-std=gnu11", "-pthread", "-ffp-contract=off", "-static", "-Icsrc",
                            str(Path(__file__).parent / "csrc" / harness),
                            *sorted(str(p) for p in (ROOT / "csrc").glob("*.c")), "-lm", "-o", str(exe)],
                           capture_output=True, text=True, cwd=ROOT)
    assert build.returncode == 0, build.stderr[-3000:]
    return exe


def test_aarch64_build_replays_reference_bytes(tmp_path):
    exe = _cross_build("replay_cases.c", tmp_path / "replay")
    cases = tmp_path / "cases.bin"
    n = _write_cases(cases)
    r = subprocess.run([QEMU, str(exe), str(cases)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"{n} cases equal" in r.stdout


SHARED = ROOT.parent / "shared" / "data" / "tflite-quant-models"
ZOO = [("mobilenet_v2", "uint8"), ("mobilenet_v2", "int8"), ("resnet", "uint8"), ("inception", "uint8")]


@pytest.fixture(scope="module")
def replay_plan(tmp_path_factory):
    return _cross_build("replay_plan.c", tmp_path_factory.mktemp("aarch64") / "replay_plan")


def _converted(name: str, scheme: str, path: Path) -> Path:
    """A small converted model (intq.convert of a calibrated zoo model, float32 NCHW in and out) as .tflite."""
    torch = pytest.importorskip("torch")
    import intq
    from intq.models import build_model
    from intq.qat import QatConfig
    torch.manual_seed(0)
    m = build_model(name, 3, 10, 28, **({"width": 0.25} if name.startswith("mobilenet") else {}))
    cfg = QatConfig(scheme=scheme, per_channel=True) if scheme == "int8" else None
    intq.save_tflite(intq.convert(intq.calibrate(m, [torch.randn(2, 3, 28, 28)], config=cfg)), path)
    return path


def _replay(model: Path, exe: Path, tmp_path: Path, threads: int) -> None:
    dump = tmp_path / f"plan{threads}.bin"
    env = dict(os.environ, INTQ_ISA="portable",       # this checkout's intq, whatever is installed
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    w = subprocess.run([sys.executable, str(Path(__file__).parent / "plan_dump.py"), str(model), str(dump),
                        "--threads", str(threads)], capture_output=True, text=True, env=env, timeout=600)
    assert w.returncode == 0, w.stdout[-2000:] + w.stderr[-3000:]
    assert "level 0" in w.stdout
    r = subprocess.run([QEMU, str(exe), str(dump)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "every output equal" in r.stdout


@pytest.mark.parametrize("name, scheme", ZOO)
def test_aarch64_build_runs_converted_models(replay_plan, tmp_path, name, scheme):
    model = _converted(name, scheme, tmp_path / "model.tflite")
    for threads in (1, 2):
        _replay(model, replay_plan, tmp_path, threads)


@pytest.mark.parametrize("model", ["mobilenet_v1_0.25_128_quant", "mobilenet_v2_1.0_224_quant"])
def test_aarch64_build_runs_shared_models(replay_plan, tmp_path, model):
    path = SHARED / f"{model}.tflite"
    if not path.exists():
        pytest.skip("../shared/data not present")
    _replay(path, replay_plan, tmp_path, 2)
