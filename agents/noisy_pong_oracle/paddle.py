"""The agent's own paddle: its response to the actions, and a grid filter of its centre row.

The paddle's displacement per step follows the actions closely (fitted on the emulator with sticky
actions 0.25, residual sd 0.66 rows): ``d_t = 0.229 d_{t-1} + 3.78 u_t + 3.34 u_{t-1}`` with ``u`` = -1
(up), 0 or +1 (down). The filter keeps a posterior over the current centre row; a frame ``d`` steps old
shows the paddle where it was before the last ``d`` displacements, so its likelihood is the mixture over
the delay of the column evidence at the centre shifted back.
"""

from __future__ import annotations

import numpy as np

from agents.noisy_pong_oracle import geometry as g

MOMENTUM, GAIN_NOW, GAIN_BEFORE = 0.229, 3.78, 3.34
MOTION_STD = 0.7
LOWEST, HIGHEST = 11.5, 80.0  # the paddle centre's range (rows)
GRID = np.arange(LOWEST, HIGHEST + 0.25, 0.5)


def direction(action: int) -> int:
    """-1 for the actions that move the paddle up (RIGHT, RIGHTFIRE), +1 down (LEFT, LEFTFIRE), else 0."""
    return {2: -1, 4: -1, 3: 1, 5: 1}.get(int(action), 0)


def next_displacement(previous: float, push: int, push_before: int) -> float:
    """Expected displacement of the paddle in the step where ``push`` is sent (``push_before`` the step before)."""
    return MOMENTUM * previous + GAIN_NOW * push + GAIN_BEFORE * push_before


def llr_at(table: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Look up :func:`likelihood.paddle_llr` at centre rows (nearest index, clipped)."""
    index = np.rint(centres - g.FIELD_TOP + (g.PADDLE_HEIGHT - 1) / 2).astype(np.int64)
    return table[np.clip(index, 0, len(table) - 1)]


class PaddleFilter:
    """Posterior of the paddle's centre row on :data:`GRID`, with the frame's delay as a hidden variable.

    Args:
        delay_probs: P(the frame shown is ``d`` steps old), ``d = 0..len-1``.
    """

    def __init__(self, delay_probs: np.ndarray) -> None:
        self.delay_probs = np.asarray(delay_probs, dtype=np.float64)
        offsets = np.arange(-4, 5) * 0.5
        kernel = np.exp(-0.5 * (offsets / MOTION_STD) ** 2)
        self.kernel = kernel / kernel.sum()
        self.reset()

    def reset(self) -> None:
        self.posterior = np.full(len(GRID), 1.0 / len(GRID))
        self.displacements = np.zeros(len(self.delay_probs))  # expected displacement of the last steps, newest first
        self.pushes = [0, 0]  # the last two pushes, newest first

    def predict(self, action: int) -> None:
        """Move the posterior by the expected displacement of ``action`` (sent this step)."""
        push = direction(action)
        step = next_displacement(self.displacements[0], push, self.pushes[0])
        self.pushes = [push, self.pushes[0]]
        self.displacements = np.concatenate([[step], self.displacements[:-1]])
        moved = np.interp(GRID - step, GRID, self.posterior, left=0.0, right=0.0)
        lost_low, lost_high = self.posterior[GRID + step < LOWEST].sum(), self.posterior[GRID + step > HIGHEST].sum()
        moved[0] += lost_low
        moved[-1] += lost_high
        self.posterior = np.convolve(moved, self.kernel, mode="same")
        self.posterior /= self.posterior.sum()

    def update(self, llr_table: np.ndarray) -> None:
        """Weigh the posterior by the frame's likelihood (mixture over the delay)."""
        back = np.concatenate([[0.0], np.cumsum(self.displacements)])  # displacement since t - d
        log_terms = np.stack([llr_at(llr_table, np.clip(GRID - back[d], LOWEST, HIGHEST)) for d in range(len(self.delay_probs))])
        log_terms += np.log(np.maximum(self.delay_probs, 1e-300))[:, None]
        peak = log_terms.max()
        likelihood = np.exp(log_terms - peak).sum(axis=0)
        posterior = self.posterior * likelihood
        self.posterior = posterior / posterior.sum()

    @property
    def mean(self) -> float:
        return float(self.posterior @ GRID)

    @property
    def last_displacement(self) -> float:
        return float(self.displacements[0])

    @property
    def last_push(self) -> int:
        return self.pushes[0]
