"""convert: prepared/calibrated models -> verified integer Graph; intq Interpreter vs fake-quant model vs LiteRT."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import intq
from intq.errors import UnsupportedOpError
from intq.ir import verify
from intq.qat import QatConfig, calibrate, prepare_qat
from qat.models import ConvBnRelu, FlattenMLP, ResidualConcat, train_a_little


def _trained_residual(seed=0):
    torch.manual_seed(seed)
    gm = prepare_qat(ResidualConcat(), torch.randn(2, 3, 16, 16), QatConfig())
    train_a_little(gm, (8, 3, 16, 16), steps=15, seed=seed)
    return gm.eval()


def _trained_graph(model, shape, seed):
    """prepare_qat + a few training steps + eval + convert: (module, graph)."""
    torch.manual_seed(seed)
    gm = prepare_qat(model, torch.randn(2, *shape))
    train_a_little(gm, (8, *shape), steps=6)
    gm.eval()
    return gm, intq.convert(gm)


def _assert_eval_intq_litert_equal(gm, g, x, tmp_path):
    """The eval forward, intq's Interpreter and LiteRT BUILTIN_REF give equal outputs on ``x``."""
    oracles = pytest.importorskip("oracles")
    with torch.no_grad():
        ref = gm(x).numpy()
    (y,) = intq.Interpreter(g).run(x.numpy())
    assert np.array_equal(y, ref)
    intq.save_tflite(g, tmp_path / "m.tflite")
    (z,) = oracles.run_litert((tmp_path / "m.tflite").read_bytes(), [x.numpy()])
    assert np.array_equal(y, z)


def _out_scale(graph):
    deq = [n for n in graph.nodes if n.op == "DEQUANTIZE"][-1]
    return graph.tensor(deq.inputs[0]).scale


def test_residual_concat_graph_structure():
    g = intq.convert(_trained_residual())
    verify(g)
    ops = g.op_counts()
    assert ops["QUANTIZE"] == 1 and ops["DEQUANTIZE"] == 1 and ops["TRANSPOSE"] == 1
    assert ops["CONV_2D"] == 3 and ops["DEPTHWISE_CONV_2D"] == 1 and ops["FULLY_CONNECTED"] == 1
    assert ops["ADD"] == 1 and ops["CONCATENATION"] == 1 and ops["MEAN"] == 1 and ops["MAX_POOL_2D"] == 1
    assert ops["PAD"] == 1   # the stride-2 conv with torch padding 1 on an even input is not TFLite SAME
    assert g.tensor(g.inputs[0]).dtype == "float32" and g.tensor(g.inputs[0]).shape == (2, 3, 16, 16)
    for n in g.nodes:
        if n.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w, b = g.tensor(n.inputs[1]), g.tensor(n.inputs[2])
            assert w.dtype == "uint8" and w.data.min() >= 1          # narrow range [1, 255]
            assert b.dtype == "int32" and b.zero_point == 0
        if n.op == "CONCATENATION":
            assert n.options.axis == 3
            assert len({g.tensor(t).quant for t in n.inputs + n.outputs}) == 1   # concat is a copy
    acts = {n.name: n.options.activation for n in g.nodes if hasattr(n.options, "activation")}
    assert acts["c1"] == "RELU6" and acts["add_0"] == "RELU" and acts["pa"] == "RELU" and acts["pb"] == "NONE"


def test_interpreter_matches_fake_quant_model():
    gm = _trained_residual(1)
    g = intq.convert(gm)
    x = torch.randn(32, 3, 16, 16)
    with torch.no_grad():
        ref = gm(x).numpy()
    for kernels in ("reference", "fast"):
        (y,) = intq.Interpreter(g, kernels=kernels).run(x.numpy())
        # the eval forward simulates every integer kernel (intq.qat.integer_eval): equal floats, not close ones
        assert np.array_equal(y, ref), np.abs(y - ref).max() / _out_scale(g)


def test_model_input_quantization_is_exact():
    """The fake-quantized input equals DEQUANTIZE(QUANTIZE(x)) of the graph bit for bit."""
    gm = _trained_residual(2)
    g = intq.convert(gm)
    x = torch.randn(3, 3, 16, 16)
    env = intq.Interpreter(g, kernels="reference").run(x.numpy(), intermediates=True)
    q_in = g.nodes[0].outputs[0]
    t = g.tensor(q_in)
    real = (env[q_in].astype(np.float32) - t.zero_point) * np.float32(t.scale)
    assert np.array_equal(real, gm.act_quant_0(x).detach().numpy())


def test_litert_reference_equals_intq(tmp_path):
    oracles = pytest.importorskip("oracles")
    g = intq.convert(_trained_residual(3))
    x = torch.randn(4, 3, 16, 16).numpy()
    (y,) = intq.Interpreter(g, kernels="reference").run(x)
    path = tmp_path / "m.tflite"
    intq.save_tflite(g, path)
    (z,) = oracles.run_litert(path.read_bytes(), [x])
    assert np.array_equal(y, z)


