"""Fast DEPTHWISE_CONV_2D on a fixed grid of shapes equals the reference byte for byte, every ISA level.

Covers the AVX2 paired-tap path (taps paired for vpmaddwd, odd and even tap counts, 16- and 8-channel groups,
border taps read as the zero point; the per-tap code for the last C % 8 channels; windows over 64 taps on the
portable loop), strides and dilation.
"""
from __future__ import annotations

import numpy as np
import pytest

from intq.ir.ops import OP_OPTIONS
from intq.runtime.reference import depthwise_conv as ref_dw
from fast_cases import assert_conv_like_equal
from reference_cases import one_op, q
from strategies import RANGES

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast import depthwise_conv as fast_dw  # noqa: E402

LEVELS = list(range(fast.ISA_LEVEL + 1))

SHAPES = [  # (n, h, w, c, mult, kh, kw, stride, dilation, padding)
    (1, 9, 8, 16, 1, 3, 3, 1, 1, "SAME"), (2, 7, 7, 48, 1, 3, 3, 2, 1, "SAME"), (1, 6, 9, 144, 1, 3, 3, 1, 1, "VALID"),
    (1, 8, 8, 40, 1, 3, 3, 1, 2, "SAME"), (1, 9, 9, 24, 1, 5, 5, 2, 1, "SAME"), (1, 5, 6, 32, 1, 2, 2, 1, 1, "VALID"),
    (1, 6, 6, 17, 1, 1, 1, 1, 1, "SAME"), (1, 7, 5, 8, 1, 3, 3, 1, 1, "SAME"), (1, 6, 6, 16, 2, 3, 3, 1, 1, "SAME"),
    (1, 4, 4, 64, 1, 3, 1, 1, 1, "SAME"), (1, 10, 10, 16, 1, 9, 9, 1, 1, "SAME"), (2, 3, 3, 24, 1, 3, 3, 1, 1, "SAME"),
]


def _case(shape, dtype: str, seed: int):
    n, h, w, c, mult, kh, kw, s, d, padding = shape
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    cout = c * mult
    x = r.integers(lo, hi + 1, (n, h, w, c)).astype(dtype)
    wd = r.integers(lo if dtype == "int8" else 0, 256 if dtype == "uint8" else 128, (1, kh, kw, cout)).astype(dtype)
    s_x = 0.05
    if dtype == "uint8":
        scales = np.full(cout, np.float32(0.01))
        wq, bq = q(np.float32(0.01), int(r.integers(0, 256))), q(np.float32(s_x) * np.float32(0.01))
    else:
        scales = r.uniform(0.0005, 0.05, cout).astype(np.float32)
        wq, bq = q(scales, 0, 3), q((np.float32(s_x) * scales).astype(np.float32), 0, 0)
    bias = r.integers(-(2**31), 2**31, cout).astype(np.int32) if seed % 3 == 0 else \
        r.integers(-5000, 5000, cout).astype(np.int32)
    s_y = float(s_x * float(scales.mean()) * np.sqrt(kh * kw) * (0.05 if seed % 2 else 4))
    oh = -(-h // s) if padding == "SAME" else (h - (kh - 1) * d - 1) // s + 1
    ow = -(-w // s) if padding == "SAME" else (w - (kw - 1) * d - 1) // s + 1
    opts = OP_OPTIONS["DEPTHWISE_CONV_2D"](padding=padding, stride_h=s, stride_w=s, dilation_h=d, dilation_w=d,
                                           depth_multiplier=mult, activation="RELU6" if seed % 2 else "NONE")
    g = one_op("DEPTHWISE_CONV_2D", [("x", x.shape, dtype, q(s_x, int(r.integers(lo, hi + 1))))],
               [("w", wd, wq), ("b", bias, bq)], ((n, oh, ow, cout), dtype, q(s_y, int(r.integers(lo, hi + 1)))),
               opts)
    return g, x


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_depthwise_shapes_match_reference(shape, dtype, seed):
    g, x = _case(shape, dtype, seed * 1000 + shape[3] + shape[5])
    assert_conv_like_equal(g, x, fast_dw.prepare, fast_dw.run_level, ref_dw, LEVELS)
