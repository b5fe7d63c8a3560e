"""`intq inspect MODEL` and `intq run MODEL INPUT`: look into and run a .tflite model. Imports: ir, runtime, io."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from intq.errors import InputError
from intq.io.atomic import atomic_write, check_writable
from intq.ir import Graph, format_graph
from intq.ir.printer import format_tensor
from intq.runtime.kernels import MAX_THREADS


def register(sub) -> None:
    p = sub.add_parser("inspect", help="print a model's ops, tensors, quantization parameters and MACs per layer")
    p.add_argument("model", help=".tflite file")
    p.add_argument("--tensors", action="store_true", help="also print every op's input and output tensors")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("run", help="run a model with intq's integer runtime on an .npy array or an image")
    p.add_argument("model", help=".tflite file")
    p.add_argument("input", help=".npy array in the input's dtype and shape, or an image (png/jpg/bmp), resized "
                   "bilinearly to the input's size: uint8 inputs get the pixels, int8 pixels-128, float32 pixels/255")
    p.add_argument("--kernels", choices=("fast", "reference"), default="fast")
    p.add_argument("--threads", type=_threads, default=1, help=f"threads, 1 to {MAX_THREADS} (default 1)")
    p.add_argument("--top", type=_positive, default=5,
                   help="print the top-k entries (k >= 1) of each row of a 2-D output (default 5); other outputs "
                   "are printed whole")
    p.add_argument("--labels", help="text file, one class name per line, for --top")
    p.add_argument("--save", help="write the outputs to this .npz file (keys output_0, output_1, ...)")
    p.set_defaults(func=cmd_run)


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _threads(text: str) -> int:
    """argparse type: a thread count from 1 to MAX_THREADS (the Interpreter's limit)."""
    value = _positive(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_THREADS}, got {value}")
    return value


def macs(graph: Graph, node) -> int:
    """Multiply-accumulates of one CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED node (0 for other ops)."""
    if node.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        return 0
    w = graph.tensor(node.inputs[1]).shape
    out = graph.tensor(node.outputs[0]).shape
    if node.op == "CONV_2D":          # out [N,H,W,O], filter [O,kh,kw,Cin/groups]
        return int(np.prod(out) * w[1] * w[2] * w[3])
    if node.op == "DEPTHWISE_CONV_2D":  # filter [1,kh,kw,C*M]
        return int(np.prod(out) * w[1] * w[2])
    return int(np.prod(out[:-1]) * w[0] * w[1]) if out else 0


def cmd_inspect(args) -> int:
    from intq.io.tflite_import import load_tflite
    graph = load_tflite(args.model)
    if args.tensors:
        print(format_graph(graph))
        print()
    print(f"{Path(args.model).name}: {len(graph.nodes)} ops, {len(graph.tensors)} tensors")
    for name in graph.inputs:
        print("  input  " + format_tensor(graph.tensor(name)))
    for name in graph.outputs:
        print("  output " + format_tensor(graph.tensor(name)))
    print(f"\n  {'#':>3}  {'op':<18} {'output':<44} {'scale':>10} {'zp':>4} {'MACs':>12}")
    total = 0
    for i, node in enumerate(graph.nodes):
        out = graph.tensor(node.outputs[0])
        m = macs(graph, node)
        total += m
        scale = f"{out.quant.single_scale:.5g}" if out.quant is not None and not out.quant.per_channel else "-"
        zp = str(out.quant.single_zero_point) if out.quant is not None and not out.quant.per_channel else "-"
        shape = f"{out.dtype}{list(out.shape)}"
        print(f"  {i:>3}  {node.op:<18} {shape:<44} {scale:>10} {zp:>4} {m:>12,}")
    weights = sum(t.data.nbytes for t in graph.tensors.values() if t.is_constant)
    counts = ", ".join(f"{op} x{n}" for op, n in sorted(graph.op_counts().items()))
    print(f"\n  total MACs per inference: {total:,}; constant bytes: {weights:,}\n  ops: {counts}")
    return 0


def load_input(path: str, graph: Graph) -> np.ndarray:
    """The model's first input from ``path``: an .npy array as stored (any case of the suffix), or an image
    resized and scaled for a 4-D NHWC/NCHW input of 1 or 3 channels; InputError naming ``path`` otherwise."""
    t = graph.tensor(graph.inputs[0])
    if path.lower().endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise InputError(f"cannot read {path}: {e}") from e
    from PIL import Image, UnidentifiedImageError
    nchw = len(t.shape) == 4 and t.shape[1] in (1, 3) and t.shape[3] not in (1, 3)
    if len(t.shape) != 4 or (t.shape[1] if nchw else t.shape[3]) not in (1, 3):
        raise InputError(f"cannot feed image {path}: the model's input {t.name!r} is {t.dtype}{list(t.shape)}, "
                         "not a 4-D image of 1 or 3 channels; give an .npy array")
    h, w, c = (t.shape[2], t.shape[3], t.shape[1]) if nchw else (t.shape[1], t.shape[2], t.shape[3])
    try:
        img = Image.open(path).convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
    except (OSError, UnidentifiedImageError) as e:
        raise InputError(f"cannot read image {path}: {e}") from e
    x = np.asarray(img, dtype=np.uint8).reshape(h, w, c)
    if nchw:
        x = x.transpose(2, 0, 1)
    x = x[None]
    if t.dtype == "uint8":
        return x
    if t.dtype == "int8":
        return (x.astype(np.int16) - 128).astype(np.int8)
    return (x.astype(np.float32) / 255.0).astype(t.dtype)


def read_labels(path: str) -> list[str]:
    """The lines of the --labels file; InputError naming ``path`` when it cannot be read as text."""
    try:
        return Path(path).read_text().splitlines()
    except OSError as e:
        raise InputError(f"cannot read labels file {path}: {e.strerror or e}") from e
    except ValueError as e:                  # UnicodeDecodeError
        raise InputError(f"cannot read labels file {path}: not text ({e})") from e


def cmd_run(args) -> int:
    """Run the model on one input, write the outputs to --save (if given), then print each (top-k rows of 2-D ones)."""
    from intq.io.tflite_import import load_tflite
    from intq.runtime import Interpreter
    graph = load_tflite(args.model)
    if len(graph.inputs) != 1:
        raise InputError(f"`intq run` feeds one input; this model takes {len(graph.inputs)}")
    x = load_input(args.input, graph)
    labels = read_labels(args.labels) if args.labels else None
    if args.save:
        check_writable(args.save)            # before running: a bad --save path fails before any work
    outputs = Interpreter(graph, kernels=args.kernels, num_threads=args.threads).run(x)
    if args.save:                            # before printing: a failed write prints nothing but the error
        save_outputs(args.save, outputs)
    for i, (name, y) in enumerate(zip(graph.outputs, outputs)):
        print(f"output {i} {name}: {y.dtype}{list(y.shape)}")
        if y.ndim == 2:
            print_top(y, args.top, labels)
        else:
            np.set_printoptions(threshold=50)
            print(y)
    if args.save:
        print(f"saved {args.save}", file=sys.stderr)
    return 0


def print_top(y: np.ndarray, top: int, labels: list[str] | None) -> None:
    """The ``top`` largest entries of each row of ``y`` (ties: the lower class first), with their labels."""
    for b in range(y.shape[0]):
        order = np.argsort(-y[b].astype(np.float64), kind="stable")[:top]
        for k in order:
            label = f"  {labels[k]}" if labels and k < len(labels) else ""
            print(f"  [{b}] class {k:>5}: {y[b, k]}{label}")


def save_outputs(path: str, outputs: list[np.ndarray]) -> None:
    """The outputs as an .npz (keys output_0, output_1, ...) written atomically to ``path``."""
    import io
    buf = io.BytesIO()
    np.savez(buf, **{f"output_{i}": y for i, y in enumerate(outputs)})
    atomic_write(path, buf.getvalue())
