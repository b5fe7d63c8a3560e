"""Fast kernels: same ops and results as runtime/reference, compiled. Imports: intq.runtime.reference, numpy."""
from __future__ import annotations

from types import MappingProxyType

KERNELS = MappingProxyType({})
