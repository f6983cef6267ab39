"""The CartPole scene drawn with OpenCV on a numpy array, as Gymnasium's pygame renderer draws it."""

from __future__ import annotations

import math

import cv2
import numpy as np

from envs import cartpole_physics as physics
from eval.watch.canvas import blank

CART, POLE, AXLE, TRACK = (30, 30, 30), (202, 152, 101), (129, 132, 203), (0, 0, 0)
PUSH, APPLIED = (200, 60, 60), (40, 140, 60)


def draw_cartpole(state: np.ndarray, width: int = 360, height: int = 240) -> np.ndarray:
    """``(height, width, 3)`` uint8: track, cart at ``x`` and pole at angle ``theta`` of ``state = (x, ẋ, θ, θ̇)``.

    The track spans ±2.4 (where the episode ends), with marks at the ends; the pole has its true length.

    Example:
        >>> draw_cartpole(np.zeros(4)).shape
        (240, 360, 3)
    """
    x, _, theta, _ = (float(v) for v in state)
    image = blank(height, width)
    scale = width / (2 * physics.X_LIMIT * 1.1)
    track_y = int(height * 0.75)
    centre_x = width / 2 + x * scale
    cv2.line(image, (0, track_y), (width, track_y), TRACK, 1)
    for end in (-physics.X_LIMIT, physics.X_LIMIT):
        mark = int(width / 2 + end * scale)
        cv2.line(image, (mark, track_y - 6), (mark, track_y + 6), TRACK, 1)
    cart_w, cart_h = int(0.5 * scale), int(0.3 * scale)
    top_left = (int(centre_x - cart_w / 2), track_y - cart_h // 2)
    cv2.rectangle(image, top_left, (top_left[0] + cart_w, top_left[1] + cart_h), CART, -1)
    axle = (int(centre_x), top_left[1])
    pole_len = 2 * physics.HALF_LENGTH * scale
    tip = (int(axle[0] + pole_len * math.sin(theta)), int(axle[1] - pole_len * math.cos(theta)))
    cv2.line(image, axle, tip, POLE, max(2, int(0.1 * scale)), cv2.LINE_AA)
    cv2.circle(image, axle, max(2, int(0.05 * scale)), AXLE, -1, cv2.LINE_AA)
    return image


def draw_push(image: np.ndarray, direction: int | None, row: int, color: tuple[int, int, int]) -> None:
    """An arrow at ``row`` pointing left (0) or right (1) from the image centre; nothing for ``None``, in place."""
    if direction is None:
        return
    centre = image.shape[1] // 2
    tip = centre + (40 if direction == 1 else -40)
    cv2.arrowedLine(image, (centre, row), (tip, row), color, 2, cv2.LINE_AA, tipLength=0.3)
