"""Tensors of the integer graph: name, shape, dtype, quantization, optional constant data. Imports: numpy."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DTYPES = ("uint8", "int8", "int16", "int32", "int64", "float32", "bool")


@dataclass(frozen=True)
class Quantization:
    """Affine parameters real = scale * (q - zero_point).

    Per-tensor when ``scale`` has one entry; per-channel along ``axis`` (TFLite's quantized_dimension)
    otherwise. scale: float32[C], zero_point: int64[C].
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int = 0

    def __post_init__(self):
        object.__setattr__(self, "scale", np.atleast_1d(np.asarray(self.scale, dtype=np.float32)))
        object.__setattr__(self, "zero_point", np.atleast_1d(np.asarray(self.zero_point, dtype=np.int64)))

    @classmethod
    def per_tensor(cls, scale: float, zero_point: int) -> "Quantization":
        return cls(np.array([scale], np.float32), np.array([zero_point], np.int64), 0)

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    @property
    def single_scale(self) -> float:
        """The scale of a per-tensor quantization as a Python float (float32-exact)."""
        return float(self.scale[0])

    @property
    def single_zero_point(self) -> int:
        return int(self.zero_point[0])

    def __eq__(self, other) -> bool:
        return (isinstance(other, Quantization) and self.axis == other.axis
                and np.array_equal(self.scale, other.scale) and np.array_equal(self.zero_point, other.zero_point))

    def __hash__(self):
        return hash((self.scale.tobytes(), self.zero_point.tobytes(), self.axis))


@dataclass
class Tensor:
    """A graph tensor. ``data`` is set for constants (weights, biases, shapes, axes), None for activations.

    Activations are NHWC; conv filters OHWI; depthwise filters [1, H, W, C*M]; FC weights [out, in]
    (all as TFLite stores them).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quantization | None = None
    data: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = str(np.dtype(self.dtype)) if self.dtype != "bool" else "bool"

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def scale(self) -> float:
        return self.quant.single_scale

    @property
    def zero_point(self) -> int:
        return self.quant.single_zero_point
