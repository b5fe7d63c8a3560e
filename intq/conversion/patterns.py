"""Reading a prepared GraphModule: which quantizer defines each fx value, max-pooling arguments. Imports: torch, intq.

Uses intq.qat.rewrite.node_kind, the same classification prepare_qat placed the quantizers with.
"""
from __future__ import annotations

import torch.fx as fx

from intq.errors import UnsupportedOpError
from intq.qat.observers import ActQuant
from intq.qat.pools import pair
from intq.qat import rewrite
from intq.qat.rewrite import describe, op_name


def output_quant(gm: fx.GraphModule, node: fx.Node) -> ActQuant:
    """The ActQuant that quantizes ``node``'s output (its user, past a fused ADD activation)."""
    q = rewrite.output_quant(gm, node)
    if q is None:
        raise UnsupportedOpError(op_name(gm, node), describe(node), "output has no quantizer (not prepared by intq?)")
    return q


def pool_args(gm: fx.GraphModule, node: fx.Node) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(kernel, stride, padding) of a max pool without ceil_mode / dilation (else UnsupportedOpError)."""
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
    if ceil or pair(dil) != (1, 1):
        raise UnsupportedOpError(op_name(gm, node), describe(node), "pooling with ceil_mode or dilation")
    return pair(k), pair(s), pair(p)
