"""Fake quantization: nudging, rounding ties, narrow range, STE gradient (intq.qat.fake_quant)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.qat.fake_quant import fake_quant, qparams_for, quantize_t, round_half_away_t
from intq.scheme.qparams import choose_qparams, dequantize, quantize, round_half_away


def test_round_half_away_ties():
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6])
    assert round_half_away_t(x).tolist() == [-3, -2, -1, 1, 2, 3, 2, -3]


def test_round_half_away_matches_scheme_below_one_half():
    # 0.49999997f + 0.5 rounds to 1.0f, so floor(|x| + 0.5) would give 1; the kernels' rounding gives 0
    x = np.array([0.49999997, -0.49999997, 2.4999998, 8388609.0, -8388607.5], np.float32)
    assert np.array_equal(round_half_away_t(torch.from_numpy(x)).numpy(), round_half_away(x))


def test_hand_values_uint8():
    # range [-0.5, 1]: scale 1.5/255, zp = 0.5 / scale = 85, nudged [-85*s, 170*s]
    qp = qparams_for(-0.5, 1.0, 8)
    assert qp.zero_point == 85 and np.float32(qp.scale) == np.float32(1.5) / np.float32(255)
    x = torch.tensor([0.0, 1.0, -0.5, 5.0, -5.0, 0.5 * qp.scale])
    y = fake_quant(x, qp)
    s = np.float32(qp.scale)
    assert y[0] == 0.0                      # zero exact
    assert y[1] == np.float32(170) * s      # the nudged max
    assert y[2] == np.float32(-85) * s
    assert y[3] == y[1] and y[4] == y[2]
    assert y[5] == s                        # a tie 0.5 LSB rounds away from zero (torch.round would give 0)


def test_narrow_range_weights():
    qp = qparams_for(-1.0, 1.0, 8, narrow_range=True)
    assert (qp.qmin, qp.qmax) == (1, 255)
    codes = quantize_t(torch.linspace(-3, 3, 101), qp)
    assert codes.min() == 1 and codes.max() == 255


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 7, 8])
def test_bits_levels(bits):
    qp = qparams_for(-0.3, 2.0, bits)
    y = fake_quant(torch.linspace(-1, 3, 1000), qp)
    assert len(torch.unique(y)) == 2 ** bits
    assert (y == 0).any()


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(-10, 0), hi=st.floats(0.01, 10), bits=st.integers(2, 8), narrow=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_equal_to_scheme_quantize(lo, hi, bits, narrow, seed):
    """Torch fake quant == intq.scheme.dequantize(quantize(x)) bit for bit (what QUANTIZE/DEQUANTIZE export)."""
    qp = choose_qparams(lo, hi, bits, narrow)
    assert qparams_for(lo, hi, bits, narrow) == qp
    x = np.random.default_rng(seed).uniform(lo * 1.3 - 0.1, hi * 1.3 + 0.1, 257).astype(np.float32)
    x[:5] = (np.arange(5) + 0.5).astype(np.float32) * np.float32(qp.scale)  # ties
    want = dequantize(quantize(x, qp, np.int32), qp)
    got = fake_quant(torch.from_numpy(x), qp).numpy()
    assert np.array_equal(got, want)
    assert np.array_equal(quantize_t(torch.from_numpy(x), qp).numpy().astype(np.int32), quantize(x, qp, np.int32))


def test_ste_gradient_inside_range_only():
    qp = qparams_for(-1.0, 1.0, 8)
    x = torch.tensor([-2.0, qp.nudged_min, -0.3, 0.0, 0.7, qp.nudged_max, 1.5], requires_grad=True)
    fake_quant(x, qp).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def test_matches_torch_fake_quantize_off_ties():
    """torch.fake_quantize_per_tensor_affine agrees except on exact ties (half-to-even, reciprocal multiply)."""
    qp = qparams_for(-0.7, 3.1, 8)
    x = torch.from_numpy(np.random.default_rng(1).uniform(-1, 4, 4000).astype(np.float32))
    ours = fake_quant(x, qp)
    theirs = torch.fake_quantize_per_tensor_affine(x, qp.scale, qp.zero_point, 0, 255)
    diff = (ours != theirs)
    assert diff.sum() <= 4   # only values within float error of a tie may differ
    assert torch.all((ours - theirs).abs()[diff] <= np.float32(qp.scale) * 1.0001)
