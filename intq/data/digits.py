"""The embedded default data set: scikit-learn's 8x8 handwritten digits. Imports: numpy, sklearn, intq.data.common."""
from __future__ import annotations

import numpy as np

from intq.data.common import Dataset, Split


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn ``load_digits`` (1797 images, 8x8, values 0..16, bundled, nothing downloaded).

    Pixels are rescaled to uint8 as ``round(v * 255 / 16)`` so every loader shares one uint8 format; the split
    is a fixed stratified shuffle (``seed``) with ``test_fraction`` of each class in the test part.
    """
    from sklearn.datasets import load_digits as _sk_load

    bunch = _sk_load()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None, :, :]  # [N,1,8,8]
    labels = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        test_idx.append(idx[: int(round(len(idx) * test_fraction))])
    test_mask = np.zeros(len(labels), bool)
    test_mask[np.concatenate(test_idx)] = True
    train_idx = np.flatnonzero(~test_mask)
    rng.shuffle(train_idx)
    test = np.flatnonzero(test_mask)
    return Dataset("digits", Split(images[train_idx], labels[train_idx]), Split(images[test], labels[test]), 10)
