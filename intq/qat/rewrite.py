"""torch.fx node classification and the two rewrites of prepare_qat (fuse layers, place quantizers).

Imports: torch, intq.errors, intq.qat. Quantizers go exactly where the integer graph holds uint8 tensors
(paper §3, Fig. 1.1b): model inputs, after each fused layer's activation, after ADD (+ReLU), after
CONCATENATION. Max pooling / flatten / reshape / view / dropout / identity pass their input's range through;
average pooling and MEAN re-quantize onto their input's range (shared quantizer, no observation), as the
uint8 kernels require equal input/output parameters. Concat producers with no other user reuse the
concat's quantizer, so CONCATENATION is a plain copy. Every other concat input (pooled, shared, a model
input, another concat) goes through a QRequantize onto the concat's grid: in the int8 scheme a QUANTIZE
int8 -> int8, since TFLite's int8 CONCATENATION needs equal input and output parameters; in uint8 no op
(CONCATENATION rescales the input itself, in float32), the module only makes the eval forward compute that.
"""
from __future__ import annotations

import operator

import torch
import torch.fx as fx
import torch.nn.functional as F

from intq.errors import UnsupportedOpError
from intq.qat.config import QatConfig
from intq.qat.fused import QConv2d, QLinear
from intq.qat.observers import ActQuant
from intq.qat.add import QAdd
from intq.qat.pools import QAvgPool2d, pool_spec
from intq.qat.requantize import QRequantize

PASS_MODULES = (torch.nn.MaxPool2d, torch.nn.Flatten, torch.nn.Dropout, torch.nn.Identity)
PASS_FUNCTIONS = (torch.flatten, F.max_pool2d, F.dropout, torch.reshape)
PASS_METHODS = ("view", "reshape", "flatten", "contiguous")
REQUANT_MODULES = (torch.nn.AvgPool2d, torch.nn.AdaptiveAvgPool2d, QAvgPool2d)
REQUANT_FUNCTIONS = (F.avg_pool2d, F.adaptive_avg_pool2d, torch.mean)
ADD_FUNCTIONS = (operator.add, torch.add)
NON_TENSOR_METHODS = ("size", "dim")


def node_kind(gm: fx.GraphModule, node: fx.Node) -> str:
    """One of: input, output, attr, layer, quant, act, pass, requant, requantize, add, cat, meta, 'unsupported'."""
    op, t = node.op, node.target
    if op == "placeholder":
        return "input"
    if op == "output":
        return "output"
    if op == "get_attr":
        return "attr"
    if op == "call_module":
        m = gm.get_submodule(t)
        if isinstance(m, (QConv2d, QLinear, torch.nn.Conv2d, torch.nn.Linear)):
            return "layer"
        if isinstance(m, ActQuant):
            return "quant"
        if isinstance(m, QRequantize):
            return "requantize"
        if isinstance(m, QAdd):
            return "add"
        if isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6)) or (
                isinstance(m, torch.nn.Hardtanh) and m.min_val == 0.0 and m.max_val == 6.0):
            return "act"
        if isinstance(m, PASS_MODULES):
            return "pass"
        if isinstance(m, REQUANT_MODULES):
            return "requant"
        if isinstance(m, torch.nn.BatchNorm2d):
            return "bn"
        return "unsupported"
    if op == "call_function":
        if t in (F.relu, torch.relu, F.relu6) or (t is F.hardtanh and _hardtanh06(node)):
            return "act"
        if t in PASS_FUNCTIONS:
            return "pass"
        if t in REQUANT_FUNCTIONS:
            return "requant"
        if t in ADD_FUNCTIONS and all(isinstance(a, fx.Node) for a in node.args[:2]):
            return "add"
        if t is torch.cat:
            return "cat"
        if t is getattr:
            return "meta"
        return "unsupported"
    if op == "call_method":
        if t in PASS_METHODS:
            return "pass"
        if t in NON_TENSOR_METHODS:
            return "meta"
        if t == "mean":
            return "requant"
        if t == "relu":
            return "act"
        if t == "add" and isinstance(node.args[1], fx.Node):
            return "add"
        return "unsupported"
    return "unsupported"


