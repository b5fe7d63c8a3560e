"""QatConfig(scheme="int8"): TFLite's int8 spec end to end (symmetric per-channel weights, int8 activations)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import intq
from intq.errors import QuantizationError
from intq.io import graph_to_tflite_bytes
from intq.models import build_model
from intq.qat import QatConfig, calibrate, prepare_qat
from intq.qat.fake_quant import fake_quant_symmetric
from intq.scheme.qparams import symmetric_scales
from qat.models import FlattenMLP, ResBlock, ResidualConcat, train_a_little

MODELS = {"residual_concat": (ResidualConcat, (3, 16, 16)), "resblock": (ResBlock, (4, 12, 12)),
          "flatten_mlp": (FlattenMLP, (2, 8, 8)),
          "mobilenet_v2": (lambda: build_model("mobilenet_v2", 1, 10, 16, width=0.25), (1, 16, 16))}


def _trained(name, cfg, seed=1):
    factory, shape = MODELS[name]
    torch.manual_seed(seed)
    gm = prepare_qat(factory(), torch.randn(2, *shape), cfg)
    train_a_little(gm, (16, *shape), steps=8, seed=seed)
    return gm.eval(), shape


def test_config_checks():
    with pytest.raises(QuantizationError, match="scheme='int8'"):
        QatConfig(per_channel=True)
    with pytest.raises(QuantizationError, match="activation_bits=8"):
        QatConfig(scheme="int8", activation_bits=4)
    with pytest.raises(QuantizationError, match="'uint8' or 'int8'"):
        QatConfig(scheme="int16")


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_int8_graph_equals_eval_forward_and_litert(name, per_channel):
    oracles = pytest.importorskip("oracles")
    gm, shape = _trained(name, QatConfig(scheme="int8", per_channel=per_channel))
    g = intq.convert(gm)
    for n in g.nodes:
        if n.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w, b = g.tensor(n.inputs[1]), g.tensor(n.inputs[2])
            assert w.dtype == "int8" and np.all(w.quant.zero_point == 0) and w.data.min() >= -127
            assert w.quant.per_channel == (per_channel and w.shape[0 if n.op != "DEPTHWISE_CONV_2D" else 3] > 1)
            if w.quant.per_channel:
                assert w.quant.axis == (3 if n.op == "DEPTHWISE_CONV_2D" else 0)
                assert b.quant.scale.size == w.quant.scale.size
            assert g.tensor(n.outputs[0]).dtype == "int8"
    x = torch.randn(8, *shape)
    with torch.no_grad():
        ref = gm(x).numpy()
    for kernels in ("reference", "fast"):
        (y,) = intq.Interpreter(g, kernels=kernels).run(x.numpy())
        assert np.array_equal(y, ref), kernels
    # LiteRT: every tensor equal, except what FULLY_CONNECTED feeds: LiteRT's reference FC requantizes in
    # double and may differ by one LSB on near-ties (README, "Bit-exactness")
    env = intq.Interpreter(g, kernels="reference").run(x.numpy(), intermediates=True)
    lite = oracles.run_litert(graph_to_tflite_bytes(g), [x.numpy()], all_tensors=True)
    after_fc, seen_fc = set(), False
    for n in g.nodes:
        seen_fc = seen_fc or n.op == "FULLY_CONNECTED"
        if seen_fc:
            after_fc.update(n.outputs)
    compared = 0
    for name_, v in env.items():
        if name_ in lite and name_ not in after_fc:
            assert np.array_equal(np.asarray(v), lite[name_]), name_
            compared += 1
    assert compared > 5
    lsb = g.tensor([n for n in g.nodes if n.op == "DEQUANTIZE"][-1].inputs[0]).scale
    (z,) = oracles.run_litert(graph_to_tflite_bytes(g), [x.numpy()])
    assert np.abs(z - ref).max() <= lsb * 1.001


def test_int8_calibration_and_four_bit_weights():
    model = ResidualConcat().eval()
    gm = calibrate(model, [torch.randn(8, 3, 16, 16)], config=QatConfig(scheme="int8", per_channel=True,
                                                                       weight_bits=4))
    g = intq.convert(gm)
    conv_w = [g.tensor(n.inputs[1]) for n in g.nodes if n.op == "CONV_2D"]
    assert all(np.abs(w.data).max() <= 7 for w in conv_w)
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        ref = gm(x).numpy()
    (y,) = intq.Interpreter(g).run(x.numpy())
    assert np.array_equal(y, ref)


def test_symmetric_fake_quant_codes_and_straight_through_gradient():
    torch.manual_seed(0)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    scales = symmetric_scales(w.detach().abs().flatten(1).amax(1).numpy(), 8)
    y = fake_quant_symmetric(w, scales, 8)
    q = (y.detach() / torch.from_numpy(scales).reshape(-1, 1, 1, 1)).round()
    assert q.abs().max() <= 127 and torch.allclose(q * torch.from_numpy(scales).reshape(-1, 1, 1, 1), y.detach())
    assert (q.flatten(1).abs().amax(1) == 127).all()          # each channel's largest weight is a full code
    y.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))              # every weight lies inside its channel's range


class _PooledConcat(nn.Module):
    """torch.cat of inputs that cannot take the concat's range: pooled, the model input, a shared conv, a concat."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.c, self.c2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(1, 4, 3, padding=1)
        self.mp, self.ap = nn.MaxPool2d(2), nn.AvgPool2d(2)

    def forward(self, x):
        a = self.c(x)
        if self.kind == "max+avg":
            return torch.cat([self.mp(a), self.ap(a)], 1)
        if self.kind == "avg+avg":
            return torch.cat([self.ap(a), self.ap(self.c2(x))], 1)
        if self.kind == "max+avg(other conv)":
            return torch.cat([self.mp(a), self.ap(self.c2(x))], 1)
        return torch.cat([torch.cat([x, a], 1), self.c2(x) + a], 1)   # "input, shared conv, nested concat"


