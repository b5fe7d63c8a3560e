"""Reference CONCATENATION: copy when qparams match; LiteRT's uint8 float32 requantization otherwise."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import ConcatenationOptions
from intq.runtime.interpreter import Interpreter
from intq.runtime.reference.concatenation import requant_table
from reference_cases import concat_graph, draw_concat_shapes, one_op, q, run


def _graph(shapes, axis, dtype="uint8", quants=None, out_quant=None, activation="NONE"):
    quants = quants or [q(0.1, 5 if dtype == "uint8" else -5)] * len(shapes)
    return concat_graph(shapes, axis, dtype, quants, out_quant or quants[0], activation)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_equal_qparams_is_a_copy(data):
    axis, shapes = draw_concat_shapes(data, max_dim=3, max_inputs=3, max_axis_len=3)
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    rng = np.random.default_rng(5)
    xs = [rng.integers(-128 if dtype == "int8" else 0, 128, s).astype(dtype) for s in shapes]
    assert np.array_equal(run(_graph(shapes, axis, dtype), *xs), np.concatenate(xs, axis=axis))


def test_uint8_rescaling_hand_case():
    # input (scale 0.2, zp 10) into output (scale 0.1, zp 0): scale = 0.2f * (1/0.1f) rounds to 2.0f in float32,
    # bias = -10 * 2 = -20; q = 10 -> 0; q = 11 -> 2; q = 12 -> 4; q = 0 -> -20 -> clamp 0; q = 255 -> 490 -> 255.
    # The same bytes come out of LiteRT 2.3.0 BUILTIN_REF for this model.
    t = requant_table(0.2, 10, 0.1, 0)
    assert (t[10], t[11], t[12], t[0], t[255]) == (0, 2, 4, 0, 255)
    g = _graph([(1, 2), (1, 2)], 1, quants=[q(0.1, 0), q(0.2, 10)], out_quant=q(0.1, 0))
    y = run(g, np.array([[3, 4]], np.uint8), np.array([[11, 12]], np.uint8))
    assert y.tolist() == [[3, 4, 2, 4]]                 # first input copied, second requantized


def test_uint8_rescaling_tie_rounds_half_away():
    # scale 0.5 / 1.0 = 0.5 exactly, zp 0 -> 0: q = 3 gives 1.5 -> 2 and q = 5 gives 2.5 -> 3 (half-even would give 2);
    # LiteRT BUILTIN_REF gives [2, 3] too
    t = requant_table(0.5, 0, 1.0, 0)
    assert (t[3], t[5]) == (2, 3)


@settings(max_examples=30, deadline=None)
@given(s_in=st.floats(0.001, 1.0), z_in=st.integers(0, 255), s_out=st.floats(0.001, 1.0), z_out=st.integers(0, 255))
def test_uint8_rescaling_within_one_lsb_of_real(s_in, z_in, s_out, z_out):
    t = requant_table(s_in, z_in, s_out, z_out).astype(np.float64)
    ideal = np.clip((np.float32(s_in) * (np.arange(256) - z_in)) / np.float32(s_out) + z_out, 0, 255)
    assert np.abs(t - ideal).max() <= 0.5 + 1e-3        # float32 noise only moves near-ties


def test_fused_relu6_clamps():
    # intq extension (LiteRT rejects a fused activation): scale 0.1, zp 0 -> clamp [0, 60]
    g = _graph([(1, 1), (1, 1)], 1, quants=[q(0.1, 0)] * 2, activation="RELU6")
    assert run(g, np.array([[100]], np.uint8), np.array([[7]], np.uint8)).tolist() == [[60, 7]]


def test_errors():
    with pytest.raises(IRError, match="int8 CONCATENATION"):
        Interpreter(_graph([(1, 1), (1, 1)], 1, "int8", quants=[q(0.1, 0), q(0.2, 0)], out_quant=q(0.1, 0)))
    with pytest.raises(IRError, match="off axis"):
        Interpreter(_graph([(1, 2), (2, 2)], 1))
    with pytest.raises(IRError, match="axis 2 out of range"):
        Interpreter(one_op("CONCATENATION", [("a", (1, 2), "uint8", q(0.1, 0))], [], ((1, 2), "uint8", q(0.1, 0)),
            ConcatenationOptions(axis=2)))