def _hardtanh06(node: fx.Node) -> bool:
    lo = node.args[1] if len(node.args) > 1 else node.kwargs.get("min_val", -1.0)
    hi = node.args[2] if len(node.args) > 2 else node.kwargs.get("max_val", 1.0)
    return lo == 0.0 and hi == 6.0


def activation_name(gm: fx.GraphModule, node: fx.Node) -> str:
    """'RELU' or 'RELU6' for an 'act' node."""
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        return "RELU" if isinstance(m, torch.nn.ReLU) else "RELU6"
    return "RELU" if node.target in (F.relu, torch.relu, "relu") else "RELU6"


def describe(node: fx.Node) -> str:
    """'fx node <name> (<op> <target>)' for error messages."""
    t = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
    return f"fx node {node.name!r} ({node.op} {t})"


def op_name(gm: fx.GraphModule, node: fx.Node) -> str:
    if node.op == "call_module":
        return type(gm.get_submodule(node.target)).__name__
    t = node.target
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


def _set_module(gm: fx.GraphModule, path: str, module: torch.nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(gm.get_submodule(parent) if parent else gm, name, module)


def _del_module(gm: fx.GraphModule, path: str) -> None:
    if any(n.op == "call_module" and n.target == path for n in gm.graph.nodes):
        return  # the same module is called elsewhere (e.g. one ReLU reused)
    parent, _, name = path.rpartition(".")
    delattr(gm.get_submodule(parent) if parent else gm, name)


def _single_user(node: fx.Node) -> fx.Node | None:
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def fuse_layers(gm: fx.GraphModule, cfg: QatConfig) -> None:
    """Replace Conv2d(+BN)(+act) and Linear(+act) chains by QConv2d / QLinear in place."""
    kw = dict(weight_bits=cfg.weight_bits, narrow_range=cfg.weight_narrow_range, quant_delay=cfg.quant_delay,
              freeze_bn_delay=cfg.freeze_bn_delay, scheme=cfg.scheme, per_channel=cfg.per_channel)
    erased: set[fx.Node] = set()
    for node in list(gm.graph.nodes):
        if node in erased or node.op != "call_module" or node_kind(gm, node) != "layer":
            continue
        m = gm.get_submodule(node.target)
        if isinstance(m, (QConv2d, QLinear)):
            continue
        end, bn, act = node, None, "NONE"
        nxt = _single_user(end)
        if isinstance(m, torch.nn.Conv2d) and nxt is not None and node_kind(gm, nxt) == "bn":
            bn = gm.get_submodule(nxt.target)
            if cfg.bn_momentum is not None:
                bn.momentum = cfg.bn_momentum
            end, nxt = nxt, _single_user(nxt)
        if nxt is not None and node_kind(gm, nxt) == "act":
            act = activation_name(gm, nxt)
            end = nxt
        if isinstance(m, torch.nn.Conv2d):
            _check_conv_padding(m, node)
            fused = QConv2d(m, bn, act, **kw)
        else:
            fused = QLinear(m, act, **kw)
        _set_module(gm, node.target, fused)
        if end is not node:
            end.replace_all_uses_with(node)
            cur = end
            while cur is not node:
                prev = cur.args[0]
                gm.graph.erase_node(cur)
                erased.add(cur)
                if cur.op == "call_module":
                    _del_module(gm, cur.target)
                cur = prev
    for node in gm.graph.nodes:
        if node_kind(gm, node) == "bn":
            raise UnsupportedOpError("BatchNorm2d", describe(node), "BatchNorm must directly follow a Conv2d")


def _check_conv_padding(conv: torch.nn.Conv2d, node: fx.Node) -> None:
    """Zero padding only: numbers, 'valid' (none) or 'same' (stride 1; TFLite SAME, see fold.conv_padding)."""
    if conv.padding_mode != "zeros":
        raise UnsupportedOpError("Conv2d", describe(node), f"padding_mode={conv.padding_mode!r}: only zero padding "
                                 "(padding_mode='zeros') maps to integer ops")
    if isinstance(conv.padding, str) and conv.padding not in ("same", "valid"):
        raise UnsupportedOpError("Conv2d", describe(node), f"padding={conv.padding!r}: only numbers, 'same' "
                                 "and 'valid' are supported")
    if conv.padding == "same" and tuple(conv.stride) != (1, 1):
        raise UnsupportedOpError("Conv2d", describe(node), f"padding='same' with stride {tuple(conv.stride)}: "
                                 "torch defines 'same' only at stride 1")


def check_shared_layers(gm: fx.GraphModule) -> None:
    """Raise UnsupportedOpError for a Conv2d, Linear or BatchNorm2d module called at more than one place.

    The rewrite fuses a layer's batch norm and activation into the module itself and gives it one pair of
    activation quantizers, so a module reached by two calls would carry the first call's activation into the
    second and one range for both (the eval model would silently differ from the float one and from the
    graph). Each call needs its own module; weights tied across calls cannot be expressed.
    """
    calls: dict[str, list[fx.Node]] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module" and isinstance(gm.get_submodule(node.target),
                                                   (torch.nn.Conv2d, torch.nn.Linear, torch.nn.BatchNorm2d)):
            calls.setdefault(node.target, []).append(node)
    for target, nodes in calls.items():
        if len(nodes) > 1:
            m = gm.get_submodule(target)
            raise UnsupportedOpError(type(m).__name__, describe(nodes[1]),
                                     f"module {target!r} is called at {len(nodes)} places (fx nodes "
                                     f"{', '.join(repr(n.name) for n in nodes)}): a quantized layer is fused with "
                                     "its own batch norm, activation and ranges, so give each call its own module")


