"""Test-only adapters to outside oracles: LiteRT's reference kernels on the same .tflite bytes.

The package never imports this. ``run_litert`` is the oracle for "bit-exact with TFLite": the
BUILTIN_REF op resolver (TFLite's reference kernels), one thread, no delegates.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def litert_interpreter(model_bytes: bytes, ref: bool = True):
    """A LiteRT Interpreter on ``model_bytes`` with the reference (``ref``) or builtin kernels, 1 thread."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = OpResolverType.BUILTIN_REF if ref else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return Interpreter(model_content=bytes(model_bytes), experimental_op_resolver_type=resolver, num_threads=1)


def run_litert(model_bytes: bytes, inputs: Sequence[np.ndarray], ref: bool = True,
               all_tensors: bool = False) -> list[np.ndarray]:
    """Run ``model_bytes`` in LiteRT on ``inputs`` (in subgraph input order); return copies of the outputs.

    Inputs whose shape differs from the model's (e.g. another batch size) resize the input tensor first.
    With ``all_tensors`` the result is instead a dict {tensor name: array} of every tensor LiteRT kept
    (intermediates need ``experimental_preserve_all_tensors``).
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = OpResolverType.BUILTIN_REF if ref else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = Interpreter(model_content=bytes(model_bytes), experimental_op_resolver_type=resolver, num_threads=1,
                     experimental_preserve_all_tensors=all_tensors)
    details = it.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(f"model takes {len(details)} inputs, got {len(inputs)}")
    for d, x in zip(details, inputs):
        if tuple(d["shape"]) != tuple(np.shape(x)):
            it.resize_tensor_input(d["index"], list(np.shape(x)))
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], np.ascontiguousarray(x, dtype=d["dtype"]))
    it.invoke()
    if all_tensors:
        out = {}
        for d in it.get_tensor_details():
            try:
                out[d["name"]] = np.array(it.get_tensor(d["index"]))
            except ValueError:          # tensors without data (e.g. absent optional ones)
                pass
        return out
    return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]
