"""Fast DEPTHWISE_CONV_2D on a fixed grid of shapes equals the reference byte for byte, every ISA level.

Covers the AVX2 paired-tap path (taps paired for vpmaddwd, odd and even tap counts, 16- and 8-channel groups,
border taps read as the zero point, or layers of up to 256 output pixels on a copy of the input padded with
zero-point bytes; four, then two pixels per call; the per-tap code for the last C % 8 channels; windows over
64 taps on the portable loop), strides and dilation.
"""
from __future__ import annotations

import pytest

from intq.runtime.reference import depthwise_conv as ref_dw
from fast_cases import assert_conv_like_equal, conv_like_case

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast import depthwise_conv as fast_dw  # noqa: E402

LEVELS = list(range(fast.ISA_LEVEL + 1))

SHAPES = [  # (n, h, w, c, mult, kh, kw, stride, dilation, padding)
    (1, 9, 8, 16, 1, 3, 3, 1, 1, "SAME"), (2, 7, 7, 48, 1, 3, 3, 2, 1, "SAME"), (1, 6, 9, 144, 1, 3, 3, 1, 1, "VALID"),
    (1, 8, 8, 40, 1, 3, 3, 1, 2, "SAME"), (1, 9, 9, 24, 1, 5, 5, 2, 1, "SAME"), (1, 5, 6, 32, 1, 2, 2, 1, 1, "VALID"),
    (1, 6, 6, 17, 1, 1, 1, 1, 1, "SAME"), (1, 7, 5, 8, 1, 3, 3, 1, 1, "SAME"), (1, 6, 6, 16, 2, 3, 3, 1, 1, "SAME"),
    (1, 4, 4, 64, 1, 3, 1, 1, 1, "SAME"), (1, 10, 10, 16, 1, 9, 9, 1, 1, "SAME"), (2, 3, 3, 24, 1, 3, 3, 1, 1, "SAME"),
    # 8 channels: inside pixels go two at a time (left padding 1 at stride 2, odd/even inside runs, dilation)
    (1, 9, 11, 8, 1, 3, 3, 2, 1, "SAME"), (2, 8, 10, 8, 1, 3, 3, 2, 1, "SAME"), (1, 9, 9, 8, 1, 3, 3, 1, 2, "SAME"),
    (1, 10, 12, 8, 1, 5, 5, 1, 1, "VALID"),
    # more than 256 output pixels: padded taps read a zero-point row (smaller padded layers run on a copy of
    # the input with the padding written out)
    (1, 17, 17, 16, 1, 3, 3, 1, 1, "SAME"), (1, 18, 20, 8, 1, 3, 3, 1, 1, "SAME"),
    (1, 17, 18, 12, 1, 3, 3, 1, 1, "SAME"), (1, 33, 35, 24, 1, 3, 3, 2, 1, "SAME"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_depthwise_shapes_match_reference(shape, dtype, seed):
    n, h, w, c, mult, kh, kw, s, d, padding = shape
    case_seed = seed * 1000 + c + kh
    g, x = conv_like_case("DEPTHWISE_CONV_2D", (n, h, w, c), c * mult, (kh, kw), s, d, padding, dtype, case_seed,
                          spread=(0.0005, 0.05), bias_bound=2**31 if case_seed % 3 == 0 else 5000,
                          gain=0.05 if case_seed % 2 else 4, depth_multiplier=mult)
    assert_conv_like_equal(g, x, fast_dw.prepare, fast_dw.run_level, ref_dw, LEVELS)
