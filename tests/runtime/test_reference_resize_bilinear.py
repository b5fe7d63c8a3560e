"""Reference RESIZE_BILINEAR: uint8 float32 kernel and int8 10-bit integer kernel, hand cases checked with LiteRT."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import ResizeBilinearOptions
from intq.runtime.interpreter import Interpreter
from intq.runtime.reference import KERNELS
from intq.runtime.reference.resize_bilinear import INTEGER_KERNELS
from reference_cases import one_op, q, run


def _graph(in_hw, out_hw, dtype="uint8", align_corners=False, half_pixel=False, c=1, out_quant=None):
    qq = q(0.1, 0)
    return one_op("RESIZE_BILINEAR", [("x", (1, *in_hw, c), dtype, qq)], [("size", np.array(out_hw, np.int32), None)],
                  ((1, *out_hw, c), dtype, out_quant or qq), ResizeBilinearOptions(align_corners, half_pixel))


def _row(values, dtype, **flags):
    x = np.array(values, dtype).reshape(1, 1, len(values), 1)
    return run(_graph((1, len(values)), (1, 4), dtype, **flags), x).ravel().tolist()


def test_uint8_float32_hand_cases():
    # width 2 -> 4, scale 0.5. plain: src = 0, .5, 1, 1.5 -> 0, 0.5*0 + 0.5*10 + 0.5 = 5.5 -> 5, 10, 10 (x1 clamps)
    assert _row([0, 10], "uint8") == [0, 5, 10, 10]
    # half pixel: src = -.25 (-> x0 = x1 = 0), .25 -> 2.5 + .5 -> 3, .75 -> 7.5 + .5 -> 8, 1.25 -> 10
    assert _row([0, 10], "uint8", half_pixel=True) == [0, 3, 8, 10]
    # align corners: scale 1/3: src = 1/3 -> 3.33 + .5 -> 3, 2/3 -> 6.67 + .5 -> 7
    assert _row([0, 10], "uint8", align_corners=True) == [0, 3, 7, 10]


def test_int8_integer_hand_cases():
    # scale_10 = (1024*2 + 4/2) / 4 = 512. x = 1: src_10 = 512, x0 = 0, x1 = 1, weights 512/512:
    # acc = (-7*512 + 8*512) * 1024 = 2^19 (a tie, 0.5) -> (2^19 + 2^19) / 2^20 = 1 (away from zero)
    assert _row([-7, 8], "int8") == [-7, 1, 8, 8]
    # half pixel x = 1: src_10 = 512 + 256 - 512 = 256 -> acc = (-7*768 + 8*256) * 1024 -> -3.25 -> -3
    assert _row([-7, 8], "int8", half_pixel=True) == [-7, -3, 4, 8]
    # align corners: scale_10 = (1024 + 1) / 3 = 341; x = 1: (-7*683 + 8*341) / 1024 = -2.005 -> -2
    assert _row([-7, 8], "int8", align_corners=True) == [-7, -2, 3, 8]


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_close_to_float_bilinear_and_paths_agree(data):
    h, w = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    oh, ow = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    mode = data.draw(st.sampled_from([(False, False), (True, False), (False, True)]))
    x = np.random.default_rng(6).integers(0, 256, (2, h, w, 2)).astype(np.uint8)
    g = _graph((h, w), (oh, ow), "uint8", *mode, c=2)
    y_float = Interpreter(g, kernels="reference").run(x)[0].astype(np.int64)
    y_int = Interpreter(g, kernels={**KERNELS, **INTEGER_KERNELS}).run(x)[0].astype(np.int64)
    # the float32 and 10-bit integer kernels differ by at most 1 LSB (weights quantized to 1/1024)
    assert np.abs(y_float - y_int).max() <= 1
    assert y_float.shape == (2, oh, ow, 2)


def test_errors():
    with pytest.raises(IRError, match="half_pixel_centers"):
        Interpreter(_graph((2, 2), (4, 4), align_corners=True, half_pixel=True))
    with pytest.raises(IRError, match="quantization"):
        Interpreter(_graph((2, 2), (4, 4), out_quant=q(0.2, 0)))
