"""INTQ_ISA caps the kernels' ISA level for a process (read when intq.runtime.fast is first imported)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast._lib import ISA_NAMES  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROBE = """
import numpy as np, intq, intq.runtime.fast as f
from intq.runtime.fast._lib import LIB
from reference_cases import one_op, q
from intq.ir.ops import OP_OPTIONS
x = np.random.default_rng(0).integers(0, 256, (1, 6, 6, 8)).astype(np.uint8)
w = np.random.default_rng(1).integers(0, 256, (16, 3, 3, 8)).astype(np.uint8)
g = one_op("CONV_2D", [("x", x.shape, "uint8", q(0.05, 120))],
           [("w", w, q(0.01, 130)), ("b", np.arange(16, dtype=np.int32) * 50, q(0.0005))],
           ((1, 6, 6, 16), "uint8", q(0.2, 110)), OP_OPTIONS["CONV_2D"](padding="SAME"))
it = intq.Interpreter(g)
same = np.array_equal(it.run(x)[0], intq.Interpreter(g, kernels="reference").run(x)[0])
p = it._steps[0][2]
print(f.ISA, f.ISA_LEVEL, int(LIB.intq_isa_level()), it._plan is not None, same, intq.__file__,
      p["B"].nbytes, p["B16"].nbytes)
"""
PACKED16 = 32 * 72 * 2        # the probe's conv: 16 channels padded to 32, K = 3 * 3 * 8 = 72, int16


def _env(isa):
    """The environment with INTQ_ISA = isa (None: unset), this checkout's intq and the tests' helpers first on
    the path, whatever is installed."""
    env = {k: v for k, v in os.environ.items() if k != "INTQ_ISA"}
    if isa is not None:
        env["INTQ_ISA"] = isa
    env["PYTHONPATH"] = os.pathsep.join([ROOT, os.path.dirname(HERE), HERE]
                                        + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return env


def _probe(value):
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=_env(value), timeout=300)


def test_unset_and_empty_keep_the_detected_level():
    for value in (None, ""):
        r = _probe(value)
        assert r.returncode == 0, r.stderr[-2000:]
        isa, level, detected, planned, same, where, b, b16 = r.stdout.split()
        assert where.startswith(ROOT)
        assert level == detected and planned == "True" and same == "True"


@pytest.mark.parametrize("value", ["portable", "PORTABLE ", "avx512-vnni"])
def test_caps_the_level(value):
    r = _probe(value)
    assert r.returncode == 0, r.stderr[-2000:]
    isa, level, detected, planned, same, where, b, b16 = r.stdout.split()
    assert where.startswith(ROOT)
    want = min(int(detected), ISA_NAMES.index(value.strip().lower()))
    assert int(level) == want and isa == ISA_NAMES[want]
    assert planned == "True" and same == "True"
    if want == 0:      # the portable level keeps only its own int16 copy of the weights, no SIMD layout
        assert (int(b), int(b16)) == (64, PACKED16)
    else:              # int8 [Np][Kp] for VNNI and the GEMV beside the int16 copy
        assert (int(b), int(b16)) == (PACKED16 // 2, PACKED16)


def test_unknown_value_is_a_clear_error():
    r = _probe("neon")
    assert r.returncode != 0
    assert "INTQ_ISA must be one of portable, avx2, avx512-vnni" in r.stderr and "'neon'" in r.stderr


def test_cli_reports_an_unknown_value_as_an_error(tmp_path):
    """`intq run` prints intq's one-line error for a bad INTQ_ISA (exit status 2), not a traceback."""
    import numpy as np
    import intq
    from intq.ir.ops import OP_OPTIONS
    from reference_cases import one_op, q
    g = one_op("RELU", [("x", (1, 4), "uint8", q(0.1, 3))], [], ((1, 4), "uint8", q(0.1, 3)), OP_OPTIONS["RELU"]())
    intq.save_tflite(g, tmp_path / "m.tflite")
    np.save(tmp_path / "x.npy", np.arange(4, dtype=np.uint8).reshape(1, 4))
    r = subprocess.run([sys.executable, "-c", "import sys; from intq.cli import main; sys.exit(main(sys.argv[1:]))",
                        "run", str(tmp_path / "m.tflite"), str(tmp_path / "x.npy")],
                       capture_output=True, text=True, env=_env("neon"), timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("intq: error: INTQ_ISA must be one of") and "Traceback" not in r.stderr