@pytest.mark.parametrize("method", ["ema", "minmax"])
def test_calibrated_flatten_mlp(method, tmp_path):
    """PTQ of a float model with a non-1x1 flatten: graph transposes back to NCHW before RESHAPE."""
    torch.manual_seed(4)
    m = FlattenMLP().eval()
    batches = [torch.randn(8, 2, 8, 8) for _ in range(4)]
    gm = calibrate(m, batches, method=method)
    g = intq.convert(gm)
    assert g.op_counts()["TRANSPOSE"] == 2 and g.op_counts()["AVERAGE_POOL_2D"] == 1
    x = batches[0]
    with torch.no_grad():
        ref = gm(x).numpy()
        flo = m(x).numpy()
    (y,) = intq.Interpreter(g, kernels="reference").run(x.numpy())
    assert np.abs(y - ref).max() / _out_scale(g) <= 3.01
    assert np.abs(y - flo).max() < 0.1 * np.abs(flo).max() + 0.05
    oracles = pytest.importorskip("oracles")
    path = tmp_path / "m.tflite"
    intq.save_tflite(g, path)
    (z,) = oracles.run_litert(path.read_bytes(), [x.numpy()])
    assert np.array_equal(y, z)


def test_batch_size_may_change():
    gm = prepare_qat(ConvBnRelu(), torch.randn(1, 3, 8, 8))
    train_a_little(gm, (4, 3, 8, 8), steps=3)
    g = intq.convert(gm)
    (y,) = intq.Interpreter(g, kernels="reference").run(np.random.default_rng(0).normal(size=(5, 3, 8, 8)).astype(np.float32))
    assert y.shape == (5, 8, 8, 8) and y.dtype == np.float32


def test_grouped_conv_converts_to_conv_2d_and_matches_litert(tmp_path):
    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(4, 6, 3, groups=2, padding=1), nn.BatchNorm2d(6)
            self.c2 = nn.Conv2d(6, 6, 1, groups=3)

        def forward(self, x):
            return self.c2(torch.relu(self.bn(self.conv(x))))

    gm, g = _trained_graph(G(), (4, 6, 6), seed=0)
    assert g.op_counts()["CONV_2D"] == 2
    assert g.tensor(g.nodes[2].inputs[1]).shape == (6, 3, 3, 2)      # [O, kh, kw, I / groups]
    _assert_eval_intq_litert_equal(gm, g, torch.randn(3, 4, 6, 6), tmp_path)


def test_convert_rejects_plain_module():
    with pytest.raises(UnsupportedOpError):
        intq.convert(torch.fx.symbolic_trace(ConvBnRelu()))


def test_convert_before_any_data_names_node():
    from intq.errors import QuantizationError
    gm = prepare_qat(ConvBnRelu(), torch.randn(1, 3, 8, 8))
    with pytest.raises(QuantizationError, match="fx node 'x'"):
        intq.convert(gm)


def test_resnet_block_litert(tmp_path):
    from qat.models import ResBlock
    torch.manual_seed(5)
    gm = prepare_qat(ResBlock(), torch.randn(2, 4, 9, 9), QatConfig(freeze_bn_delay=8))
    train_a_little(gm, (8, 4, 9, 9), steps=12)
    g = intq.convert(gm)
    ops = g.op_counts()
    assert ops["CONV_2D"] == 3 and ops["ADD"] == 1 and ops["MEAN"] == 1 and "PAD" not in ops  # odd input: SAME
    x = torch.randn(6, 4, 9, 9)
    (y,) = intq.Interpreter(g, kernels="reference").run(x.numpy())
    with torch.no_grad():
        ref = gm(x).numpy()
    assert np.abs(y - ref).max() / _out_scale(g) <= 3.01
    oracles = pytest.importorskip("oracles")
    intq.save_tflite(g, tmp_path / "r.tflite")
    (z,) = oracles.run_litert((tmp_path / "r.tflite").read_bytes(), [x.numpy()])
    assert np.array_equal(y, z)


def test_low_bit_weights_convert_low_bit_activations_refused():
    from intq.errors import QuantizationError
    gm = calibrate(ConvBnRelu(), [torch.randn(2, 3, 8, 8)], config=QatConfig(weight_bits=4))
    g = intq.convert(gm)
    w = g.tensor(next(n for n in g.nodes if n.op == "CONV_2D").inputs[1])
    assert 1 <= w.data.min() and w.data.max() <= 15
    gm = calibrate(ConvBnRelu(), [torch.randn(2, 3, 8, 8)], config=QatConfig(activation_bits=4))
    with pytest.raises(QuantizationError, match="4-bit"):
        intq.convert(gm)