@pytest.mark.parametrize("kind", ["max+avg", "avg+avg", "max+avg(other conv)", "input, shared conv, nested concat"])
def test_int8_concat_inputs_on_other_grids_are_requantized(kind, tmp_path):
    """TFLite's int8 CONCATENATION needs equal input/output parameters: such inputs get QUANTIZE int8->int8."""
    oracles = pytest.importorskip("oracles")
    torch.manual_seed(2)
    cfg = QatConfig(scheme="int8", per_channel=True)
    gm = prepare_qat(_PooledConcat(kind), torch.randn(2, 1, 8, 8), cfg)
    train_a_little(gm, (8, 1, 8, 8), steps=6, seed=2)
    g = intq.convert(gm.eval())
    for n in g.nodes:
        if n.op == "CONCATENATION":
            out = g.tensor(n.outputs[0])
            assert all(g.tensor(t).quant == out.quant for t in n.inputs)
    requant = [n for n in g.nodes if n.op == "QUANTIZE" and g.tensor(n.inputs[0]).dtype == "int8"]
    assert requant and all(g.tensor(n.outputs[0]).dtype == "int8" for n in requant)
    x = torch.randn(16, 1, 8, 8) * 1.5
    with torch.no_grad():
        ref = gm(x).numpy()
    for kernels in ("reference", "fast"):
        (y,) = intq.Interpreter(g, kernels=kernels).run(x.numpy())
        assert np.array_equal(y, ref), kernels
    intq.save_tflite(g, tmp_path / "m.tflite")
    data = (tmp_path / "m.tflite").read_bytes()
    env = intq.Interpreter(g, kernels="reference").run(x.numpy(), intermediates=True)
    lite = oracles.run_litert(data, [x.numpy()], all_tensors=True)
    shared = [t for t in env if t in lite]
    assert len(shared) > 5 and all(np.array_equal(np.asarray(env[t]), lite[t]) for t in shared)
    (z,) = oracles.run_litert(data, [x.numpy()])
    assert np.array_equal(z, ref)


def test_uint8_concat_of_pooled_inputs_keeps_no_requantize():
    gm = calibrate(_PooledConcat("max+avg").eval(), [torch.randn(4, 1, 8, 8)])
    assert intq.convert(gm).op_counts()["QUANTIZE"] == 1   # uint8 CONCATENATION rescales its inputs itself
