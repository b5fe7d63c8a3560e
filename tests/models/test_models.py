"""intq.models: shapes at every supported input size, fx-traceable, and QAT-able with intq.prepare_qat."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from intq.models import MODELS, MobileNetV1, MobileNetV2, build_model
from intq.models.common import num_downsamples

SMALL = {"mobilenet_v1": {"width": 0.25, "depth": 3}, "mobilenet_v2": {"width": 0.25, "stages": 3, "last": 32},
         "resnet": {"base": 4, "blocks": 1}, "inception": {"width": 4}}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("size,channels", [(8, 1), (28, 1), (32, 3)])
def test_shapes_and_trace(name, size, channels):
    torch.manual_seed(0)
    net = build_model(name, channels, 7, size, **SMALL[name]).eval()
    x = torch.rand(3, channels, size, size)
    y = net(x)
    assert y.shape == (3, 7)
    traced = torch.fx.symbolic_trace(net)
    torch.testing.assert_close(traced(x), y)


def test_downsampling_plan():
    assert [num_downsamples(s, 5) for s in (8, 28, 32, 224)] == [1, 2, 3, 5]
    net = MobileNetV1(3, 10, width=0.25, input_size=224)
    feats = net.features(torch.zeros(1, 3, 224, 224))
    assert feats.shape[-1] == 7  # 224 / 32, like the paper's MobileNet
    assert MobileNetV2(3, 10, width=0.35, input_size=224, stages=7).features(torch.zeros(1, 3, 224, 224)).shape[-1] == 7


def test_activation_knob():
    relu = build_model("mobilenet_v1", 1, 10, 8, activation="relu", width=0.25, depth=1)
    assert any(isinstance(m, torch.nn.ReLU) for m in relu.modules())
    assert not any(isinstance(m, torch.nn.ReLU6) for m in relu.modules())
    with pytest.raises(ValueError):
        build_model("mobilenet_v1", 1, 10, 8, activation="gelu")
    with pytest.raises(ValueError):
        build_model("vgg", 1, 10, 8)


def test_v2_has_residual_adds():
    net = build_model("mobilenet_v2", 1, 10, 8, **SMALL["mobilenet_v2"])
    assert any(getattr(m, "residual", False) for m in net.modules())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_qat_prepare_and_convert(name):
    intq = pytest.importorskip("intq")
    torch.manual_seed(0)
    net = build_model(name, 1, 10, 8, **SMALL[name])
    x = torch.rand(8, 1, 8, 8)
    q = intq.prepare_qat(net, x[:2], intq.QatConfig(ema_decay=0.9))
    q.train()
    opt = torch.optim.SGD(q.parameters(), lr=0.01)
    for _ in range(2):
        loss = q(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    q.eval()
    graph = intq.convert(q)
    (logits,) = intq.Interpreter(graph).run(x.numpy())
    assert logits.shape == (8, 10)
    # the eval forward computes what the integer kernels compute: equal outputs
    with torch.no_grad():
        ref = q(x).numpy()
    assert np.array_equal(logits, ref)
    oracles = pytest.importorskip("oracles")
    from intq.io import graph_to_tflite_bytes
    (lite,) = oracles.run_litert(graph_to_tflite_bytes(graph), [x.numpy()])
    # the classifier is a FULLY_CONNECTED: LiteRT's reference FC requantizes in double and can differ by
    # one output LSB on near-ties (README, "Bit-exactness"); every other op is equal
    lsb = graph.tensor([n for n in graph.nodes if n.op == "DEQUANTIZE"][-1].inputs[0]).scale
    assert np.abs(lite - logits).max() <= lsb * 1.001