class _PaddedPools(nn.Module):
    """GoogLeNet-style SAME pools: 3x3/1 max and average (padded taps not counted), 3x3/2 max on an odd input."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.mp = nn.MaxPool2d(3, 1, padding=1)
        self.ap = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        self.down = nn.MaxPool2d(3, 2, padding=1)
        self.fc = nn.Linear(12 * 4 * 4, 4)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = torch.cat([self.mp(y), self.ap(y)], 1)
        return self.fc(torch.flatten(self.down(y), 1))


def test_same_padded_pooling_converts_and_matches_litert(tmp_path):
    gm, g = _trained_graph(_PaddedPools(), (3, 7, 7), seed=5)
    pools = [n for n in g.nodes if n.op in ("MAX_POOL_2D", "AVERAGE_POOL_2D")]
    assert [n.options.padding for n in pools] == ["SAME"] * 3
    _assert_eval_intq_litert_equal(gm, g, torch.randn(5, 3, 7, 7), tmp_path)   # padded average simulated too


def test_padding_that_is_not_same_is_refused_with_the_node():
    gm = calibrate(nn.Sequential(nn.Conv2d(3, 4, 1), nn.MaxPool2d(3, 2, padding=1)), [torch.randn(2, 3, 8, 8)])
    with pytest.raises(UnsupportedOpError, match="neither VALID nor TFLite SAME"):
        intq.convert(gm)


def test_intq_convert_stays_the_function_after_the_package_is_imported():
    import intq.conversion.lower  # noqa: F401  (binds intq.conversion, never intq.convert)
    assert intq.convert is intq.conversion.convert and callable(intq.convert)


class _GlobalContextAdd(nn.Module):
    """x + its global average (an [N, C, 1, 1] operand broadcast over H, W), then ReLU."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.ctx = nn.Conv2d(4, 4, 1)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        y = self.conv(x)
        return torch.relu(y + self.ctx(self.gap(y)))


def test_broadcasting_add_converts_and_matches_litert(tmp_path):
    gm, g = _trained_graph(_GlobalContextAdd(), (3, 6, 6), seed=6)
    add = next(n for n in g.nodes if n.op == "ADD")
    assert [g.tensor(t).shape for t in add.inputs] == [(2, 6, 6, 4), (2, 1, 1, 4)]
    _assert_eval_intq_litert_equal(gm, g, torch.randn(2, 3, 6, 6), tmp_path)


class _StringPaddedConvs(nn.Module):
    """conv (padding 1) -> ReLU -> conv with torch's padding='same' / 'valid' (kernel, dilation, groups)."""

    def __init__(self, kernel, dilation, groups, padding):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.conv = nn.Conv2d(4, 4, kernel, padding=padding, dilation=dilation, groups=groups)

    def forward(self, x):
        return self.conv(torch.relu(self.stem(x)))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel,dilation,groups,padding,mode", [
    (4, 1, 1, "same", "SAME"),    # total padding 3: torch puts 1 before, 2 after, as TFLite SAME at stride 1
    (2, 3, 1, "same", "SAME"),    # dilated: total 3, asymmetric too
    (4, 1, 4, "same", "SAME"),    # depthwise
    (3, 2, 1, "valid", "VALID")])
def test_conv_string_padding_converts_and_matches_float_and_litert(kernel, dilation, groups, padding, mode, tmp_path):
    torch.manual_seed(7)
    m = _StringPaddedConvs(kernel, dilation, groups, padding).eval()
    x = torch.randn(3, 1, 9, 7)
    gm = calibrate(m, [x], method="minmax")
    g = intq.convert(gm)
    conv = [n for n in g.nodes if n.op in ("CONV_2D", "DEPTHWISE_CONV_2D")][-1]
    assert conv.options.padding == mode and "PAD" not in g.op_counts()
    _assert_eval_intq_litert_equal(gm, g, x, tmp_path)
    (y,) = intq.Interpreter(g).run(x.numpy())
    with torch.no_grad():
        f = m(x).numpy()
    assert y.shape == f.shape and np.abs(y - f).max() <= 3 * _out_scale(g)   # geometry as torch's, error ~1 LSB


def test_average_pool_error_names_the_users_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3, padding=1)
            self.mid = nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)   # not TFLite SAME on 8x8

        def forward(self, x):
            return self.mid(self.stem(x))

    class Functional(Net):
        def forward(self, x):
            return F.avg_pool2d(self.stem(x), 3, 2, 1, count_include_pad=False)

    gm = calibrate(Net().eval(), [torch.randn(2, 1, 8, 8)])
    with pytest.raises(UnsupportedOpError, match=r"'AvgPool2d' at fx node 'mid' \(call_module mid\): padding"):
        intq.convert(gm)
    gm = calibrate(Functional().eval(), [torch.randn(2, 1, 8, 8)])
    with pytest.raises(UnsupportedOpError, match=r"'avg_pool2d' at fx node 'avg_pool2d' \(call_function"):
        intq.convert(gm)


def test_nan_weights_raise_a_quantization_error_naming_the_node():
    """Training that diverged (NaN weights): convert raises intq's QuantizationError with the fx node, not the
    RuntimeError torch's ShapeProp wraps it in."""
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    x = torch.randn(4, 1, 4, 4)
    qm = intq.calibrate(m.eval(), [x])
    with torch.no_grad():
        qm.get_submodule("3.linear").weight.fill_(float("nan"))
    with pytest.raises(intq.errors.QuantizationError, match=r"finite.*at fx node '_3'"):
        intq.convert(qm)
