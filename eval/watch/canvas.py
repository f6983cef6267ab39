"""Panels: an RGB image under a title bar, panels side by side, text lines, encoder-friendly padding."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
TITLE_HEIGHT = 22
LINE_HEIGHT = 18
FONT = cv2.FONT_HERSHEY_SIMPLEX


def blank(height: int, width: int, color: tuple[int, int, int] = BACKGROUND) -> np.ndarray:
    """A ``(height, width, 3)`` uint8 image of one colour."""
    return np.full((height, width, 3), color, dtype=np.uint8)


def put_text(image: np.ndarray, text: str, x: int, y: int, scale: float = 0.45, color: tuple = INK) -> None:
    """Write ``text`` (ASCII) with its baseline at ``(x, y)``, in place."""
    cv2.putText(image, text, (x, y), FONT, scale, color, 1, cv2.LINE_AA)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """A grey ``(H, W)`` or ``(H, W, 1)`` image, or an RGB one, as ``(H, W, 3)`` uint8."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image shape {image.shape} is not a grey (H, W) or RGB (H, W, 3) image")
    return image.astype(np.uint8, copy=False)


def scale_to_height(image: np.ndarray, height: int) -> np.ndarray:
    """``image`` resized to ``height`` rows, aspect kept, nearest neighbour (pixels stay sharp)."""
    image = to_rgb(image)
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_NEAREST)


def titled(image: np.ndarray, title: str, height: int) -> np.ndarray:
    """``image`` scaled to ``height`` rows under a title bar (at least as wide as the title)."""
    body = scale_to_height(image, height)
    width = max(body.shape[1], int(cv2.getTextSize(title, FONT, 0.45, 1)[0][0]) + 8)
    panel = blank(TITLE_HEIGHT + height, width)
    put_text(panel, title, 4, TITLE_HEIGHT - 7)
    panel[TITLE_HEIGHT:, (width - body.shape[1]) // 2 : (width - body.shape[1]) // 2 + body.shape[1]] = body
    return panel


def text_panel(lines: Sequence[str], width: int, height: int) -> np.ndarray:
    """Lines of text, top to bottom, on a white ``(height, width)`` panel."""
    panel = blank(height, width)
    for row, line in enumerate(lines):
        put_text(panel, line, 6, LINE_HEIGHT * (row + 1))
    return panel


def side_by_side(panels: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Panels left to right, top-aligned, on white, ``gap`` pixels apart."""
    height = max(panel.shape[0] for panel in panels)
    width = sum(panel.shape[1] for panel in panels) + gap * (len(panels) + 1)
    out = blank(height + 2 * gap, width)
    x = gap
    for panel in panels:
        out[gap : gap + panel.shape[0], x : x + panel.shape[1]] = panel
        x += panel.shape[1] + gap
    return out


def pad_to_block(frame: np.ndarray, block: int = 16) -> np.ndarray:
    """``frame`` padded with white to sides that are multiples of ``block`` (what H.264/VP9 encoders want).

    Example:
        >>> pad_to_block(np.zeros((30, 17, 3), np.uint8)).shape
        (32, 32, 3)
    """
    height, width = frame.shape[:2]
    out = blank(-(-height // block) * block, -(-width // block) * block)
    out[:height, :width] = frame
    return out
