"""Models calibrated on all-zero inputs: activation ranges like [0, 3e-8] (a fuzzer's seed 4558, int8 scheme).

Such a range used to give an output scale of ~1e-10, and LiteRT's Prepare refused the written file:
"kernel_util.cc:349 no_integer_overflow_from_quantization was not true. Node number 2 (CONV_2D) failed to
prepare" (round(6 / S) of the fused RELU6 does not fit int32). choose_qparams now quantizes ranges no wider
than MIN_RANGE_WIDTH as [0, 1]; the eval model must still equal the integer graph, and LiteRT must run the
saved bytes with identical outputs.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import intq
from intq.qat import QatConfig, calibrate
from intq.scheme.requant import activation_bound_overflow


class _TinyRelu6(nn.Module):
    """conv -> ReLU6 -> conv -> ReLU6: on zero inputs the first conv outputs its bias, a few 1e-8."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 1)
        self.c2 = nn.Conv2d(4, 2, 3, padding=1)
        with torch.no_grad():
            self.c1.bias.copy_(torch.tensor([3e-8, 1e-8, 0.0, 2e-8]))
            self.c2.bias.copy_(torch.tensor([0.1, 0.2]))

    def forward(self, x):
        return F.relu6(self.c2(F.relu6(self.c1(x))))


@pytest.mark.parametrize("scheme", ["int8", "uint8"])
def test_zero_calibrated_model_saves_bytes_litert_runs(scheme, tmp_path):
    oracles = pytest.importorskip("oracles")
    torch.manual_seed(0)
    zeros = torch.zeros(4, 3, 6, 6)
    gm = calibrate(_TinyRelu6().eval(), [zeros], config=QatConfig(scheme=scheme))
    g = intq.convert(gm)
    relu6 = [n for n in g.nodes if n.op == "CONV_2D" and n.options.activation == "RELU6"]
    assert len(relu6) == 2
    for n in relu6:                                   # what LiteRT's Prepare checks (kernel_util.cc Quantize)
        s_out = g.tensor(n.outputs[0]).scale
        assert activation_bound_overflow("RELU6", s_out) is None, (n.name, s_out)
    assert g.tensor(relu6[0].outputs[0]).scale == pytest.approx(1 / 255)    # [0, 3e-8] is degenerate
    intq.save_tflite(g, tmp_path / "m.tflite")
    data = (tmp_path / "m.tflite").read_bytes()
    for x in (zeros[:2], torch.randn(2, 3, 6, 6)):
        with torch.no_grad():
            ref = gm(x).numpy()
        (y,) = intq.Interpreter(g, kernels="reference").run(x.numpy())
        assert np.array_equal(y, ref)                     # the eval model is the integer graph
        (z,) = oracles.run_litert(data, [x.numpy()])      # LiteRT prepares and runs the saved bytes
        assert np.array_equal(z, y)
