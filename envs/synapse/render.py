"""Receptive fields of the first learnable group as one tiled image (TensorBoard and ``render``)."""

from __future__ import annotations

import numpy as np
import torch


def receptive_fields(weight: torch.Tensor, side: int, max_fields: int = 100) -> np.ndarray:
    """Tile the input weights of up to ``max_fields`` post neurons as a grey ``uint8`` RGB image.

    Args:
        weight: ``(side*side, n_post)`` input weights.
        side: image side in pixels.
        max_fields: number of neurons shown (the first ones).

    Example:
        >>> receptive_fields(torch.rand(64, 10), 8).shape
        (28, 37, 3)
    """
    n = min(max_fields, weight.shape[1])
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    canvas = np.zeros((rows * (side + 1) + 1, cols * (side + 1) + 1), dtype=np.float64)
    fields = weight[:, :n].detach().cpu().numpy().T.reshape(n, side, side)
    for i, field in enumerate(fields):
        low, high = field.min(), field.max()
        r, c = divmod(i, cols)
        scaled = (field - low) / (high - low) if high > low else np.zeros_like(field)
        canvas[1 + r * (side + 1) : 1 + r * (side + 1) + side, 1 + c * (side + 1) : 1 + c * (side + 1) + side] = scaled
    image = (canvas * 255).astype(np.uint8)
    return np.repeat(image[:, :, None], 3, axis=2)
