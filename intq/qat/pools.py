"""Average pooling and global mean in a prepared model: QAvgPool2d. Imports: torch, intq.errors, intq.qat.

prepare_qat replaces every average pooling the integer graph can hold -- AvgPool2d / F.avg_pool2d without
ceil_mode, and with padding only when padded taps are not counted (``count_include_pad=False``: TFLite's
SAME pooling divides by the valid taps; convert checks the padding is SAME), and global averages: AdaptiveAvgPool2d(1),
F.adaptive_avg_pool2d(x, 1), mean over dims (2, 3) (MEAN over H, W) -- by a QAvgPool2d, so that convert
reads its geometry from one place and the eval forward can compute what the integer kernel computes.
Input and output share one quantizer (the uint8 kernels need equal parameters), linked by prepare_qat.
"""
from __future__ import annotations

import torch
import torch.fx as fx
import torch.nn.functional as F

from intq.qat import integer_eval
from intq.qat.observers import ActQuant


def pair(v) -> tuple[int, int]:
    """(v, v) for an int, else the first two entries of v, as ints (torch kernel_size / stride / padding)."""
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


class QAvgPool2d(torch.nn.Module):
    """Average pooling of an NCHW tensor: ``kind`` 'mean' (over H, W; ``keep_dims`` as torch's keepdim)
    or 'avg' (``kernel_size``/``stride``/``padding`` windows, averaging the taps inside the image).

    Training, calibration and float mode: the float average. Eval with its quantizer active: the integer
    MEAN / AVERAGE_POOL_2D result on the quantizer's grid (intq.qat.integer_eval).
    """

    def __init__(self, kind: str, kernel_size=(1, 1), stride=(1, 1), keep_dims: bool = True, padding=(0, 0)):
        super().__init__()
        if kind not in ("mean", "avg"):
            raise ValueError(f"QAvgPool2d kind must be 'mean' or 'avg', got {kind!r}")
        self.kind = kind
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride)
        self.padding = pair(padding)
        self.keep_dims = bool(keep_dims)
        self._quant: tuple[ActQuant, ...] = ()
        self.origin: tuple[str, str] | None = None   # (op, where) of the user's pooling, set by prepare_qat

    def link(self, quantizer: ActQuant) -> None:
        """Use ``quantizer``'s grid (input and output) for the eval-mode integer average."""
        object.__setattr__(self, "_quant", (quantizer,))   # a reference, not a submodule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self._quant[0] if self._quant else None
        if q is not None and not self.training and not q.force_observe and q.quant_active():
            if self.kind == "mean":
                return integer_eval.mean_hw(x, q.code_qparams(), self.keep_dims)
            return integer_eval.average_pool(x, q.code_qparams(), self.kernel_size, self.stride, self.padding)
        if self.kind == "mean":
            return x.mean(dim=(2, 3), keepdim=self.keep_dims)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, count_include_pad=False)

    def extra_repr(self) -> str:
        if self.kind == "mean":
            return f"mean over H, W, keep_dims={self.keep_dims}"
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _avg(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override) -> QAvgPool2d | None:
    padded = pair(padding) != (0, 0)
    if ceil_mode or divisor_override is not None or (padded and count_include_pad):
        return None
    return QAvgPool2d("avg", kernel, stride if stride not in (None, []) else kernel, padding=padding)


def pool_spec(gm: fx.GraphModule, node: fx.Node) -> QAvgPool2d | None:
    """The QAvgPool2d for an average-pooling fx node, or None if no integer op computes it."""
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        if isinstance(m, torch.nn.AdaptiveAvgPool2d):
            size = m.output_size
            return QAvgPool2d("mean") if size is not None and pair(size) == (1, 1) else None
        if isinstance(m, torch.nn.AvgPool2d):
            return _avg(m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad, m.divisor_override)
        return None
    t = node.target
    if t is F.adaptive_avg_pool2d:
        size = node.args[1] if len(node.args) > 1 else node.kwargs.get("output_size")
        return QAvgPool2d("mean") if size is not None and pair(size) == (1, 1) else None
    if t is F.avg_pool2d:
        vals = dict(zip(("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                         "divisor_override"), node.args))
        vals.update(node.kwargs)
        return _avg(vals["kernel_size"], vals.get("stride"), vals.get("padding", 0), vals.get("ceil_mode", False),
                    vals.get("count_include_pad", True), vals.get("divisor_override"))
    if t in (torch.mean, "mean"):
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
        keep = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
        if len(dims) != 2 or sorted(d % 4 for d in dims) != [2, 3] or node.kwargs.get("dtype") is not None:
            return None
        return QAvgPool2d("mean", keep_dims=bool(keep))
    return None
