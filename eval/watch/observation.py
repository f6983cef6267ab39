"""The observation an agent received, as a picture: noisy bits per variable, a noisy delayed frame, a vector."""

from __future__ import annotations

import math

import cv2
import numpy as np

from eval.watch.canvas import blank

BAR = (70, 110, 190)


def newest_frame(observation: np.ndarray, frame_size: int | None = None) -> np.ndarray:
    """The newest frame of a stacked observation: the last ``frame_size`` entries of a flat one, the last
    channel of an image (channel-first ``(C, H, W)`` when ``C`` is the smallest side, else ``(H, W, C)``).

    Example:
        >>> newest_frame(np.arange(12), frame_size=4)
        array([ 8,  9, 10, 11])
        >>> newest_frame(np.zeros((4, 84, 84))).shape
        (84, 84)
    """
    observation = np.asarray(observation)
    if observation.ndim == 1:
        return observation[-frame_size:] if frame_size else observation
    if observation.ndim == 3:
        return observation[-1] if observation.shape[0] < observation.shape[2] else observation[..., -1]
    return observation


def grey(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` mapped linearly from ``[low, high]`` to grey levels 0..255 (clipped), uint8."""
    span = high - low if high > low else 1.0
    return (np.clip((np.asarray(values, dtype=np.float64) - low) / span, 0.0, 1.0) * 255).astype(np.uint8)


def bits_panel(bits: np.ndarray, n_groups: int) -> np.ndarray:
    """Flat bits cut into ``n_groups`` equal groups (e.g. one per state variable), each folded into a near-square
    block (white = 1), the blocks in a near-square grid, row by row, with grey gaps.

    Example:
        >>> bits_panel(np.ones(4 * 1024, np.int8), 4).shape
        (65, 65)
    """
    groups = np.asarray(bits).reshape(n_groups, -1)
    side = math.ceil(math.sqrt(groups.shape[1]))
    columns = math.ceil(math.sqrt(n_groups))
    rows = math.ceil(n_groups / columns)
    padded = np.full((rows * columns, side * side), 0.5)
    padded[:n_groups, : groups.shape[1]] = groups
    image = np.full((rows * (side + 1) - 1, columns * (side + 1) - 1), 128, np.uint8)
    for index, group in enumerate(padded):
        row, column = divmod(index, columns)
        image[row * (side + 1) : row * (side + 1) + side, column * (side + 1) : column * (side + 1) + side] = grey(
            group.reshape(side, side), 0.0, 1.0
        )
    return image


def bars_panel(values: np.ndarray, low: float, high: float, height: int = 120, bar_width: int = 10) -> np.ndarray:
    """A bar per value, scaled from ``[low, high]`` to the panel height (a vector observation).

    Example:
        >>> bars_panel(np.array([0.0, 0.5, 1.0]), 0.0, 1.0).shape
        (120, 36, 3)
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    panel = blank(height, bar_width * len(values) + 6)
    levels = grey(values, low, high).astype(np.int64) * (height - 4) // 255
    for i, level in enumerate(levels):
        x = 3 + i * bar_width
        cv2.rectangle(panel, (x + 1, height - 2 - int(level)), (x + bar_width - 2, height - 2), BAR, -1)
    return panel


def matrix_panel(values: np.ndarray, rows: int) -> np.ndarray:
    """A flat vector folded into ``rows`` rows and shown as grey levels between its own min and max."""
    matrix = np.asarray(values, dtype=np.float64).reshape(rows, -1)
    return grey(matrix, float(matrix.min()), float(matrix.max()))
