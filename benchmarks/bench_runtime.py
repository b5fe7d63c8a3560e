"""Runtime benchmark (run on demand, never in tests): intq fast kernels vs LiteRT and PyTorch.

    python benchmarks/bench_runtime.py [--reps 30] [--threads 1 2] [--batch 1 8] [--skip-ref] [--skip-torch]
                                       [--models v2 ...] [--skip-gemm]

Every engine at every --threads count runs in the same interleaved rounds (see interleaved()), so the
thread speed-ups are measured side by side too.
Models: ../shared/data/tflite-quant-models/{mobilenet_v1_0.25_128_quant,mobilenet_v2_1.0_224_quant}.tflite and a
MobileNet v1 1.0/224 with random weights built with the intq.ir Graph API (bench_models.py) (written to .tflite bytes
with intq.io for LiteRT) twice: as a uint8 graph (the paper's scheme, as the shared files) and as an int8 one
(TFLite's int8 spec: int8 activations, per-channel int8 weights; "int8_random"). Engines run interleaved (a turn of calls each per round), at each --batch; the
table gives medians in ms and ratios against LiteRT's default (XNNPACK) at the same thread count. Also
reports 1x1-conv GEMM throughput (GOPS = 2*MACs/s) as a share of one core's peak for the instruction the
kernels use (benchmarks/peak.c: vpdpbusd on AVX512-VNNI, vpmaddwd on AVX2, which has no exact 8-bit
multiply-accumulate: vpmaddubsw saturates), each engine's whole-model GOPS (2*MACs of the conv, depthwise
and fully connected nodes per second) as a share of threads x that peak, and checks intq fast == reference
on the models.
The random MobileNet v1 also runs on ONNX Runtime (a QDQ ONNX model of the same network, built here with the
onnx helper API: uint8 activations, per-channel int8 weights, fused by ORT into QLinearConv), PyTorch float32
eager and PyTorch int8 (torch.ao eager post-training quantization, x86/fbgemm backend), random weights.
Imports: numpy, intq, ai_edge_litert, torch, onnx, onnxruntime (the last three optional: --skip-torch/--skip-ort).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import intq
from intq.io import graph_to_tflite_bytes
from intq.ir import Graph
from intq.ir.ops import OP_OPTIONS

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import MODELS, V1_BLOCKS, _q, mobilenet_v1_graph, random_input  # noqa: E402,F401 (re-exported)


def torch_mobilenet_v1(threads: int, batch: int = 1):
    """PyTorch float32 eager MobileNet v1 1.0/224 (BN folded: conv + bias + ReLU6), random weights."""
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    layers, c = [nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU6()], 32
    for c_out, s in V1_BLOCKS:
        layers += [nn.Conv2d(c, c, 3, s, 1, groups=c), nn.ReLU6(), nn.Conv2d(c, c_out, 1), nn.ReLU6()]
        c = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, 1001, 1), nn.Flatten(), nn.Softmax(dim=1)]
    model = nn.Sequential(*layers).eval()
    x = torch.randn(batch, 3, 224, 224)

    def run():
        torch.set_num_threads(threads)       # a process-wide setting: runners of other thread counts interleave
        with torch.inference_mode():
            model(x)
    return run


def torch_int8_mobilenet_v1(threads: int, batch: int = 1):
    """PyTorch int8 (torch.ao eager post-training quantization, x86/fbgemm backend) MobileNet v1 1.0/224.

    Same shapes as torch_mobilenet_v1 with conv + ReLU fused (fbgemm fuses ReLU, not ReLU6), random weights,
    per-channel int8 weights, uint8 activations calibrated on one random input. Softmax runs in float.
    """
    import torch
    from torch import nn
    from torch.ao import quantization as tq
    torch.set_num_threads(threads)
    torch.backends.quantized.engine = "x86"
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers, c = [nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU()], 32
            for c_out, s in V1_BLOCKS:
                layers += [nn.Conv2d(c, c, 3, s, 1, groups=c), nn.ReLU(), nn.Conv2d(c, c_out, 1), nn.ReLU()]
                c = c_out
            layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, 1001, 1)]
            self.quant, self.body, self.dequant = tq.QuantStub(), nn.Sequential(*layers), tq.DeQuantStub()

        def forward(self, x):
            return torch.softmax(self.dequant(self.body(self.quant(x))).flatten(1), dim=1)

    model = Net().eval()
    n = len(model.body)
    tq.fuse_modules(model.body, [[str(i), str(i + 1)] for i in range(n - 2) if isinstance(model.body[i], nn.Conv2d)],
                    inplace=True)
    model.qconfig = tq.get_default_qconfig("x86")
    tq.prepare(model, inplace=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        model(x)
    tq.convert(model, inplace=True)
    x = torch.randn(batch, 3, 224, 224)

    def run():
        torch.set_num_threads(threads)       # a process-wide setting: runners of other thread counts interleave
        with torch.inference_mode():
            model(x)
    return run


def onnx_qdq_mobilenet_v1(seed: int = 0) -> bytes:
    """MobileNet v1 1.0/224 as a QDQ ONNX model (uint8 activations, per-channel int8 weights, int32 bias).

    Built with the onnx helper API, random weights. Every conv is DequantizeLinear -> Conv -> QuantizeLinear
    (ReLU6 is the output range [0, 6] of the quantized tensor), which ONNX Runtime fuses into QLinearConv;
    the global average pool and the classifier conv likewise; softmax runs in float at the end.
    """
    from onnx import TensorProto, helper, numpy_helper
    r = np.random.default_rng(seed)
    nodes, inits = [], []

    def const(name: str, a: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(a, name))
        return name

    def dq(x: str, scale: str, zp: str, axis: int | None = None) -> str:
        nodes.append(helper.make_node("DequantizeLinear", [x, scale, zp], [x + "_f"],
                                      **({} if axis is None else {"axis": axis})))
        return x + "_f"

    act = np.float32(6.0 / 255)
    cur, s_in, c_in = "input", np.float32(1 / 127.5), 3
    const("input_s", np.array(s_in, np.float32)), const("input_z", np.array(128, np.uint8))
    z_act = const("act_z", np.array(0, np.uint8))
    zp_of = {"input": "input_z"}

    def conv(c_out: int, k: int, stride: int, group: int, s_out: np.float32, z_out: int) -> None:
        nonlocal cur, s_in, c_in
        i = len(nodes)
        ci = c_in // group
        w = r.integers(-60, 61, (c_out, ci, k, k)).astype(np.int8)
        s_w = np.full(c_out, 0.02, np.float32)
        const(f"w{i}", w), const(f"w{i}_s", s_w), const(f"w{i}_z", np.zeros(c_out, np.int8))
        const(f"b{i}", r.integers(-2000, 2000, c_out).astype(np.int32)), const(f"b{i}_s", s_in * s_w)
        const(f"b{i}_z", np.zeros(c_out, np.int32))
        xf = dq(cur, f"{cur}_s", zp_of[cur])
        wf, bf = dq(f"w{i}", f"w{i}_s", f"w{i}_z", 0), dq(f"b{i}", f"b{i}_s", f"b{i}_z", 0)
        nodes.append(helper.make_node("Conv", [xf, wf, bf], [f"c{i}"], group=group, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4))
        const(f"t{i}_s", np.array(s_out, np.float32))
        zname = z_act if z_out == 0 else const(f"t{i}_z", np.array(z_out, np.uint8))
        nodes.append(helper.make_node("QuantizeLinear", [f"c{i}", f"t{i}_s", zname], [f"t{i}"]))
        cur, s_in, c_in = f"t{i}", s_out, c_out
        zp_of[cur] = zname

    conv(32, 3, 2, 1, act, 0)
    for c_out, stride in V1_BLOCKS:
        conv(c_in, 3, stride, c_in, act, 0)
        conv(c_out, 1, 1, 1, act, 0)
    xf = dq(cur, f"{cur}_s", zp_of[cur])
    nodes.append(helper.make_node("GlobalAveragePool", [xf], ["gap_f"]))
    const("pool_s", np.array(s_in, np.float32))
    nodes.append(helper.make_node("QuantizeLinear", ["gap_f", "pool_s", z_act], ["pool"]))
    cur, zp_of["pool"] = "pool", z_act
    conv(1001, 1, 1, 1, np.float32(0.1), 128)
    xf = dq(cur, f"{cur}_s", zp_of[cur])
    const("shape", np.array([-1, 1001], np.int64))
    nodes.append(helper.make_node("Reshape", [xf, "shape"], ["logits"]))
    nodes.append(helper.make_node("Softmax", ["logits"], ["prob"], axis=1))
    graph = helper.make_graph(nodes, "mobilenet_v1_qdq",
                              [helper.make_tensor_value_info("input", TensorProto.UINT8, ["N", 3, 224, 224])],
                              [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1001])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def ort_runner(model_bytes: bytes, threads: int, batch: int = 1):
    """ONNX Runtime CPU session (all graph optimisations: QDQ -> QLinearConv fusion), NCHW uint8."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).integers(0, 256, (batch, 3, 224, 224)).astype(np.uint8)
    return lambda: sess.run(None, {"input": x})


