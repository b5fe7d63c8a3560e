"""Readable text dump of a Graph (used by `intq inspect` and in test failure messages). Imports: numpy."""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph


def format_tensor(t) -> str:
    s = f"{t.name}: {t.dtype}{list(t.shape)}"
    if t.quant is not None:
        if t.quant.per_channel:
            s += f" scale[{t.quant.scale.size}]~{float(np.median(t.quant.scale)):.4g} axis={t.quant.axis}"
        else:
            s += f" scale={t.quant.single_scale:.6g} zp={t.quant.single_zero_point}"
    if t.is_constant:
        s += " const"
    return s


def _fmt_options(opts) -> str:
    fields = getattr(opts, "__dataclass_fields__", {})
    return ", ".join(f"{k}={getattr(opts, k)!r}" for k in fields)


def format_graph(graph: Graph) -> str:
    lines = [f"graph {graph.name}: {len(graph.nodes)} ops, {len(graph.tensors)} tensors"]
    lines += ["  input  " + format_tensor(graph.tensor(n)) for n in graph.inputs]
    lines += ["  output " + format_tensor(graph.tensor(n)) for n in graph.outputs]
    for i, node in enumerate(graph.nodes):
        lines.append(f"  #{i:<3} {node.op:<18} {node.name}  ({_fmt_options(node.options)})")
        for n in node.inputs:
            lines.append("        in  " + ("-" if n is None else format_tensor(graph.tensor(n))))
        for n in node.outputs:
            lines.append("        out " + format_tensor(graph.tensor(n)))
    return "\n".join(lines)
