"""Public name of the rounding spec: everything in :mod:`intq.scheme.fixedpoint`, re-exported."""
from intq.scheme.fixedpoint import *  # noqa: F401,F403
from intq.scheme.fixedpoint import (  # noqa: F401  (explicit for readers and linters)
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