def check_layer_inputs(gm: fx.GraphModule) -> None:
    """Raise UnsupportedOpError for a Linear whose input (``meta['intq_shape']``, prepare_qat) is not [N, features].

    FULLY_CONNECTED (and the eval-mode integer forward) takes a 2-D input; torch's Linear also maps the last
    axis of any tensor, which the integer graph cannot hold.
    """
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(gm.get_submodule(node.target), torch.nn.Linear):
            continue
        arg = node.args[0] if node.args else None
        shape = arg.meta.get("intq_shape") if isinstance(arg, fx.Node) else None
        if shape is not None and len(shape) != 2:
            raise UnsupportedOpError("Linear", describe(node), f"input is {list(shape)}: Linear needs a 2-D "
                                     "[N, features] input (flatten first, e.g. torch.flatten(x, 1))")


def _replace_by_module(gm: fx.GraphModule, node: fx.Node, name: str, module: torch.nn.Module, args: tuple) -> None:
    """Put ``module`` (as submodule ``name``, called on ``args``) where ``node`` was."""
    gm.add_submodule(name, module)
    with gm.graph.inserting_after(node):
        new = gm.graph.call_module(name, args)
    node.replace_all_uses_with(new)
    gm.graph.erase_node(node)
    if node.op == "call_module":
        _del_module(gm, node.target)


def fuse_pools(gm: fx.GraphModule) -> None:
    """Replace average poolings that map to MEAN / AVERAGE_POOL_2D by QAvgPool2d modules (intq.qat.pools)."""
    counter = 0
    for node in list(gm.graph.nodes):
        if node_kind(gm, node) != "requant" or (node.op == "call_module" and
                                                isinstance(gm.get_submodule(node.target), QAvgPool2d)):
            continue
        pool = pool_spec(gm, node)
        if pool is None:
            continue   # convert names it; the float op still trains
        pool.origin = (op_name(gm, node), describe(node))   # the user's op, for convert's errors
        _replace_by_module(gm, node, f"avg_pool_{counter}", pool, (node.args[0],))
        counter += 1


