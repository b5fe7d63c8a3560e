"""Reading a prepared GraphModule: which quantizer defines each fx value, pooling arguments. Imports: torch, intq.

Uses intq.qat.rewrite.node_kind, the same classification prepare_qat placed the quantizers with.
"""
from __future__ import annotations

import torch
import torch.fx as fx
import torch.nn.functional as F

from intq.errors import UnsupportedOpError
from intq.qat.observers import ActQuant
from intq.qat.rewrite import describe, node_kind, op_name


def output_quant(gm: fx.GraphModule, node: fx.Node) -> ActQuant:
    """The ActQuant that quantizes ``node``'s output (its user, past a fused ADD activation)."""
    cur = node
    if node_kind(gm, node) == "add":
        users = list(node.users)
        if len(users) == 1 and node_kind(gm, users[0]) == "act":
            cur = users[0]
    for user in cur.users:
        if node_kind(gm, user) == "quant":
            return gm.get_submodule(user.target)
    raise UnsupportedOpError(op_name(gm, node), describe(node), "output has no quantizer (not prepared by intq?)")


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def pool_args(gm: fx.GraphModule, node: fx.Node) -> tuple[tuple[int, int], tuple[int, int]]:
    """(kernel, stride) of a max / average pool with zero padding (else UnsupportedOpError)."""
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        k, s, p = m.kernel_size, m.stride, m.padding
        ceil = m.ceil_mode
        dil = getattr(m, "dilation", 1)
    else:
        names = ("input", "kernel_size", "stride", "padding")
        vals = dict(zip(names, node.args))
        vals.update(node.kwargs)
        k, s, p = vals["kernel_size"], vals.get("stride"), vals.get("padding", 0)
        ceil, dil = vals.get("ceil_mode", False), vals.get("dilation", 1)
        s = s if s not in (None, []) else k
    if _pair(p) != (0, 0) or ceil or _pair(dil) != (1, 1):
        raise UnsupportedOpError(op_name(gm, node), describe(node), "pooling needs padding 0, no ceil_mode/dilation")
    return _pair(k), _pair(s)


def is_global_mean(gm: fx.GraphModule, node: fx.Node) -> bool:
    """adaptive average pooling to 1x1 or mean over the two spatial dims of an NCHW tensor."""
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        if isinstance(m, torch.nn.AdaptiveAvgPool2d):
            return _pair(m.output_size) == (1, 1) if m.output_size is not None else False
        return False
    if node.target is F.adaptive_avg_pool2d:
        size = node.args[1] if len(node.args) > 1 else node.kwargs.get("output_size")
        return _pair(size) == (1, 1)
    if node.target in (torch.mean, "mean"):
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
        return sorted(d % 4 for d in dims) == [2, 3]
    return False
