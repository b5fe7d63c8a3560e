"""intq.data: digits, IDX (MNIST / Fashion-MNIST) and CIFAR-10 loaders, and their errors."""
from __future__ import annotations

import gzip
import io
import struct
import zipfile

import numpy as np
import pytest

from intq.data import DataError, load_dataset, load_digits, read_idx, to_float
from intq.data.common import DataFileError
from intq.errors import IntqError


def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()


def _write_mnist(d, n_train=6, n_test=4, gz=True):
    rng = np.random.default_rng(0)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labs = (np.arange(n) % 10).astype(np.uint8)
        for kind, arr in (("images-idx3", imgs), ("labels-idx1", labs)):
            raw = _idx(arr)
            name = f"{stem}-{kind}-ubyte" + (".gz" if gz else "")
            (d / name).write_bytes(gzip.compress(raw) if gz else raw)


def test_digits_split_is_fixed_and_stratified():
    ds = load_digits()
    assert ds.image_shape == (1, 8, 8) and ds.num_classes == 10
    assert len(ds.train) + len(ds.test) == 1797
    assert ds.train.images.dtype == np.uint8 and ds.train.images.max() == 255
    counts = np.bincount(ds.test.labels, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # 20% of 174..183 per class
    again = load_digits()
    np.testing.assert_array_equal(ds.test.labels, again.test.labels)
    assert load_dataset("digits").name == "digits"


def test_to_float_range():
    x = to_float(np.array([[[[0, 255, 51]]]], np.uint8))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.ravel(), [0.0, 1.0, 0.2], rtol=1e-6)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip(tmp_path, gz):
    _write_mnist(tmp_path, gz=gz)
    ds = load_dataset("mnist", str(tmp_path))
    assert ds.train.images.shape == (6, 1, 28, 28) and ds.test.images.shape == (4, 1, 28, 28)
    assert list(ds.train.labels) == [0, 1, 2, 3, 4, 5]
    raw = gzip.decompress((tmp_path / "train-images-idx3-ubyte.gz").read_bytes()) if gz else None
    if gz:
        np.testing.assert_array_equal(ds.train.images[:, 0], np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28))


def test_idx_errors(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        read_idx(tmp_path / "nope.gz")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(DataFileError, match="magic"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(_idx(np.zeros((5,), np.uint8))[:-1])
    with pytest.raises(DataFileError, match="data bytes"):
        read_idx(tmp_path / "short")
    (tmp_path / "corrupt.gz").write_bytes(b"\x1f\x8b" + b"junk")
    with pytest.raises(DataFileError):
        read_idx(tmp_path / "corrupt.gz")
    _write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(IntqError, match="t10k-labels"):
        load_dataset("mnist", str(tmp_path))


def test_dataset_errors(tmp_path):
    with pytest.raises(DataError, match="unknown"):
        load_dataset("imagenet")
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("fashion-mnist", str(tmp_path / "missing"))


def _jpeg(color) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), color).save(buf, format="PNG")
    return buf.getvalue()


def test_cifar_zip_and_folder(tmp_path):
    zdir = tmp_path / "z"
    zdir.mkdir()
    for part in ("train", "test"):
        with zipfile.ZipFile(zdir / f"cifar10_{part}_jpeg.zip", "w") as zf:
            zf.writestr(f"{part}/cat/0001.png", _jpeg((10, 20, 30)))
            zf.writestr(f"{part}/airplane/0001.png", _jpeg((200, 0, 0)))
    ds = load_dataset("cifar10", str(zdir))
    assert ds.train.images.shape == (2, 3, 32, 32)
    assert list(ds.train.labels) == [0, 3]  # sorted: airplane (0), cat (3)
    assert tuple(ds.train.images[1, :, 0, 0]) == (10, 20, 30)
    fdir = tmp_path / "f"
    for part in ("train", "test"):
        (fdir / part / "ship").mkdir(parents=True)
        (fdir / part / "ship" / "a.png").write_bytes(_jpeg((1, 2, 3)))
    ds = load_dataset("cifar10", str(fdir))
    assert list(ds.test.labels) == [8]


def test_cifar_errors(tmp_path):
    (tmp_path / "cifar10_train_jpeg.zip").write_bytes(b"not a zip")
    with pytest.raises(DataFileError, match="zip"):
        load_dataset("cifar10", str(tmp_path))
    d2 = tmp_path / "d2"
    (d2 / "train" / "nocls").mkdir(parents=True)
    (d2 / "train" / "nocls" / "a.png").write_bytes(_jpeg((0, 0, 0)))
    with pytest.raises(DataFileError, match="class"):
        load_dataset("cifar10", str(d2))
    d3 = tmp_path / "d3"
    (d3 / "train" / "cat").mkdir(parents=True)
    (d3 / "train" / "cat" / "a.jpg").write_bytes(b"garbage")
    with pytest.raises(DataFileError, match="decode"):
        load_dataset("cifar10", str(d3))


def test_shared_fashion_mnist(shared_data):
    ds = load_dataset("fashion-mnist", str(shared_data))
    assert len(ds.train) == 60000 and len(ds.test) == 10000
    assert list(ds.train.labels[:10]) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(ds.test.labels).tolist() == [1000] * 10