def fuse_adds(gm: fx.GraphModule) -> None:
    """Replace tensor additions ``a + b`` by QAdd modules (intq.qat.add)."""
    counter = 0
    for node in list(gm.graph.nodes):
        if node_kind(gm, node) != "add" or node.op == "call_module" or len(node.args) != 2 or node.kwargs:
            continue
        _replace_by_module(gm, node, f"add_{counter}", QAdd(), tuple(node.args))
        counter += 1


def input_quant(gm: fx.GraphModule, node: fx.Node, index: int = 0) -> ActQuant | None:
    """The quantizer whose grid ``node``'s input ``index`` lies on (through pass-through ops), if any."""
    cur = node.args[index] if len(node.args) > index else None
    while isinstance(cur, fx.Node):
        kind = node_kind(gm, cur)
        if kind == "quant":
            return gm.get_submodule(cur.target)
        if kind != "pass" or not cur.args:
            return None
        cur = cur.args[0]
    return None


def output_quant(gm: fx.GraphModule, node: fx.Node) -> ActQuant | None:
    """The quantizer applied to ``node``'s output (past an ADD's fused activation), if any."""
    cur = node
    if node_kind(gm, node) == "add":
        users = list(node.users)
        if len(users) == 1 and node_kind(gm, users[0]) == "act":
            cur = users[0]
    for user in cur.users:
        if node_kind(gm, user) == "quant":
            return gm.get_submodule(user.target)
    return None


def link_quantizers(gm: fx.GraphModule) -> None:
    """Give fused layers, QAvgPool2d and QAdd modules their quantizers (for the integer eval forward)."""
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        m = gm.get_submodule(node.target)
        if isinstance(m, (QConv2d, QLinear)):
            qi, qo = input_quant(gm, node), output_quant(gm, node)
            if qi is not None and qo is not None:
                m.link(qi, qo)
        elif isinstance(m, QAvgPool2d):
            qi = input_quant(gm, node)
            if qi is not None and output_quant(gm, node) is qi:
                m.link(qi)
        elif isinstance(m, QRequantize):
            _link_requantize(gm, node, m)
        elif isinstance(m, QAdd):
            qa, qb, qo = input_quant(gm, node, 0), input_quant(gm, node, 1), output_quant(gm, node)
            users = list(node.users)
            act = activation_name(gm, users[0]) if len(users) == 1 and node_kind(gm, users[0]) == "act" else "NONE"
            if qa is not None and qb is not None and qo is not None:
                m.link(qa, qb, qo, act)


def _link_requantize(gm: fx.GraphModule, node: fx.Node, m: QRequantize) -> None:
    """Link a QRequantize to its input's quantizer and to the quantizer of the concat it feeds."""
    source = input_quant(gm, node)
    target = output_quant(gm, next(iter(node.users))) if len(node.users) == 1 else None
    if source is None or target is None:
        raise UnsupportedOpError("cat", describe(node), "concat input with no quantizer to requantize from")
    m.link(source, target)


def _insert_quant(gm: fx.GraphModule, after: fx.Node, target: str, observe: bool = True) -> fx.Node:
    with gm.graph.inserting_after(after):
        q = gm.graph.call_module(target, (after,), {} if observe else {"observe": False})
    for user in list(after.users):
        if user is not q:
            user.replace_input_with(after, q)
    return q


