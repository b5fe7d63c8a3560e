"""Containers and errors shared by the data loaders. Imports: numpy, stdlib, intq.errors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intq.errors import IntqError, ModelFileError


class DataError(IntqError):
    """A data set that is missing, unknown or not what its loader expects."""


class DataFileError(DataError, ModelFileError):
    """A data file that is missing, truncated or corrupt; names the path."""


@dataclass(frozen=True)
class Split:
    """One part of a data set: ``images`` uint8 [N, C, H, W], ``labels`` int64 [N]."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise DataError(f"images must be uint8 [N, C, H, W], got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise DataError(f"labels shape {self.labels.shape} does not match {self.images.shape[0]} images")

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A named data set with train and test splits and its number of classes."""

    name: str
    train: Split
    test: Split
    num_classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.train.images.shape[1:])


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1] (x / 255), the input range of every intq model."""
    return images.astype(np.float32) / np.float32(255.0)
