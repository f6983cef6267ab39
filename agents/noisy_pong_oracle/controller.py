"""Scripted Pong controller: move the paddle to where the ball will meet it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agents.noisy_pong_oracle import geometry as g
from agents.noisy_pong_oracle.paddle import next_displacement

NOOP, UP, DOWN = 0, 2, 3  # Pong's minimal action set: RIGHT moves the paddle up, LEFT down
PUSH_ACTIONS = {-1: UP, 0: NOOP, 1: DOWN}


def reflect(y: np.ndarray, top: float = g.BALL_TOP, bottom: float = g.BALL_BOTTOM) -> np.ndarray:
    """Fold rows beyond the walls back into ``[top, bottom]`` (elastic bounces)."""
    span = bottom - top
    folded = np.mod(np.asarray(y, dtype=np.float64) - top, 2 * span)
    return top + np.where(folded > span, 2 * span - folded, folded)


def intercept_rows(x: np.ndarray, y: np.ndarray, vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    """Rows at which balls at ``(x, y)`` moving ``(vx, vy)`` per step reach the agent's paddle."""
    steps = np.clip((g.HIT_COLUMN - x) / np.where(np.abs(vx) < 1e-6, 1e-6, vx), 0.0, 200.0)
    return reflect(y + vy * steps)


def median_row(histogram: np.ndarray) -> float:
    """The median of a mass histogram over rows (index = row)."""
    cumulative = np.cumsum(histogram)
    return float(np.searchsorted(cumulative, 0.5 * cumulative[-1]))


def target_row(present: float, approaching: float, intercepts: Callable[[], np.ndarray], mean_row: float) -> float:
    """Where the paddle centre should go.

    Args:
        present: P(a ball is on the field).
        approaching: P(a ball is on the field and moving towards the agent).
        intercepts: returns the mass of the approaching ball per row where it will reach the paddle (index =
            row); called only for an approaching ball.
        mean_row: the ball's expected row.

    An approaching ball: the paddle's hitting row (``HIT_OFFSET`` above its centre) at the median intercept.
    A receding ball: halfway between the middle of the field and the ball's row. No ball: the middle.
    """
    if present < 0.5:
        return g.FIELD_CENTRE
    if approaching >= 0.5 * present:
        return median_row(intercepts()) - g.HIT_OFFSET
    return 0.5 * g.FIELD_CENTRE + 0.5 * mean_row


def choose_push(centre: float, last_displacement: float, last_push: int, target: float) -> int:
    """The push (-1 up, 0, +1 down) whose paddle, coasting one more step, stops closest to ``target``.

    Uses the paddle's response (:mod:`agents.noisy_pong_oracle.paddle`): the push moves it this step
    and, more, the next; ties go to not pushing.
    """
    best, best_error = 0, np.inf
    for push in (0, -1, 1):
        first = next_displacement(last_displacement, push, last_push)
        second = next_displacement(first, 0, push)
        error = abs(centre + first + second - target)
        if error < best_error - 1e-9:
            best, best_error = push, error
    return best
