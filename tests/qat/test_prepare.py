"""torch.fx prepare_qat: fusion, quantizer placement, unsupported ops, schedule, calibrate (intq.qat.prepare)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import intq
from intq.errors import QuantizationError, UnsupportedOpError
from intq.qat import QatConfig, calibrate, enable_fake_quant, freeze_observers, prepare_qat
from intq.qat.add import QAdd
from intq.qat.fused import QConv2d, QLinear
from intq.qat.observers import ActQuant
from intq.qat.pools import QAvgPool2d

from .models import ConvBnRelu, FlattenMLP, ResidualConcat


def _calls(gm):
    return [(n.op, n.target, dict(n.kwargs)) for n in gm.graph.nodes if n.op == "call_module"]


def test_conv_bn_relu_fused():
    m = ConvBnRelu()
    gm = prepare_qat(m, torch.randn(1, 3, 8, 8))
    assert isinstance(gm, torch.fx.GraphModule)
    kinds = [type(gm.get_submodule(t)).__name__ for _, t, _ in _calls(gm)]
    assert kinds == ["ActQuant", "QConv2d", "ActQuant"]
    conv = gm.get_submodule("conv")
    assert conv.activation == "RELU" and conv.bn is not None
    assert not any(isinstance(x, nn.BatchNorm2d) for n, x in gm.named_children())
    assert isinstance(m.conv, nn.Conv2d)                      # the float model is untouched


@pytest.mark.parametrize("bounds", ["positional", "keywords", "module", "other"])
def test_hardtanh_0_6_is_fused_as_relu6(bounds):
    """F.hardtanh(x, 0.0, 6.0) (positional or keyword bounds) and nn.Hardtanh(0, 6) fuse as RELU6; other
    bounds are no activation the integer graph has."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.ht = nn.Conv2d(3, 4, 3, padding=1), nn.Hardtanh(0.0, 6.0)

        def forward(self, x):
            y = self.conv(x)
            if bounds == "positional":
                return torch.nn.functional.hardtanh(y, 0.0, 6.0)
            if bounds == "keywords":
                return torch.nn.functional.hardtanh(y, min_val=0.0, max_val=6.0)
            if bounds == "module":
                return self.ht(y)
            return torch.nn.functional.hardtanh(y, -1.0, 1.0)

    if bounds == "other":
        with pytest.raises(UnsupportedOpError, match="hardtanh"):
            prepare_qat(Net(), torch.randn(1, 3, 6, 6))
        return
    gm = prepare_qat(Net(), torch.randn(1, 3, 6, 6))
    assert gm.get_submodule("conv").activation == "RELU6"


def test_node_kind_reads_positional_hardtanh_bounds():
    """symbolic_trace passes F.hardtanh's bounds as keywords; a graph built by hand may pass them positionally
    (args = (x, min_val, max_val)), which node_kind reads as well."""
    from intq.qat.rewrite import node_kind
    g = torch.fx.Graph()
    x = g.placeholder("x")
    relu6 = g.call_function(torch.nn.functional.hardtanh, (x, 0.0, 6.0))
    other = g.call_function(torch.nn.functional.hardtanh, (x, -1.0, 1.0))
    g.output((relu6, other))
    gm = torch.fx.GraphModule(torch.nn.Module(), g)
    assert (node_kind(gm, relu6), node_kind(gm, other)) == ("act", "unsupported")


def test_top_level_api_names():
    assert intq.QatConfig is QatConfig and intq.prepare_qat is prepare_qat and intq.calibrate is calibrate


def test_residual_concat_placement():
    gm = prepare_qat(ResidualConcat(), torch.randn(2, 3, 16, 16))
    calls = _calls(gm)
    mods = {t: gm.get_submodule(t) for _, t, _ in calls}
    assert isinstance(mods["c1"], QConv2d) and mods["c1"].activation == "RELU6"
    assert isinstance(mods["dw"], QConv2d) and mods["dw"].conv.groups == 8
    assert isinstance(mods["fc"], QLinear)
    # concat producers (pa, pb) reuse the concat's quantizer without observing; gap re-quantizes on it
    shared = [(t, kw) for _, t, kw in calls if kw.get("observe") is False]
    assert len(shared) == 3 and len({t for t, _ in shared}) == 1
    nodes = {n.name: n for n in gm.graph.nodes}
    add = nodes["relu"].args[0]                             # ReLU after add stays fused before the add's quantizer
    assert add.op == "call_module" and isinstance(gm.get_submodule(add.target), QAdd)
    assert any(isinstance(m, QAvgPool2d) and m.kind == "mean" for m in gm.modules())
    n_quant = sum(isinstance(m, ActQuant) for m in gm.modules())
    assert n_quant == 6  # input, c1, dw, add, cat, fc


def test_unsupported_op_names_node():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            return torch.sigmoid(self.conv(x))

    with pytest.raises(UnsupportedOpError, match="sigmoid") as e:
        prepare_qat(Bad(), torch.randn(1, 3, 4, 4))
    assert "fx node 'sigmoid'" in str(e.value)


def test_unsupported_module_names_node():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.gelu = nn.GELU()

        def forward(self, x):
            return self.gelu(self.fc(x))

    with pytest.raises(UnsupportedOpError, match="GELU.*gelu"):
        prepare_qat(Bad(), torch.randn(1, 3))


