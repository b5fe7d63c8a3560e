"""Fast CONV_2D on a fixed grid of MobileNet-like shapes equals the reference byte for byte, every ISA level.

Covers the tiling (one tile up to 96 pixels, balanced tiles above, 1-2 row products on the GEMV kernel), the
im2col paths (1x1 stride-1 tiles copied whole, depth padding K % 4 != 0, contiguous kw*C runs, per-tap copies
at borders and with dilation; on AVX2 the int16 row segments of KxK convs: kw*C of 9, 15, 20, 21 and 80 taps,
odd ones padded, windows at the input's end, 1-pixel outputs on the GEMV path, one of them through the
short-window uint8 builder that the VNNI level uses for 3x3x3 layers) and the channel tails of the GEMM and
epilogue (C_out not a multiple of 8 or 32: last blocks of 1-24 channels on the narrow AVX2 kernels, 25-31 on
the full one). At 2 threads, few-pixel layers split by (channel block, tile) tasks; an odd number of blocks
(96 or 160 channels) cuts the pixels again into equal tiles of any row count (33 and 43 rows here, 32 and 18
in smaller shapes).
"""
from __future__ import annotations

import pytest

from intq.runtime.reference import conv as ref_conv
from fast_cases import assert_conv_like_equal, conv_like_case

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
    (1, 14, 14, 40, 96, 1, 1, 1, "SAME"), (1, 13, 13, 6, 160, 3, 1, 1, "SAME"), (1, 2, 2, 5, 12, 3, 2, 1, "SAME"),
    (1, 7, 6, 7, 20, 3, 1, 1, "SAME"), (1, 2, 2, 3, 12, 3, 2, 1, "SAME"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype,wide", [("uint8", False), ("int8", False), ("int8", True)])
def test_conv_shapes_match_reference(shape, dtype, wide):
    n, h, w, c, cout, k, s, d, padding = shape
    case_seed = len(shape) + c * 7 + cout
    g, x = conv_like_case("CONV_2D", (n, h, w, c), cout, (k, k), s, d, padding, dtype, case_seed,
                          spread=(0.0005, 0.05) if wide else (0.005, 0.01), bias_bound=20000,
                          gain=0.02 if wide else 8)  # 0.02: M > 1
    assert_conv_like_equal(g, x, fast_conv.prepare, fast_conv.run_level, ref_conv, LEVELS)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("c", [3, 5])
def test_conv_with_vertical_dilation_only(dtype, c):
    """dilation (2, 1): the row-segment and short-window tile builders step kernel rows by 2 input rows."""
    from intq.ir.ops import OP_OPTIONS
    from fast_cases import conv_like_case
    g, x = conv_like_case("CONV_2D", (1, 11, 9, c), 24, (3, 3), 1, 1, "SAME", dtype, 40 + c,
                          spread=(0.005, 0.01), bias_bound=20000, gain=8)
    node = g.nodes[0]
    node.options = OP_OPTIONS["CONV_2D"](padding="SAME", stride_h=1, stride_w=1, dilation_h=2, dilation_w=1,
                                         activation=node.options.activation)
    assert_conv_like_equal(g, x, fast_conv.prepare, fast_conv.run_level, ref_conv, LEVELS)
    assert fast_conv.prepare(g, node)["geom"][-1] == (3 * c + 1) // 2 * 2        # lp: row segments in use
