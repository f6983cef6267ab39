"""An RGB picture of one MetaUtility episode: the input digit and the decision made for each block."""

from __future__ import annotations

import numpy as np

SCALE = 4
RAN, SKIPPED, PENDING = (40, 170, 60), (120, 120, 120), (255, 255, 255)


def render_decisions(image: np.ndarray, runs: np.ndarray, n_decided: int) -> np.ndarray:
    """``(H, W, 3)`` uint8: ``image`` (28×28 in [0, 1]) enlarged, above a strip of one cell per block.

    Example:
        >>> render_decisions(np.zeros((28, 28)), np.array([1, 0, 0]), 2).shape
        (128, 112, 3)
    """
    digit = np.kron((np.asarray(image) * 255).astype(np.uint8), np.ones((SCALE, SCALE), dtype=np.uint8))
    frame = np.repeat(digit[..., None], 3, axis=2)
    strip = np.zeros((16, frame.shape[1], 3), dtype=np.uint8)
    edges = np.linspace(0, frame.shape[1], len(runs) + 1).astype(int)
    for i, (start, stop) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        color = PENDING if i >= n_decided else (RAN if runs[i] else SKIPPED)
        strip[2:-2, start + 1 : stop - 1] = color
    return np.concatenate([frame, strip], axis=0)
