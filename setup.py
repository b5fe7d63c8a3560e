"""Build of intq's optional compiled kernels (csrc/ -> intq/runtime/fast/_intq_fast*.so, loaded with ctypes).

The library is a plain C shared object (no Python C API). It is optional: without a compiler the build
skips it and intq.runtime.kernels falls back to the reference kernels. ISA-specific code is selected at run
time (__builtin_cpu_supports + per-function target attributes), so no -march flag is used here.
-ffp-contract=off keeps the float32 RESIZE_BILINEAR (LiteRT's uint8 reference) free of fused multiply-adds.
A second, small module (csrc/python/intq_entry.c -> _intq_entry*.so: the Python C API, no kernels) makes a
planned graph's run one CPython call; it is optional too: without it intq.runtime.fast.plan runs the same
plan from Python.
"""
import sys

from setuptools import Extension, setup

_unix = sys.platform != "win32"
setup(ext_modules=[Extension(
    "intq.runtime.fast._intq_fast",
    sources=["csrc/intq_fast.c", "csrc/intq_depthwise.c", "csrc/intq_softmax.c", "csrc/intq_plan.c",
             "csrc/intq_resize.c", "csrc/intq_threads.c", "csrc/intq_layout.c", "csrc/intq_pool.c", "csrc/intq_add.c"],
    depends=["csrc/intq_common.h", "csrc/intq_kernels.h", "csrc/intq_v512.h"],
    extra_compile_args=["-O3", "-std=gnu11", "-pthread", "-ffp-contract=off"] if _unix else ["/O2", "/fp:precise"],
    extra_link_args=["-pthread"] if _unix else [],
    optional=True,
), Extension(
    "intq.runtime.fast._intq_entry",
    sources=["csrc/python/intq_entry.c"],
    extra_compile_args=["-O2", "-std=gnu11"] if _unix else ["/O2"],
    optional=True,
)])
