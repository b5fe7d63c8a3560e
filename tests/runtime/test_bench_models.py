"""The benchmark's random MobileNet v1 (benchmarks/bench_models.py ``mobilenet_v1_graph``), in the paper's uint8
scheme and in TFLite's int8 one (per-channel weights), smaller than the benchmark's 1.0/224 so that LiteRT's
reference kernels run it in seconds: every tensor of intq's fast kernels, at 1 and 2 threads and at batch 2,
equals LiteRT's on the same .tflite bytes. The benchmark's own check is fast == reference; this one ties the
int8 twin it times to the oracle as a whole network, not op by op. (Sizes and seeds whose 1001 logits stay
apart: LiteRT aborts the process on a row whose softmax sum of exps reaches 512, see reference/softmax.py.)"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
from oracles import run_litert  # noqa: E402

import intq  # noqa: E402
from intq.io import graph_to_tflite_bytes  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_models import mobilenet_v1_graph, random_input  # noqa: E402


@pytest.mark.parametrize("scheme", ["uint8", "int8"])
@pytest.mark.parametrize("alpha,size", [(0.25, 128), (0.5, 64)])
def test_benchmark_mobilenet_every_tensor_matches_litert(scheme, alpha, size):
    g = mobilenet_v1_graph(alpha=alpha, size=size, seed=3, scheme=scheme)
    x = random_input(g, batch=1, seed=5)
    lite = run_litert(graph_to_tflite_bytes(g), [x], all_tensors=True)
    for threads in (1, 2):
        got = intq.Interpreter(g, num_threads=threads).run(x, intermediates=True)
        names = [t for t in got if t in lite and g.tensor(t).data is None]
        assert len(names) == len(g.nodes) + 1                          # the input and every node's output
        bad = [t for t in names if not np.array_equal(got[t], lite[t])]
        assert not bad, f"{scheme} {alpha}/{size}, {threads} thread(s): {bad[:5]} differ"
        (out,) = intq.Interpreter(g, num_threads=threads).run(x)       # the one-call plan
        assert np.array_equal(out, lite[g.outputs[0]])
    assert np.ptp(lite[g.outputs[0]].astype(np.int32)) > 0            # the probabilities are not all one code
    xb = random_input(g, batch=2, seed=6)
    (want,) = run_litert(graph_to_tflite_bytes(g), [xb])
    (got,) = intq.Interpreter(g, num_threads=2).run(xb)
    assert np.array_equal(got, want)