def place_quantizers(gm: fx.GraphModule, cfg: QatConfig) -> None:
    """Insert ActQuant modules where the integer graph has uint8 tensors; raise on unmappable ops."""
    owner: dict[fx.Node, str] = {}
    counter = [0]
    first = next(iter(gm.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")

    def new_quant() -> str:
        name = f"act_quant_{counter[0]}"
        counter[0] += 1
        q = ActQuant(cfg.activation_bits, cfg.ema_decay, cfg.quant_delay).to(device)
        q.signed = cfg.scheme == "int8"
        gm.add_submodule(name, q)
        return name

    def src(node: fx.Node) -> str:
        a = node.args[0]
        if not isinstance(a, fx.Node) or a not in owner:
            raise UnsupportedOpError(op_name(gm, node), describe(node), "input is not a quantized tensor")
        return owner[a]

    for node in list(gm.graph.nodes):
        if node in owner:
            continue
        kind = node_kind(gm, node)
        if kind in ("input", "layer", "add", "cat"):
            end = node
            if kind == "add":
                nxt = _single_user(node)
                if nxt is not None and node_kind(gm, nxt) == "act":
                    end = nxt
                for a in node.args[:2]:
                    if a not in owner:
                        raise UnsupportedOpError(op_name(gm, node), describe(node), "input is not a quantized tensor")
            elif kind == "layer":
                src(node)
            elif kind == "cat":
                _check_cat_inputs(gm, node, owner)
            name = new_quant()
            gm.get_submodule(name).label = f"{name} (output of fx node {node.name!r})"
            q = _insert_quant(gm, end, name)
            owner[node] = owner[end] = owner[q] = name
            if kind == "cat":
                _share_cat_range(gm, node, name, owner)
                _requantize_cat_inputs(gm, node, name, owner)
        elif kind in ("pass",):
            owner[node] = src(node)
        elif kind == "requant":
            name = src(node)
            q = _insert_quant(gm, node, name, observe=False)
            owner[node] = owner[q] = name
        elif kind in ("output", "attr", "meta"):
            continue
        else:
            raise UnsupportedOpError(op_name(gm, node), describe(node), "no integer op for it")


def _share_cat_range(gm: fx.GraphModule, cat: fx.Node, name: str, owner: dict) -> None:
    """Producers whose only user is this concat quantize straight onto the concat's range."""
    for a in cat.args[0]:
        if not (isinstance(a, fx.Node) and a.op == "call_module" and node_kind(gm, a) == "quant"):
            continue
        prod = a.args[0]
        if len(a.users) != 1 or a.kwargs.get("observe", True) is False or prod.op == "placeholder":
            continue
        root = prod
        while node_kind(gm, root) == "act":
            root = root.args[0]
        if node_kind(gm, root) not in ("layer", "add"):
            continue
        a.target = name
        a.kwargs = {"observe": False, "concat_input": True}
        for n, o in list(owner.items()):
            if n in (a, prod, root):
                owner[n] = name


def _check_cat_inputs(gm: fx.GraphModule, cat: fx.Node, owner: dict) -> None:
    """Every concat input must be a quantized tensor (placed before the concat)."""
    if not cat.args or not isinstance(cat.args[0], (tuple, list)):
        raise UnsupportedOpError("cat", describe(cat), "pass the tensors positionally, as a list or tuple")
    for a in cat.args[0]:
        if not isinstance(a, fx.Node) or a not in owner:
            raise UnsupportedOpError("cat", describe(cat), "input is not a quantized tensor")


def _requantize_cat_inputs(gm: fx.GraphModule, cat: fx.Node, name: str, owner: dict) -> None:
    """Inputs not on the concat's quantizer ``name`` go through a QRequantize: QUANTIZE int8 -> int8 in the int8
    scheme; in uint8 nothing in the graph (CONCATENATION rescales them), but the eval forward simulates the
    kernel's float32 rescaling, which fake quantization of the concat's float output does not reproduce."""
    for a in dict.fromkeys(cat.args[0]):   # each distinct input once
        if owner[a] == name:
            continue
        i = 0
        while hasattr(gm, f"requantize_{i}"):
            i += 1
        gm.add_submodule(f"requantize_{i}", QRequantize())
        with gm.graph.inserting_before(cat):
            r = gm.graph.call_module(f"requantize_{i}", (a,))
        cat.replace_input_with(a, r)
        owner[r] = name
