"""Graphs from intq.convert (QUANTIZE, TRANSPOSE, PAD, MEAN, MAX_POOL_2D, ..., DEQUANTIZE) run as one planned C
call whose float32 outputs equal the reference Interpreter's exactly."""
from __future__ import annotations

import numpy as np
import pytest

import intq
from intq.runtime.interpreter import Interpreter
from fast_cases import planned_run

torch = pytest.importorskip("torch")
fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.models import build_model  # noqa: E402
from intq.qat import QatConfig  # noqa: E402

BATCH = 4
ZOO = {"mobilenet_v1": dict(width=0.25), "mobilenet_v2": dict(width=0.25), "resnet": {}, "inception": {}}
CASES = [(name, "uint8") for name in ZOO] + [("mobilenet_v2", "int8")]


def _graph(name: str, scheme: str = "uint8"):
    torch.manual_seed(0)
    m = build_model(name, 3, 10, 28, **ZOO[name])
    cfg = QatConfig(scheme=scheme, per_channel=True) if scheme == "int8" else None
    return intq.convert(intq.calibrate(m, [torch.randn(BATCH, 3, 28, 28)], config=cfg))


@pytest.mark.parametrize("name, scheme", CASES)
def test_converted_model_is_planned_and_equals_reference(name, scheme):
    g = _graph(name, scheme)
    assert {"QUANTIZE", "DEQUANTIZE", "TRANSPOSE", "MEAN"} <= {n.op for n in g.nodes}
    ref = Interpreter(g, kernels="reference")
    x = np.random.default_rng(1).standard_normal((BATCH, 3, 28, 28)).astype(np.float32) * np.float32(2)
    want = ref.run(x)
    for threads in (1, 2):
        it = Interpreter(g, num_threads=threads)
        got = planned_run(it, x)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
            assert np.array_equal(a.view(np.uint32), b.view(np.uint32))
        # another batch size: node by node the first time, then planned; the same result per image
        one = it.run(x[:1])
        assert all(np.array_equal(a.view(np.uint32), b[:1].view(np.uint32)) for a, b in zip(one, want))
        one = planned_run(it, x[:1])
        assert all(np.array_equal(a.view(np.uint32), b[:1].view(np.uint32)) for a, b in zip(one, want))
