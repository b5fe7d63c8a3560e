"""Fast CONV_2D on a fixed grid of MobileNet-like shapes equals the reference byte for byte, every ISA level.

Covers the tiling (one tile up to 96 pixels, balanced tiles above, 1-2 row products on the GEMV kernel), the
im2col paths (1x1 stride-1 tiles copied whole, depth padding K % 4 != 0, contiguous kw*C runs,
per-tap copies at borders and with dilation) and the channel tails of the GEMM and epilogue (C_out not a
multiple of 8 or 32: last blocks of 1-24 channels on the narrow AVX2 kernels, 25-31 on the full one).
"""
from __future__ import annotations

import numpy as np
import pytest

from intq.ir.ops import OP_OPTIONS
from intq.runtime.reference import conv as ref_conv
from fast_cases import assert_conv_like_equal
from reference_cases import one_op, q
from strategies import RANGES

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast import conv as fast_conv  # noqa: E402

LEVELS = list(range(fast.ISA_LEVEL + 1))

SHAPES = [  # (n, h, w, c, cout, k, stride, dilation, padding)
    (1, 9, 7, 16, 96, 1, 1, 1, "SAME"), (2, 5, 5, 24, 16, 1, 1, 1, "VALID"), (1, 6, 6, 17, 24, 1, 1, 1, "SAME"),
    (1, 4, 5, 3, 8, 1, 1, 1, "SAME"), (1, 7, 7, 144, 24, 1, 1, 1, "SAME"), (1, 3, 3, 32, 40, 1, 2, 1, "SAME"),
    (1, 11, 13, 3, 32, 3, 2, 1, "SAME"), (2, 8, 8, 3, 8, 3, 2, 1, "SAME"), (1, 9, 9, 5, 17, 3, 1, 1, "VALID"),
    (1, 9, 10, 8, 33, 3, 1, 2, "SAME"), (1, 6, 6, 40, 1, 2, 1, 1, "SAME"), (1, 12, 12, 4, 70, 5, 2, 1, "SAME"),
    (1, 1, 1, 300, 70, 1, 1, 1, "SAME"), (2, 1, 1, 64, 33, 1, 1, 1, "SAME"), (3, 1, 1, 17, 8, 1, 1, 1, "SAME"),
    (1, 5, 5, 8, 57, 1, 1, 1, "SAME"), (1, 6, 6, 3, 30, 3, 1, 1, "SAME"), (1, 5, 7, 12, 20, 1, 1, 1, "SAME"),
    (1, 7, 7, 64, 48, 1, 1, 1, "SAME"), (1, 14, 14, 24, 40, 1, 1, 1, "SAME"), (2, 10, 10, 8, 16, 1, 1, 1, "SAME"),
]


def _case(shape, dtype: str, per_channel_wide: bool, seed: int):
    n, h, w, c, cout, k, s, d, padding = shape
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    x = r.integers(lo, hi + 1, (n, h, w, c)).astype(dtype)
    wd = r.integers(lo if dtype == "int8" else 0, 256 if dtype == "uint8" else 128, (cout, k, k, c)).astype(dtype)
    s_x = 0.05
    if dtype == "uint8":
        scales = np.full(cout, np.float32(0.01))
        wq, bq = q(np.float32(0.01), int(r.integers(0, 256))), q(np.float32(s_x) * np.float32(0.01))
    else:
        spread = (0.0005, 0.05) if per_channel_wide else (0.005, 0.01)
        scales = r.uniform(*spread, cout).astype(np.float32)
        wq, bq = q(scales, 0, 0), q((np.float32(s_x) * scales).astype(np.float32), 0, 0)
    bias = r.integers(-20000, 20000, cout).astype(np.int32)
    s_y = float(s_x * float(scales.mean()) * np.sqrt(k * k * c) * (0.02 if per_channel_wide else 8))  # 0.02: M > 1
    oh = -(-h // s) if padding == "SAME" else (h - (k - 1) * d - 1) // s + 1
    ow = -(-w // s) if padding == "SAME" else (w - (k - 1) * d - 1) // s + 1
    opts = OP_OPTIONS["CONV_2D"](padding=padding, stride_h=s, stride_w=s, dilation_h=d, dilation_w=d,
                                 activation="RELU6" if seed % 2 else "NONE")
    g = one_op("CONV_2D", [("x", x.shape, dtype, q(s_x, int(r.integers(lo, hi + 1))))],
               [("w", wd, wq), ("b", bias, bq)], ((n, oh, ow, cout), dtype, q(s_y, int(r.integers(lo, hi + 1)))),
               opts)
    return g, x


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype,wide", [("uint8", False), ("int8", False), ("int8", True)])
def test_conv_shapes_match_reference(shape, dtype, wide):
    g, x = _case(shape, dtype, wide, seed=len(shape) + shape[3] * 7 + shape[4])
    assert_conv_like_equal(g, x, fast_conv.prepare, fast_conv.run_level, ref_conv, LEVELS)
