"""The compiled conv-family kernels read nothing past the end of their input.

Vector loads of 16 or 32 bytes at a window's last taps could run past the input; the kernels either stop
short of its end or copy the last bytes one by one. Each case puts the input right before a page with no
access rights, so an overrun is a segmentation fault: the cases run in a child process, which must exit
cleanly and give the reference's bytes (every ISA level, 1 and 2 threads).
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
if sys.platform != "linux":
    pytest.skip("guard pages through libc mprotect (Linux)", allow_module_level=True)

CHILD = textwrap.dedent("""
    import ctypes, mmap, sys
    import numpy as np
    sys.path[:0] = [{here!r}, {tests!r}]
    from fast_cases import conv_like_case
    from intq.runtime import fast
    from intq.runtime.fast import conv as fast_conv, depthwise_conv as fast_dw
    from intq.runtime.kernels import ExecContext
    from intq.runtime.reference import conv as ref_conv, depthwise_conv as ref_dw

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    keep = []

    def guarded(x):
        # a copy of x ending exactly where a PROT_NONE page starts
        page = mmap.PAGESIZE
        total = -(-x.nbytes // page) * page + page
        m = mmap.mmap(-1, total)
        raw = np.frombuffer(m, np.uint8)
        assert libc.mprotect(raw.ctypes.data + total - page, page, 0) == 0, ctypes.get_errno()
        start = total - page - x.nbytes
        y = raw[start:start + x.nbytes].view(x.dtype).reshape(x.shape)
        y[...] = x
        keep.append((m, raw))
        return y

    for op, shape, cout, k, s, padding, dtype in {cases!r}:
        fast_k, ref_k = (fast_conv, ref_conv) if op == "CONV_2D" else (fast_dw, ref_dw)
        g, x = conv_like_case(op, shape, cout, (k, k), s, 1, padding, dtype, sum(shape) + cout,
                              spread=(0.005, 0.01), bias_bound=20000, gain=8)
        node = g.nodes[0]
        want = ref_k.run(ref_k.prepare(g, node), [x, g.tensor("w").data, g.tensor("b").data], ExecContext())[0]
        p, xg = fast_k.prepare(g, node), guarded(x)
        for level in range(fast.ISA_LEVEL + 1):
            for threads in (1, 2):
                got = fast_k.run_level(p, xg, threads, level)
                assert np.array_equal(got, want), (op, shape, level, threads)
    print("ok")
""")

CASES = [  # (op, NHWC, C_out, k, stride, padding, dtype): the last window ends at the input's last byte
    ("CONV_2D", (1, 9, 9, 3), 16, 3, 1, "VALID", "uint8"),
    ("CONV_2D", (1, 10, 10, 3), 8, 3, 2, "SAME", "uint8"),
    ("CONV_2D", (2, 7, 6, 7), 20, 3, 1, "SAME", "int8"),
    ("CONV_2D", (1, 6, 6, 5), 12, 3, 1, "VALID", "int8"),
    ("CONV_2D", (1, 5, 5, 8), 16, 1, 1, "SAME", "uint8"),
    ("CONV_2D", (1, 6, 6, 8), 16, 1, 1, "SAME", "uint8"),    # VNNI: the GEMM reads the input rows in place
    ("DEPTHWISE_CONV_2D", (1, 9, 9, 8), 8, 3, 1, "SAME", "uint8"),
    ("DEPTHWISE_CONV_2D", (1, 8, 8, 24), 24, 3, 2, "SAME", "int8"),
    ("DEPTHWISE_CONV_2D", (1, 7, 7, 48), 48, 3, 1, "VALID", "uint8"),   # VNNI: 32-channel steps, then 16
    ("DEPTHWISE_CONV_2D", (1, 7, 7, 40), 40, 3, 1, "VALID", "int8"),    # VNNI: 32-channel steps, then 8
]


def test_kernels_read_nothing_past_the_input():
    here = Path(__file__).parent
    code = CHILD.format(here=str(here), tests=str(here.parent), cases=CASES)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr[-3000:])
