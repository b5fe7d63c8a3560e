"""Data sets for training and evaluation, returned as numpy arrays; never downloads. Imports: numpy, stdlib, PIL, sklearn.

Every loader returns a :class:`Split` per part (train / test): ``images`` uint8 NCHW ``[N, C, H, W]`` and
``labels`` int64 ``[N]``. :func:`to_float` maps uint8 pixels to float32 in [0, 1], the range the converted
graph's float input expects.
"""
from __future__ import annotations

from intq.data.cifar import load_cifar10
from intq.data.common import DataError, Dataset, Split, to_float
from intq.data.digits import load_digits
from intq.data.idx import load_idx_dataset, read_idx

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")


def load_dataset(name: str, data_dir: str | None = None) -> Dataset:
    """Load a data set by name: "digits" (embedded, 8x8), "mnist" / "fashion-mnist" (IDX gz in data_dir),
    "cifar10" (zips of JPEGs or class folders in data_dir)."""
    if name == "digits":
        return load_digits()
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if data_dir is None:
        raise DataError(f"data set {name!r} needs --data-dir (intq never downloads)")
    if name == "cifar10":
        return load_cifar10(data_dir)
    return load_idx_dataset(data_dir, name)


__all__ = ["DATASETS", "DataError", "Dataset", "Split", "load_dataset", "load_digits", "load_idx_dataset",
           "load_cifar10", "read_idx", "to_float"]
