"""Helpers of the fast-kernel tests: a fast kernel against the reference, byte for byte."""
from __future__ import annotations

import numpy as np

from intq.runtime.kernels import ExecContext, kernel_set


def assert_conv_like_equal(g, x, prep, run_level, ref_kernel, levels) -> None:
    """A one-node CONV_2D / DEPTHWISE_CONV_2D graph (inputs x, "w", "b") at every ISA level in ``levels``
    and 1 and 2 threads equals the reference kernel."""
    node = g.nodes[0]
    want = ref_kernel.run(ref_kernel.prepare(g, node), [x, g.tensor("w").data, g.tensor("b").data],
                          ExecContext())[0]
    p = prep(g, node)
    for level in levels:
        for threads in (1, 2):
            got = run_level(p, x, threads, level)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want), f"level {level} threads {threads}"


def planned_run(it, *inputs) -> list[np.ndarray]:
    """The outputs of Interpreter ``it``'s one-call plan itself (Interpreter.run would fall back to the
    node-by-node path if the plan refused the inputs, hiding a plan that never runs)."""
    plan = it._plan if it._plan is not None and it._plan.accepts(list(inputs)) else \
        it._other_plans.get(tuple(x.shape for x in inputs))
    assert plan is not None, "no plan for these inputs"
    outs = plan.run([np.ascontiguousarray(x) for x in inputs])
    assert outs is not None
    return outs


def assert_kernel_equal(op: str, g, inputs: list, fast_kernels) -> None:
    """``fast_kernels[op]`` and the reference kernel give the same array on a one-node graph."""
    ref_k, fast_k = kernel_set("reference")[op], fast_kernels[op]
    node = g.nodes[0]
    want = ref_k.run(ref_k.prepare(g, node), inputs, ExecContext())[0]
    got = fast_k.run(fast_k.prepare(g, node), inputs, ExecContext())[0]
    assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