def litert_runner(model_bytes: bytes, x: np.ndarray, threads: int, reference: bool = False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    kw = dict(experimental_op_resolver_type=OpResolverType.BUILTIN_REF) if reference else {}
    it = Interpreter(model_content=model_bytes, num_threads=threads, **kw)
    idx = it.get_input_details()[0]["index"]
    if tuple(it.get_input_details()[0]["shape"]) != x.shape:
        it.resize_tensor_input(idx, list(x.shape))
    it.allocate_tensors()

    def run():
        it.set_tensor(idx, x)
        it.invoke()
    return run


def intq_runner(graph: Graph, x: np.ndarray, threads: int, kernels: str = "fast"):
    it = intq.Interpreter(graph, kernels=kernels, num_threads=threads)
    return lambda: it.run(x)


#: idle time before each engine's turn, longer than the engines' worker threads poll for work after a call
#: (intq: 0.2 ms, csrc/intq_threads.c), so that no engine's polling threads run during another engine's calls
GAP_S = 0.002
#: calls per turn: an untimed first call (it wakes the engine's sleeping threads), then BLOCK - 1 timed
#: back-to-back calls, as an application calling in a loop would make them
BLOCK = 4


def interleaved(runners: dict, reps: int, per_round: dict | None = None) -> dict:
    """Median seconds per runner over >= reps timed calls: rounds in which each runner takes a turn of BLOCK
    calls (the first untimed) after GAP_S of idle time, after one warm-up round. ``per_round``, when given,
    receives each runner's list of per-round medians (for ratios taken within a round)."""
    times = {k: [] for k in runners}
    rounds_of = {k: [] for k in runners}
    rounds = -(-reps // (BLOCK - 1))
    for i in range(rounds + 1):
        for k, f in runners.items():
            time.sleep(GAP_S)
            f()
            turn = []
            for _ in range(BLOCK - 1):
                t = time.perf_counter()
                f()
                turn.append(time.perf_counter() - t)
            if i >= 1:
                times[k].extend(turn)
                rounds_of[k].append(statistics.median(turn))
    if per_round is not None:
        per_round.update(rounds_of)
    return {k: statistics.median(v) for k, v in times.items()}


def speed_up(per_round: dict, one, many) -> float:
    """Median over the rounds of (runner ``one``'s time / runner ``many``'s time in the same round): a ratio of
    turns seconds apart, which a slow spell of a shared machine moves less than a ratio of medians."""
    return statistics.median(a / b for a, b in zip(per_round[one], per_round[many]))


GEMM_SHAPES = [(56, 128, 128), (28, 256, 256), (14, 512, 512), (7, 1024, 1024)]   # MobileNet v1's 1x1 convs


def gemm_record(hw: int, c: int, co: int):
    """(interpreter, call): the fast kernel's 1x1 conv H=W=hw, C_in=c -> C_out=co at 1 thread as
    ``Interpreter.run`` calls it (buffers and scratch allocated once), one ``intq_run_plan`` call on its plan
    record; a per-node call (``conv.run_level``) also allocates its output and scratch, 8-12 % more time on
    these shapes (27 Nov 2026, AVX2 EPYC). Keep the interpreter alive while calling: it owns the buffers."""
    from intq.runtime.fast._lib import LIB
    g = Graph()
    g.add_tensor("x", (1, hw, hw, c), "uint8", _q(0.02, 128))
    g.add_constant("w", np.random.default_rng(0).integers(0, 256, (co, 1, 1, c)).astype(np.uint8), _q(0.01, 120))
    g.add_constant("b", np.zeros(co, np.int32), _q(0.0002))
    g.add_tensor("y", (1, hw, hw, co), "uint8", _q(0.5, 128))
    g.add_node("CONV_2D", ["x", "w", "b"], ["y"], OP_OPTIONS["CONV_2D"](activation="RELU6"))
    g.inputs, g.outputs = ["x"], ["y"]
    it = intq.Interpreter(g)
    if it._plan is None or len(it._plan.records) != 1:
        raise SystemExit("gemm_record: the 1x1 conv was not planned as one record")
    it.run(np.random.default_rng(1).integers(0, 256, (1, hw, hw, c)).astype(np.uint8))
    record = it._plan.records.ctypes.data
    return it, lambda: LIB.intq_run_plan(record, 1)


GEMM_ROUNDS = 5


def gemm_share(reps: int, peak, shapes=GEMM_SHAPES):
    """1x1 conv throughput of the fast kernel at 1 thread, per (H=W, C_in, C_out): yields (shape, ms, GOPS,
    share of the peak or None). GEMM_ROUNDS rounds, each measuring the core's peak (``peak``: a callable
    giving GOPS, or None) and then timing the conv (the median of max(reps, 10) calls back to back, after one
    untimed: the kernel's throughput, as the peak is measured); the share is the median of the rounds'
    ratios, so a slow spell of a shared machine hits both sides of a ratio. This process and the peak's (a
    child, which inherits it) are pinned to one CPU meanwhile, so both sides run on the same core."""
    pinned = hasattr(os, "sched_setaffinity")
    if pinned:
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(allowed)})
    try:
        yield from _gemm_rounds(reps, peak, shapes)
    finally:
        if pinned:
            os.sched_setaffinity(0, allowed)


