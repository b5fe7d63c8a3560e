"""MNIST / Fashion-MNIST loader for IDX files (optionally gzip'd). Imports: numpy, stdlib, intq.data.common."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from intq.data.common import DataError, DataFileError, Dataset, Split

# IDX type code 0x08 = unsigned byte, the only one MNIST-style files use.
_UBYTE = 0x08
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (magic 0x00 0x00 0x08 ndim, big-endian uint32 dims, uint8 data); ``.gz`` is decompressed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DataFileError(str(path), "file not found") from None
    except (OSError, EOFError) as e:
        raise DataFileError(str(path), f"cannot read/decompress: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataFileError(str(path), "not an IDX file (bad magic)")
    if raw[2] != _UBYTE:
        raise DataFileError(str(path), f"IDX type 0x{raw[2]:02x} unsupported (only unsigned byte)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataFileError(str(path), "truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(dims))
    if len(raw) - header != count:
        raise DataFileError(str(path), f"expected {count} data bytes for dims {dims}, found {len(raw) - header}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    raise DataFileError(str(directory / (stem + ".gz")), "file not found (also tried without .gz)")


def _split(directory: Path, part: str) -> Split:
    img_path, lab_path = (_find(directory, s) for s in FILES[part])
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataFileError(str(img_path), f"expected images [N,H,W] and labels [N], got {images.shape}, {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DataFileError(str(lab_path), f"{labels.shape[0]} labels for {images.shape[0]} images")
    if labels.size and labels.max() > 9:
        raise DataFileError(str(lab_path), f"label {int(labels.max())} out of range 0..9")
    return Split(np.ascontiguousarray(images[:, None]), labels.astype(np.int64))


def load_idx_dataset(data_dir: str | Path, name: str = "mnist") -> Dataset:
    """Load MNIST-layout IDX files from ``data_dir`` (or ``data_dir/<name>`` if the files live there)."""
    directory = Path(data_dir)
    if not directory.is_dir():
        raise DataError(f"data directory {str(directory)!r} does not exist")
    if (directory / name).is_dir() and not any(directory.glob("train-images*")):
        directory = directory / name
    return Dataset(name, _split(directory, "train"), _split(directory, "test"), 10)
