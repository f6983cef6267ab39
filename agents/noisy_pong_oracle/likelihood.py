"""Exact per-pixel flip likelihoods of the ball and the paddle in one noisy binary frame.

A pixel whose clean value is ``c`` is seen as ``o`` with probability ``1 - p`` if ``o == c`` and ``p``
otherwise (``p = flip_prob``). Against the hypothesis that a set ``T`` of pixels is off, the hypothesis
that they are on has log-likelihood ratio ``sum_{i in T} L * (2 o_i - 1)`` with ``L = log((1 - p) / p)``:
a box sum of the signed evidence ``L * (2 o - 1)`` over the object's template.
"""

from __future__ import annotations

import numpy as np

from agents.noisy_pong_oracle import geometry as g

MIN_FLIP_PROB = 0.1  # below this the likelihood is tempered: the 2x2 template only approximates the blob


def log_odds(flip_prob: float) -> float:
    """``L = log((1 - p) / p)`` with ``p`` kept in ``[MIN_FLIP_PROB, 1 - MIN_FLIP_PROB]``."""
    p = min(max(float(flip_prob), MIN_FLIP_PROB), 1.0 - MIN_FLIP_PROB)
    return float(np.log((1.0 - p) / p))


def field_evidence(frame: np.ndarray, flip_prob: float) -> np.ndarray:
    """Signed evidence ``L * (2 o - 1)`` of the field rows of an ``(84, 84)`` frame (on = nonzero), float32."""
    on = frame[g.FIELD_TOP : g.FIELD_BOTTOM + 1] > 0
    return np.where(on, np.float32(log_odds(flip_prob)), np.float32(-log_odds(flip_prob)))


def ball_llr_map(evidence: np.ndarray) -> np.ndarray:
    """Log-likelihood ratio of a ball whose template's top-left pixel is row ``row - 1``, ``column`` of the field.

    The template may reach one row into either wall (always on: no evidence), so a ball grazing a wall
    keeps its evidence. The paddles' columns carry no evidence about the ball (a paddle may cover it).
    Shape ``(FIELD_ROWS + 1, WIDTH - 1)`` for the 2x2 template.
    """
    s = np.zeros((evidence.shape[0] + 2, evidence.shape[1]), dtype=evidence.dtype)
    s[1:-1] = evidence
    s[:, g.PADDLE_COLUMNS[0] : g.PADDLE_COLUMNS[1]] = 0.0
    s[:, g.OPPONENT_COLUMNS[0] : g.OPPONENT_COLUMNS[1]] = 0.0
    return s[:-1, :-1] + s[1:, :-1] + s[:-1, 1:] + s[1:, 1:]


def paddle_llr(evidence: np.ndarray) -> np.ndarray:
    """Log-likelihood ratio of the agent's paddle covering field rows ``top .. top + PADDLE_HEIGHT - 1``.

    Index ``k`` is ``top = k - PADDLE_HEIGHT + 1`` (the paddle may be partly hidden behind a wall), so
    ``len == FIELD_ROWS + PADDLE_HEIGHT - 1``.
    """
    rows = evidence[:, g.PADDLE_COLUMNS[0] : g.PADDLE_COLUMNS[1]].sum(axis=1, dtype=np.float64)
    padded = np.concatenate([np.zeros(g.PADDLE_HEIGHT - 1), rows, np.zeros(g.PADDLE_HEIGHT - 1)])
    cumulative = np.concatenate([[0.0], np.cumsum(padded)])
    return cumulative[g.PADDLE_HEIGHT :] - cumulative[: -g.PADDLE_HEIGHT]