def _gemm_rounds(reps: int, peak, shapes):
    for hw, c, co in shapes:
        it, call = gemm_record(hw, c, co)
        ops = 2 * hw * hw * c * co
        times, shares = [], []
        for _ in range(GEMM_ROUNDS):
            top = peak() if peak else None
            call()
            calls = []
            for _ in range(max(reps, 10)):
                t0 = time.perf_counter()
                call()
                calls.append(time.perf_counter() - t0)
            t = statistics.median(calls)
            times.append(t)
            if top:
                shares.append(ops / t / 1e9 / top)
        t = statistics.median(times)
        yield f"{hw}x{hw}x{c}->{co}", t * 1e3, ops / t / 1e9, statistics.median(shares) if shares else None
        del it


def macs_per_image(graph) -> int:
    """Multiply-accumulates of one image in the graph's CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED nodes."""
    total = 0
    for node in graph.nodes:
        if node.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        out = graph.tensor(node.outputs[0]).shape
        w = graph.tensor(node.inputs[1]).shape
        per_image = int(np.prod(out[1:])) if node.op != "FULLY_CONNECTED" else int(w[0])
        if node.op == "CONV_2D":
            total += per_image * int(np.prod(w[1:]))           # [C_out, kh, kw, C_in / groups]
        elif node.op == "DEPTHWISE_CONV_2D":
            total += per_image * int(w[1]) * int(w[2])         # [1, kh, kw, C_out]
        else:
            total += per_image * int(w[1])                     # [units, depth]
    return total