def test_schedule_and_state_dict():
    cfg = QatConfig(quant_delay=2, freeze_bn_delay=3)
    gm = prepare_qat(ConvBnRelu(), torch.randn(1, 3, 8, 8), cfg).train()
    x = torch.randn(2, 3, 8, 8)
    ref = gm.conv.conv.weight.detach().clone()
    gm(x)
    assert not gm.conv.quant_active() or int(gm.conv.step) > 2
    for _ in range(3):
        gm(x)
    assert int(gm.conv.step) == 4 and bool(gm.conv.bn_frozen) and gm.conv.quant_active()
    sd = gm.state_dict()
    assert "act_quant_0.min_val" in sd and "conv.step" in sd and "conv.bn.running_var" in sd
    assert torch.equal(gm.conv.conv.weight, ref)


def test_switches():
    gm = prepare_qat(ConvBnRelu(), torch.randn(1, 3, 8, 8)).train()
    x = torch.randn(2, 3, 8, 8)
    gm(x)
    freeze_observers(gm)
    lo = float(gm.act_quant_0.min_val)
    gm(x * 10)
    assert float(gm.act_quant_0.min_val) == lo
    enable_fake_quant(gm, False)
    gm.eval()
    y = gm(x)
    w, b = gm.conv.folded_weight_and_bias()
    assert torch.allclose(y, torch.relu(torch.nn.functional.conv2d(x, w, b, padding=1)))


@pytest.mark.parametrize("method", ["ema", "minmax"])
def test_calibrate_float_model(method):
    torch.manual_seed(0)
    m = FlattenMLP().eval()
    batches = [torch.randn(4, 2, 8, 8) for _ in range(3)]
    gm = calibrate(m, batches, method=method)
    assert not gm.training
    q = gm.act_quant_0
    lo = min(float(b.min()) for b in batches)
    if method == "minmax":
        assert float(q.min_val) == lo
    else:
        assert lo < float(q.min_val) < 0
    assert int(q.step) == 0


def test_calibrate_needs_batches():
    with pytest.raises(ValueError):
        calibrate(FlattenMLP(), [])


def test_non_finite_activations_are_refused_naming_the_quantizer():
    x = torch.randn(4, 3, 8, 8)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(QuantizationError, match=r"act_quant_0 \(output of fx node 'x'\) observed non-finite"):
        calibrate(ConvBnRelu().eval(), [x])
    gm = prepare_qat(ConvBnRelu(), torch.randn(2, 3, 8, 8))
    gm.train()
    with pytest.raises(QuantizationError, match="non-finite"):
        gm(torch.full((2, 3, 8, 8), float("inf")))


class _LinearOverWidth(nn.Module):
    """Linear(8, out) on a [N, 4, 8, 8] conv output: valid torch (maps the last axis), no FULLY_CONNECTED."""

    def __init__(self, out_features: int):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(8, out_features)

    def forward(self, x):
        return self.fc(self.conv(x))


@pytest.mark.parametrize("out_features", [4, 3])   # 4 == channels: the eval forward used to give garbage
def test_linear_on_a_4d_activation_is_refused_naming_the_module(out_features):
    x = torch.randn(2, 1, 8, 8)
    for make in (lambda: prepare_qat(_LinearOverWidth(out_features), x),
                 lambda: calibrate(_LinearOverWidth(out_features).eval(), [x])):
        with pytest.raises(UnsupportedOpError, match=r"'Linear' at fx node 'fc'.*\[2, 4, 8, 8\].*2-D \[N, features\]"):
            make()


def test_linear_after_flatten_still_prepares_and_bn_statistics_stay_untouched():
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    before = m[1].running_mean.clone()
    gm = prepare_qat(m, torch.randn(2, 1, 8, 8) + 5.0)   # the shape check runs the example in eval mode
    assert gm.training and torch.equal(gm.get_submodule("0").bn.running_mean, before)


def test_example_that_does_not_run_is_refused():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(intq.errors.InputError, match=r"example_inputs of shapes \[\(1, 3, 8, 8\)\].*mat1"):
        prepare_qat(m, torch.randn(1, 3, 8, 8))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv_string_padding_prepares(padding):
    gm = prepare_qat(nn.Sequential(nn.Conv2d(1, 4, 4, padding=padding)), torch.randn(1, 1, 8, 8))
    assert isinstance(gm.get_submodule("0"), QConv2d)


def test_conv_non_zero_padding_mode_is_refused_by_name():
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(UnsupportedOpError, match="padding_mode='reflect': only zero padding"):
        prepare_qat(m, torch.randn(1, 1, 8, 8))


class _SharedConv(nn.Module):
    """One Conv2d called twice, a ReLU after the first call only (the rewrite fused that ReLU into the module,
    so the second call clamped too)."""

    def __init__(self, shared: str):
        super().__init__()
        self.c, self.bn = nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2)
        self.shared = shared

    def forward(self, x):
        if self.shared == "conv":
            return self.c(F.relu(self.c(x)))
        return self.bn(self.c(x)) + self.bn(x)


@pytest.mark.parametrize("shared", ["conv", "bn"])
def test_a_layer_called_twice_is_refused_naming_both_calls(shared):
    x = torch.randn(2, 2, 3, 3)
    name = {"conv": "Conv2d", "bn": "BatchNorm2d"}[shared]
    target = {"conv": "c", "bn": "bn"}[shared]
    for make in (lambda: prepare_qat(_SharedConv(shared), x), lambda: calibrate(_SharedConv(shared).eval(), [x])):
        with pytest.raises(UnsupportedOpError, match=rf"'{name}' at fx node '{target}_1'.*'{target}' is called at 2 "
                                                    rf"places \(fx nodes '{target}', '{target}_1'\)"):
            make()
