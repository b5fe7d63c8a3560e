"""Lower a prepared (trained or calibrated) GraphModule to an intq.Graph, uint8 inside. Imports: torch, intq.

float32 NCHW input -> QUANTIZE -> TRANSPOSE [0,2,3,1] -> NHWC uint8 ops -> (TRANSPOSE back) -> DEQUANTIZE.
"""
from __future__ import annotations

import re

import numpy as np
import torch
import torch.fx as fx
from torch.fx.passes.shape_prop import ShapeProp

from intq.conversion import fold
from intq.conversion.patterns import output_quant, pool_args
from intq.errors import IntqError, QuantizationError, UnsupportedOpError
from intq.ir import Graph, verify
from intq.ir.ops import options_for
from intq.ir.tensor import Quantization
from intq.qat.fused import QConv2d, QLinear
from intq.qat.pools import QAvgPool2d
from intq.qat.rewrite import describe, node_kind, op_name
from intq.scheme.qparams import QParams

TO_NHWC, TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)


def _quant(qp: QParams) -> Quantization:
    return Quantization.per_tensor(qp.scale, qp.zero_point)


def _broadcast(a, b) -> tuple | None:
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        return None


class _Lowering:
    def __init__(self, gm: fx.GraphModule):
        self.gm, self.g = gm, Graph(name=type(gm).__name__)
        cfg = getattr(gm, "intq_config", None)
        self.dtype = "int8" if cfg is not None and cfg.scheme == "int8" else "uint8"   # activations
        self.env: dict[fx.Node, str] = {}   # fx value -> graph tensor name (NHWC when rank 4)

    # --- helpers --------------------------------------------------------------------------------
    def shape(self, node: fx.Node) -> tuple[int, ...]:
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            raise UnsupportedOpError(op_name(self.gm, node), describe(node), "output is not a single tensor")
        s = tuple(int(d) for d in meta.shape)
        return (s[0], s[2], s[3], s[1]) if len(s) == 4 else s

    def act(self, node: fx.Node, shape, q: Quantization, base: str | None = None) -> str:
        return self.g.add_tensor(self.g.unique_name(base or node.name), shape, self.dtype, q)

    def const(self, base: str, data: np.ndarray, q: Quantization | None = None) -> str:
        return self.g.add_constant(self.g.unique_name(base), data, q)

    def transpose(self, x: str, perm, base: str) -> str:
        t = self.g.tensor(x)
        out = self.g.add_tensor(self.g.unique_name(base), tuple(t.shape[i] for i in perm), t.dtype, t.quant)
        self.g.add_node("TRANSPOSE", (x, self.const(base + "_perm", np.array(perm, np.int32))), (out,))
        return out

    def qp_of(self, quantizer, node: fx.Node) -> QParams:
        if not bool(quantizer.initialized):
            raise QuantizationError(f"{describe(node)}: its activation quantizer never observed data; "
                                    "train or calibrate before convert")
        if quantizer.num_bits != 8:
            raise QuantizationError(f"{describe(node)}: {quantizer.num_bits}-bit activations cannot be exported: "
                                    "8-bit kernels clamp to the 8-bit range, not to the n-bit grid")
        return quantizer.code_qparams()

    def out_qp(self, node: fx.Node) -> QParams:
        return self.qp_of(output_quant(self.gm, node), node)

    def src(self, node: fx.Node, i: int = 0) -> str:
        return self.env[node.args[i]]

    def culprit(self, node: fx.Node) -> tuple[str, str]:
        """(op, where) for an error about ``node``: the user's pooling module for a QAvgPool2d prepare_qat made."""
        m = self.gm.get_submodule(node.target) if node.op == "call_module" else None
        origin = getattr(m, "origin", None) if isinstance(m, QAvgPool2d) else None
        return origin if origin is not None else (op_name(self.gm, node), describe(node))

    def pool_padding(self, node: fx.Node, xt, kernel, stride, pad) -> str:
        """'VALID' or 'SAME' for torch's symmetric pooling padding; TFLite pools have no explicit padding.

        SAME pooling skips the padded taps, as torch's max pooling (-inf padding) and average pooling with
        count_include_pad=False do.
        """
        mode, explicit = fold.conv_padding(xt.shape[1:3], kernel, stride, (1, 1), tuple(pad))
        if explicit is not None:
            raise UnsupportedOpError(*self.culprit(node),
                                     f"padding {tuple(pad)} is neither VALID nor TFLite SAME on a "
                                     f"{xt.shape[1]}x{xt.shape[2]} input")
        return mode

    # --- ops -----------------------------------------------------------------------------------
    def placeholder(self, node: fx.Node, shape) -> None:
        qp = self.out_qp(node)
        x = self.g.add_tensor(self.g.unique_name(node.name), shape, "float32")
        self.g.inputs.append(x)
        q = self.g.add_tensor(self.g.unique_name(node.name + "_q"), shape, self.dtype, _quant(qp))
        self.g.add_node("QUANTIZE", (x,), (q,))
        self.env[node] = self.transpose(q, TO_NHWC, node.name + "_nhwc") if len(shape) == 4 else q

    def layer(self, node: fx.Node) -> None:
        m = self.gm.get_submodule(node.target)
        if not isinstance(m, (QConv2d, QLinear)):
            raise UnsupportedOpError(type(m).__name__, describe(node), "layer was not fused by prepare_qat")
        x = self.src(node)
        xt = self.g.tensor(x)
        out_q = _quant(self.out_qp(node))
        depthwise = isinstance(m, QConv2d) and m.conv.groups == m.conv.in_channels and m.conv.groups > 1
        w_codes, wq = fold.quantized_weight(m, axis=3 if depthwise else 0)   # TFLite depthwise: [1, kh, kw, C]
        b_i32, b_q = fold.quantized_bias(m, xt.scale, wq.scale)
        b = self.const(node.name + "_bias", b_i32, b_q)
        out = self.act(node, self.shape(node), out_q)
        if isinstance(m, QLinear):
            if len(xt.shape) != 2:
                raise UnsupportedOpError("Linear", describe(node), "input must be [N, features]")
            w = self.const(node.name + "_weights", w_codes, wq)
            self.g.add_node("FULLY_CONNECTED", (x, w, b), (out,), options_for("FULLY_CONNECTED", activation=m.activation),
                            node.name)
            self.env[node] = out
            return
        c = m.conv
        padding = c.padding if isinstance(c.padding, str) else tuple(c.padding)   # 'same' / 'valid' or numbers
        pad, explicit = fold.conv_padding(xt.shape[1:3], c.kernel_size, c.stride, c.dilation, padding)
        if explicit is not None:
            paddings = np.array([[0, 0], [explicit[0]] * 2, [explicit[1]] * 2, [0, 0]], np.int32)
            shp = (xt.shape[0], xt.shape[1] + 2 * explicit[0], xt.shape[2] + 2 * explicit[1], xt.shape[3])
            padded = self.act(node, shp, xt.quant, node.name + "_pad")
            self.g.add_node("PAD", (x, self.const(node.name + "_paddings", paddings)), (padded,))
            x = padded
        geo = dict(padding=pad, stride_h=c.stride[0], stride_w=c.stride[1], dilation_h=c.dilation[0],
                   dilation_w=c.dilation[1], activation=m.activation)
        if depthwise:
            w = self.const(node.name + "_filter", fold.depthwise(w_codes), wq)
            self.g.add_node("DEPTHWISE_CONV_2D", (x, w, b), (out,), options_for(
                "DEPTHWISE_CONV_2D", depth_multiplier=c.out_channels // c.in_channels, **geo), node.name)
        else:   # groups == 1, or grouped: CONV_2D with filter [O, kh, kw, I / groups] (TFLite's grouped conv)
            w = self.const(node.name + "_filter", fold.ohwi(w_codes), wq)
            self.g.add_node("CONV_2D", (x, w, b), (out,), options_for("CONV_2D", **geo), node.name)
        self.env[node] = out

    def add(self, node: fx.Node) -> None:
        users = list(node.users)
        activation = "NONE"
        if len(users) == 1 and node_kind(self.gm, users[0]) == "act":
            from intq.qat.rewrite import activation_name
            activation = activation_name(self.gm, users[0])
        a, b = self.src(node, 0), self.src(node, 1)
        sa, sb = self.g.tensor(a).shape, self.g.tensor(b).shape
        if len(sa) != len(sb) or _broadcast(sa, sb) != tuple(self.shape(node)):
            raise UnsupportedOpError("add", describe(node), f"operands {list(sa)} and {list(sb)} (NHWC) do not "
                                     "broadcast to the output in the integer graph's layout")
        out = self.act(node, self.shape(node), _quant(self.out_qp(node)))
        self.g.add_node("ADD", (a, b), (out,), options_for("ADD", activation=activation), node.name)
        self.env[node] = out
        if activation != "NONE":
            self.env[users[0]] = out

    def cat(self, node: fx.Node) -> None:
        ins = [self.env[a] for a in node.args[0]]
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        shape = self.shape(node)
        rank = len(shape)
        dim %= rank
        axis = {0: 0, 1: 3, 2: 1, 3: 2}[dim] if rank == 4 else dim
        out = self.act(node, shape, _quant(self.out_qp(node)))
        self.g.add_node("CONCATENATION", ins, (out,), options_for("CONCATENATION", axis=axis), node.name)
        self.env[node] = out

    def passthrough(self, node: fx.Node) -> None:
        x = self.src(node)
        xt = self.g.tensor(x)
        kind_mod = self.gm.get_submodule(node.target) if node.op == "call_module" else None
        is_pool = isinstance(kind_mod, torch.nn.MaxPool2d) or node.target is torch.nn.functional.max_pool2d
        out_shape = self.shape(node)
        if is_pool:
            (kh, kw), (sh, sw), pad = pool_args(self.gm, node)
            out = self.act(node, out_shape, xt.quant)
            self.g.add_node("MAX_POOL_2D", (x,), (out,), options_for(
                "MAX_POOL_2D", padding=self.pool_padding(node, xt, (kh, kw), (sh, sw), pad), stride_h=sh, stride_w=sw,
                filter_h=kh, filter_w=kw), node.name)
        elif tuple(out_shape) == tuple(xt.shape):
            out = x   # dropout, identity, contiguous, a no-op view
        elif len(out_shape) == 2 and len(xt.shape) == 4:
            if xt.shape[1] * xt.shape[2] != 1:
                x = self.transpose(x, TO_NCHW, node.name + "_nchw")   # torch flattens C, H, W in that order
            out = self.act(node, out_shape, xt.quant)
            self.g.add_node("RESHAPE", (x, self.const(node.name + "_shape", np.array([-1, out_shape[1]], np.int32))),
                            (out,), options_for("RESHAPE", new_shape=(-1, out_shape[1])), node.name)
        elif len(out_shape) == len(xt.shape) == 2:
            out = x
        else:
            raise UnsupportedOpError(op_name(self.gm, node), describe(node),
                                     f"reshape {list(xt.shape)} -> {list(out_shape)} is not supported")
        self.env[node] = out

    def requant(self, node: fx.Node) -> None:
        m = self.gm.get_submodule(node.target) if node.op == "call_module" else None
        if not isinstance(m, QAvgPool2d):
            raise UnsupportedOpError(op_name(self.gm, node), describe(node), "only global average pooling and "
                                     "average pooling without ceil_mode / divisor_override, with padding only when "
                                     "count_include_pad=False, map to integer ops")
        x = self.src(node)
        out = self.act(node, self.shape(node), self.g.tensor(x).quant)
        if m.kind == "mean":
            axes = self.const(node.name + "_axes", np.array([1, 2], np.int32))
            self.g.add_node("MEAN", (x, axes), (out,), options_for("MEAN", keep_dims=m.keep_dims), node.name)
        else:
            (kh, kw), (sh, sw) = m.kernel_size, m.stride
            pad = self.pool_padding(node, self.g.tensor(x), m.kernel_size, m.stride, m.padding)
            self.g.add_node("AVERAGE_POOL_2D", (x,), (out,), options_for(
                "AVERAGE_POOL_2D", padding=pad, stride_h=sh, stride_w=sw, filter_h=kh, filter_w=kw), node.name)
        self.env[node] = out

    def quant(self, node: fx.Node, quantizer=None) -> None:
        """``node``'s input on ``quantizer``'s grid (default: the ActQuant ``node`` calls)."""
        x = self.src(node)
        qp = _quant(self.qp_of(quantizer or self.gm.get_submodule(node.target), node))
        xt = self.g.tensor(x)
        if xt.quant == qp:
            self.env[node] = x
            return
        out = self.act(node, xt.shape, qp)   # a range the producer did not take: requantize (QUANTIZE q -> q')
        self.g.add_node("QUANTIZE", (x,), (out,), name=node.name)
        self.env[node] = out

    def requantize(self, node: fx.Node) -> None:
        """QRequantize (concat input on another grid): int8, QUANTIZE int8 -> int8 onto the concat's quantizer;
        uint8, nothing (the CONCATENATION rescales the input, in float32, as the module's eval forward does)."""
        m = self.gm.get_submodule(node.target)
        if m.target is None:
            raise UnsupportedOpError("QRequantize", describe(node), "not linked to a quantizer (not prepared by intq?)")
        if m.rescaled_by_concat:
            self.env[node] = self.src(node)
            return
        self.quant(node, m.target)

    def output(self, node: fx.Node) -> None:
        args = node.args[0]
        results = args if isinstance(args, (tuple, list)) else (args,)
        for i, r in enumerate(results):
            x = self.env[r]
            if len(self.g.tensor(x).shape) == 4:
                x = self.transpose(x, TO_NCHW, f"output_{i}_nchw")
            t = self.g.tensor(x)
            y = self.g.add_tensor(self.g.unique_name(f"output_{i}"), t.shape, "float32")
            self.g.add_node("DEQUANTIZE", (x,), (y,))
            self.g.outputs.append(y)


def lower(gm: fx.GraphModule) -> Graph:
    """The integer graph of a prepared module (put in eval mode); verified before it is returned."""
    shapes = getattr(gm, "intq_input_shapes", None)
    if shapes is None:
        raise UnsupportedOpError(type(gm).__name__, "intq.convert", "model was not made by intq.prepare_qat/calibrate")
    gm.eval()
    with torch.no_grad():
        try:
            ShapeProp(gm).propagate(*[torch.zeros(s) for s in shapes])
        except RuntimeError as e:          # ShapeProp wraps what a node raised: intq's own errors pass through
            cause = e.__cause__
            if isinstance(cause, QuantizationError):          # e.g. a NaN range: say at which node
                found = re.search(r"node=%(\S+)", str(e))
                raise QuantizationError(f"{cause} (at fx node {found.group(1)!r})" if found else str(cause)) from None
            if isinstance(cause, IntqError):
                raise cause from None
            raise
    lw = _Lowering(gm)
    inputs = iter(shapes)
    for node in gm.graph.nodes:
        kind = node_kind(gm, node)
        if kind == "input":
            s = next(inputs)
            lw.placeholder(node, tuple(s))   # the model's own layout (NCHW)
        elif kind in ("layer", "add", "cat", "requant", "quant", "requantize", "output"):
            getattr(lw, kind)(node)
        elif kind == "pass":
            lw.passthrough(node)
        elif kind == "act":
            if node not in lw.env:
                raise UnsupportedOpError(op_name(gm, node), describe(node), "activation not fused into a layer or add")
        elif kind in ("attr", "meta"):
            continue
        else:
            raise UnsupportedOpError(op_name(gm, node), describe(node), "no integer op for it")
    return verify(lw.g)