def peak_meter(isa: str, workdir: str):
    """Build benchmarks/peak.c (system C compiler) into ``workdir``; returns (instruction, measure) where
    measure() gives one core's peak GOPS of the multiply-accumulate the fast kernels use at ``isa``
    (vpdpbusd on AVX512-VNNI, vpmaddwd on AVX2; measure("fma"): the float32 FMA peak), or None (portable
    build, not x86, or no compiler)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    kind = {"avx512-vnni": "vnni", "avx2": "avx2"}.get(isa)
    if cc is None or kind is None or platform.machine() not in ("x86_64", "AMD64"):
        return None
    exe = str(Path(workdir) / "peak")
    if subprocess.run([cc, "-O2", str(Path(__file__).with_name("peak.c")), "-o", exe], capture_output=True).returncode:
        return None
    return ("vpdpbusd" if kind == "vnni" else "vpmaddwd",
            lambda k=kind: float(subprocess.run([exe, k], capture_output=True, text=True, check=True).stdout))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1], help="batch sizes (every engine runs each)")
    ap.add_argument("--skip-ref", action="store_true", help="skip LiteRT BUILTIN_REF (slow)")
    ap.add_argument("--skip-torch", action="store_true", help="skip PyTorch float32 and int8")
    ap.add_argument("--skip-ort", action="store_true", help="skip ONNX Runtime")
    ap.add_argument("--models", nargs="+", metavar="M",
                    help="only the models whose names contain one of these (e.g. v2, 0.25, random)")
    ap.add_argument("--skip-gemm", action="store_true", help="skip the 1x1-conv GEMM throughput")
    a = ap.parse_args(argv)
    from intq.runtime import fast
    print(f"intq fast kernels ISA: {fast.ISA}")
    models = {m: (MODELS / f"{m}.tflite").read_bytes() for m in
              ("mobilenet_v1_0.25_128_quant", "mobilenet_v2_1.0_224_quant")}
    graphs = {m: intq.load_tflite(MODELS / f"{m}.tflite") for m in models}
    for name, scheme in (("mobilenet_v1_1.0_224_random", "uint8"), ("mobilenet_v1_1.0_224_int8_random", "int8")):
        g = mobilenet_v1_graph(scheme=scheme)
        graphs[name], models[name] = g, graph_to_tflite_bytes(g)
    if a.models:
        graphs = {m: gr for m, gr in graphs.items() if any(k in m for k in a.models)}
        if not graphs:
            ap.error(f"--models {' '.join(a.models)}: no model name contains any of these ({', '.join(models)})")
    results = {}                          # (model, batch, threads) -> {engine: seconds}
    print("| model | batch | threads | intq fast ms | LiteRT XNNPACK ms | intq/XNNPACK | others (ms) |")
    print("|---|---|---|---|---|---|---|")
    for name, graph in graphs.items():
        for batch in a.batch:
            x = random_input(graph, batch)
            same = np.array_equal(intq.Interpreter(graph).run(x), intq.Interpreter(graph, kernels="reference").run(x))
            runners, litert_error = {}, None  # every engine at every thread count, timed in the same rounds
            qdq = onnx_qdq_mobilenet_v1() if not a.skip_ort and name == "mobilenet_v1_1.0_224_random" else None
            for th in a.threads:
                runners[("intq", th)] = intq_runner(graph, x, th)
                try:
                    if litert_error is None:
                        runners[("xnnpack", th)] = litert_runner(models[name], x, th)
                    if litert_error is None and not a.skip_ref and th == 1:
                        runners[("litert_ref", th)] = litert_runner(models[name], x, th, reference=True)
                except (RuntimeError, ValueError) as e:   # e.g. a RESHAPE to a constant batch-1 shape
                    litert_error = str(e).splitlines()[0]
                    print(f"|   LiteRT cannot run {name} at batch {batch}: {litert_error} | | | | | | |")
                if not a.skip_torch and name == "mobilenet_v1_1.0_224_random":
                    runners[("torch_f32", th)] = torch_mobilenet_v1(th, batch)
                    runners[("torch_int8", th)] = torch_int8_mobilenet_v1(th, batch)
                if qdq is not None:
                    runners[("ort_qdq", th)] = ort_runner(qdq, th, batch)
            reps = a.reps if not any(k[0] == "litert_ref" for k in runners) else max(3, a.reps // 5)
            rounds = {}
            tt = interleaved(runners, reps, rounds)
            for th in a.threads:
                t = results[(name, batch, th)] = {k[0]: v for k, v in tt.items() if k[1] == th}
                others = ", ".join(f"{k} {v * 1e3:.2f}" + f" (intq/{k} {t['intq'] / v:.2f})"
                                   for k, v in t.items() if k not in ("intq", "xnnpack"))
                xnn = f"{t['xnnpack'] * 1e3:.2f} | {t['intq'] / t['xnnpack']:.2f}" if "xnnpack" in t else "- | -"
                print(f"| {name} | {batch} | {th} | {t['intq'] * 1e3:.2f} | {xnn} | {others} |", flush=True)
            if len(a.threads) > 1:
                t0 = a.threads[0]
                ups = "; ".join(f"{e} {speed_up(rounds, (e, t0), (e, th)):.2f}x at {th}" for th in a.threads[1:]
                                for e in ("intq", "xnnpack", "torch_f32", "ort_qdq") if (e, th) in tt)
                print(f"|   speed-up over {t0} thread(s), the median of each round's ratio: {ups} | | | | | | |")
            print(f"|   fast == reference on this input (batch {batch}): {same} | | | | | | |")
    with tempfile.TemporaryDirectory() as d:
        peak = peak_meter(fast.ISA, d)
        if not a.skip_gemm:
            print("\n1x1 conv (GEMM) at 1 thread, fast kernel" + (
                f"; % of one core's {peak[0]} peak (benchmarks/peak.c), the median over {GEMM_ROUNDS} rounds of "
                "(this round's GEMM GOPS / the peak measured just before it):" if peak else ":"))
            if peak:
                print(f"  float32 FMA (vfmadd231ps) peak of the same core: {peak[1]('fma'):.1f} GFLOPS")
            for shape, ms, gops, share in gemm_share(a.reps, peak[1] if peak else None):
                print(f"  {shape}: {ms:.3f} ms, {gops:.1f} GOPS" + (f", {100 * share:.0f}% of the peak"
                                                                    if share else ""))
        top = peak[1]() if peak else None
        print("\nWhole models: GOPS = 2 * MACs of the CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED nodes per second"
              + (f"; % of threads x the {peak[0]} peak measured now ({top:.0f} GOPS per core):" if top else ":"))
        for (name, batch, th), t in results.items():
            ops = 2 * macs_per_image(graphs[name]) * batch
            print(f"  {name}, batch {batch}, {th} thread(s): " + ", ".join(
                f"{e} {ops / v / 1e9:.1f} GOPS" + (f" ({100 * ops / v / 1e9 / (top * th):.0f}%)" if top else "")
                for e, v in t.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
