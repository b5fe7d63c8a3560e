"""EMA activation quantizer: values by hand, quant_delay, freezing, buffers (intq.qat.observers)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from intq.qat.fake_quant import fake_quant, qparams_for
from intq.qat.observers import ActQuant, reduce_min_max


def test_ema_by_hand_first_batch_initialises_and_includes_zero():
    q = ActQuant(8, ema_decay=0.9, quant_delay=0).train()
    q(torch.tensor([1.0, 2.0, 3.0]))            # batch range widened to include 0: [0, 3]
    assert float(q.min_val) == 0.0 and float(q.max_val) == 3.0
    q(torch.tensor([-1.0, 5.0]))
    assert np.isclose(float(q.min_val), 0.9 * 0 + 0.1 * -1.0)
    assert np.isclose(float(q.max_val), 0.9 * 3 + 0.1 * 5.0)
    assert int(q.step) == 2


def test_output_uses_updated_range():
    q = ActQuant(8, ema_decay=0.5).train()
    x = torch.tensor([-1.0, 0.3, 2.0])
    y = q(x)
    assert torch.equal(y, fake_quant(x, qparams_for(-1.0, 2.0, 8)))


def test_quant_delay():
    q = ActQuant(8, quant_delay=2).train()
    x = torch.tensor([0.1234567, 1.0])
    assert torch.equal(q(x), x) and torch.equal(q(x), x)       # steps 0, 1 (TF: global_step < quant_delay)
    assert not torch.equal(q(x), x)                            # step 2 quantizes
    q.eval()
    assert not torch.equal(q(x), x)


def test_eval_does_not_update_and_shared_use_does_not_observe():
    q = ActQuant(8).train()
    q(torch.tensor([0.0, 1.0]))
    q(torch.tensor([0.0, 100.0]), observe=False)
    assert float(q.max_val) == 1.0 and int(q.step) == 1
    q.eval()
    q(torch.tensor([0.0, 50.0]))
    assert float(q.max_val) == 1.0 and int(q.step) == 1


def test_freeze_and_state_dict():
    q = ActQuant(8).train()
    q(torch.tensor([-2.0, 4.0]))
    q.observer_enabled.fill_(0)
    q(torch.tensor([-20.0, 40.0]))
    assert (float(q.min_val), float(q.max_val)) == (-2.0, 4.0)
    sd = q.state_dict()
    assert {"min_val", "max_val", "step", "initialized", "observer_enabled", "fake_quant_mode"} <= set(sd)
    q2 = ActQuant(8)
    q2.load_state_dict(sd)
    assert q2.qparams() == q.qparams() and int(q2.step) == 2


def test_uninitialised_quantizer_passes_through():
    q = ActQuant(8).eval()
    x = torch.tensor([0.123])
    assert torch.equal(q(x), x)


def test_reduce_min_max_single_process_group(tmp_path):
    dist = pytest.importorskip("torch.distributed")
    if not dist.is_available():
        pytest.skip("torch.distributed not available")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        lo, hi = reduce_min_max(torch.tensor(-1.5), torch.tensor(2.5))
        assert (float(lo), float(hi)) == (-1.5, 2.5)
        q = ActQuant(8).train()
        q(torch.tensor([-1.0, 3.0]))
        assert (float(q.min_val), float(q.max_val)) == (-1.0, 3.0)
    finally:
        dist.destroy_process_group()


def test_ema_agrees_with_torch_ao_fakequantize():
    """torch.ao MovingAverageMinMaxObserver with averaging_constant = 1 - decay keeps the same range when every
    batch straddles 0 (intq widens each batch to include 0 first, torch only when computing qparams); torch
    rounds the zero point half-to-even and its fake quant multiplies by 1/scale (notes A.19)."""
    from torch.ao.quantization import FakeQuantize, MovingAverageMinMaxObserver
    theirs = FakeQuantize(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                          dtype=torch.quint8, averaging_constant=0.1)
    ours = ActQuant(8, ema_decay=0.9).train()
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        x = torch.randn(1000, generator=gen) * 2 + 0.5
        theirs(x)
        ours(x)
    assert torch.allclose(theirs.activation_post_process.min_val, ours.min_val)
    assert torch.allclose(theirs.activation_post_process.max_val, ours.max_val)
    scale, zp = theirs.calculate_qparams()
    qp = ours.qparams()
    assert np.isclose(float(scale), qp.scale, rtol=1e-6) and abs(int(zp) - qp.zero_point) <= 1
