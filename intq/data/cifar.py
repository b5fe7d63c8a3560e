"""CIFAR-10 loader: zips of JPEG/PNG images or folders ``train/<class>/*``. Imports: numpy, stdlib, PIL, intq.data.common."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from intq.data.common import DataError, DataFileError, Dataset, Split

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


def _decode(data: bytes, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataFileError(where, f"cannot decode image: {e}") from None
    if img.shape != (32, 32, 3):
        raise DataFileError(where, f"expected a 32x32 RGB image, got {img.shape}")
    return img


def _label(member: str, where: str) -> int:
    parts = member.replace("\\", "/").split("/")
    if len(parts) < 2 or parts[-2] not in CLASSES:
        raise DataFileError(where, f"cannot tell the class of {member!r} (expected <part>/<class>/<file>)")
    return CLASSES.index(parts[-2])


def _from_items(items, where: str) -> Split:
    images, labels = [], []
    for member, read in items:
        labels.append(_label(member, where))
        images.append(_decode(read(), f"{where}:{member}"))
    if not images:
        raise DataFileError(where, "no images found")
    return Split(np.stack(images).transpose(0, 3, 1, 2).copy(), np.asarray(labels, np.int64))


def _load_zip(path: Path) -> Split:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataFileError(str(path), f"not a readable zip: {e}") from None
    with zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith(_EXTS))
        try:
            return _from_items([(n, lambda n=n: zf.read(n)) for n in names], str(path))
        except (zipfile.BadZipFile, OSError) as e:
            raise DataFileError(str(path), f"corrupt zip member: {e}") from None


def _load_folder(path: Path) -> Split:
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in _EXTS)
    return _from_items([(str(p.relative_to(path)), p.read_bytes) for p in files], str(path))


def _part(directory: Path, part: str) -> Split:
    for z in sorted(directory.glob(f"*{part}*.zip")):
        return _load_zip(z)
    if (directory / part).is_dir():
        return _load_folder(directory / part)
    raise DataFileError(str(directory / part), f"no {part} zip (*{part}*.zip) or folder {part}/<class>/ found")


def load_cifar10(data_dir: str | Path) -> Dataset:
    """CIFAR-10 from ``data_dir`` (or ``data_dir/cifar10-jpeg``): uint8 [N, 3, 32, 32], labels in CLASSES order."""
    directory = Path(data_dir)
    if not directory.is_dir():
        raise DataError(f"data directory {str(directory)!r} does not exist")
    if (directory / "cifar10-jpeg").is_dir():
        directory = directory / "cifar10-jpeg"
    return Dataset("cifar10", _part(directory, "train"), _part(directory, "test"), 10)
