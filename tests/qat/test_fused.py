"""BN folding with correction and freeze, weight fake quant of fused layers (intq.qat.fused) vs hand and torch.ao."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from intq.qat.fake_quant import fake_quant, qparams_for
from intq.qat.fused import QConv2d, QLinear
from intq.qat.switches import enable_fake_quant, freeze_bn


def _conv_bn(seed=0, groups=1, cin=4, cout=6):
    torch.manual_seed(seed)
    conv = torch.nn.Conv2d(cin, cout, 3, padding=1, groups=groups, bias=False)
    bn = torch.nn.BatchNorm2d(cout, momentum=0.1)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 2.0)
    return conv, bn


def test_folded_weight_and_bias_by_hand():
    conv, bn = _conv_bn()
    m = QConv2d(conv, bn, "NONE")
    w, b = m.folded_weight_and_bias()
    sf = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    assert torch.allclose(w, conv.weight * sf[:, None, None, None])
    assert torch.allclose(b, bn.bias - bn.running_mean * sf)


def test_eval_is_the_inference_graph():
    """Eval: relu6(conv(x, fq(w_fold)) + b_fold), weights last-value min/max narrow range."""
    conv, bn = _conv_bn()
    m = QConv2d(conv, bn, "RELU6").eval()
    x = torch.randn(2, 4, 5, 5)
    w, b = m.folded_weight_and_bias()
    wq = fake_quant(w, qparams_for(float(w.detach().min()), float(w.detach().max()), 8, narrow_range=True))
    want = F.hardtanh(F.conv2d(x, wq, b, padding=1), 0.0, 6.0)
    assert torch.equal(m(x), want)


def test_training_correction_equals_bn_with_batch_stats():
    """Before freeze: out = y*sigma_mv/sigma_B + beta - gamma*mu_B/sigma_B, y = conv(x, fq(w_fold)) (TF form)."""
    conv, bn = _conv_bn(1)
    m = QConv2d(conv, copy.deepcopy(bn), "NONE").train()
    x = torch.randn(8, 4, 6, 6)
    w_fold, _ = m.folded_weight_and_bias()
    wq = fake_quant(w_fold, qparams_for(float(w_fold.detach().min()), float(w_fold.detach().max()), 8, narrow_range=True))
    y = F.conv2d(x, wq, None, padding=1)
    sf = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    y0 = y / sf[None, :, None, None]
    mu_b = y0.mean((0, 2, 3))
    var_b = y0.var((0, 2, 3), unbiased=False)
    sigma_b, sigma_mv = torch.sqrt(var_b + bn.eps), torch.sqrt(bn.running_var + bn.eps)
    want = y * (sigma_mv / sigma_b)[None, :, None, None] + (bn.bias - bn.weight * mu_b / sigma_b)[None, :, None, None]
    got = m(x)
    assert torch.allclose(got, want, atol=1e-5)
    # running stats were updated with momentum 0.1 and the unbiased batch variance (BatchNorm2d's rule)
    n = y0.numel() / y0.shape[1]
    assert torch.allclose(m.bn.running_mean, 0.9 * bn.running_mean + 0.1 * mu_b, atol=1e-6)
    assert torch.allclose(m.bn.running_var, 0.9 * bn.running_var + 0.1 * var_b * n / (n - 1), atol=1e-5)


def test_freeze_bn_delay_switches_to_moving_stats_and_stops_updates():
    conv, bn = _conv_bn(2)
    m = QConv2d(conv, bn, "RELU", freeze_bn_delay=1).train()
    x = torch.randn(4, 4, 5, 5)
    m(x)                                                       # step 1: batch stats, stats updated
    rm = m.bn.running_mean.clone()
    out = m(x)                                                 # step 2 > 1: frozen
    assert bool(m.bn_frozen)
    assert torch.equal(m.bn.running_mean, rm)
    m.eval()
    assert torch.equal(out, m(x))                              # frozen training == inference


def test_quant_delay_on_weights():
    conv, bn = _conv_bn(3)
    m = QConv2d(conv, bn, "NONE", quant_delay=1).train()
    freeze_bn(m)
    x = torch.randn(2, 4, 5, 5)
    w, b = m.folded_weight_and_bias()
    assert torch.equal(m(x), F.conv2d(x, w, b, padding=1))     # step 1: float weights
    assert not torch.equal(m(x), F.conv2d(x, w, b, padding=1))  # step 2: quantized


def test_agrees_with_torch_ao_convbn2d():
    """torch.ao ConvBn2d._forward_approximate has the same algebra; with fake quant off both give BN(conv)."""
    from torch.ao.nn.intrinsic.qat import ConvBn2d
    from torch.ao.quantization import get_default_qat_qconfig
    conv, bn = _conv_bn(4)
    theirs = ConvBn2d(4, 6, 3, padding=1, bias=False, qconfig=get_default_qat_qconfig("fbgemm"))
    with torch.no_grad():
        theirs.weight.copy_(conv.weight)
        theirs.bn.load_state_dict(bn.state_dict())
    theirs.weight_fake_quant.disable_fake_quant()
    ours = enable_fake_quant(QConv2d(copy.deepcopy(conv), copy.deepcopy(bn), "NONE"), False)
    x = torch.randn(8, 4, 6, 6)
    theirs.train(), ours.train()
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    assert torch.allclose(ours.bn.running_var, theirs.bn.running_var, atol=1e-6)
    theirs.freeze_bn_stats()
    freeze_bn(ours)
    x = torch.randn(8, 4, 6, 6)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    ours.eval(), theirs.eval()
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_depthwise_fold_and_gradients_flow():
    conv, bn = _conv_bn(5, groups=4, cin=4, cout=8)
    m = QConv2d(conv, bn, "RELU6").train()
    x = torch.randn(2, 4, 5, 5)
    m(x).sum().backward()
    assert conv.weight.grad is not None and bn.weight.grad is not None and bn.bias.grad is not None


def test_linear_relu():
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 3)
    m = QLinear(lin, "RELU").eval()
    x = torch.randn(4, 5)
    wq = fake_quant(lin.weight, qparams_for(float(lin.weight.detach().min()), float(lin.weight.detach().max()), 8, True))
    assert torch.equal(m(x), F.relu(F.linear(x, wq, lin.bias)))
