"""Layer 2, integer-only execution of an ir.Graph. Imports: intq.ir, intq.scheme, numpy. Never torch."""
from intq.runtime.interpreter import Interpreter
from intq.runtime.kernels import Kernel, kernel_set

__all__ = ["Interpreter", "Kernel", "kernel_set"]
