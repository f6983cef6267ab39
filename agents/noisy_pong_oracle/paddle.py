"""The agent's own paddle: its response to the actions, and a particle filter of its recent path.

The paddle's displacement in the step where push ``u_t`` is sent (-1 up, 0, +1 down) follows the last two
pushes (least squares on 4,500 steps of the emulator with sticky actions 0.25, half of them random pushes):
``d_t = 0.29 d_{t-1} + 1.95 u_t + 4.6 u_{t-1}``, residual sd 0.5 rows at rest and about 1 (one push) to
1.5 (two pushes) while pushed. A frame ``d`` steps old shows the paddle where it was ``d`` steps ago, and where it
was depends on the sticky actions of the steps since: each particle therefore carries the paddle's centre
row over the last ``max_delay + 1`` steps, and a frame weighs it by the delay-weighted mixture of the column
evidence at its own past rows.
"""

from __future__ import annotations

import numpy as np

from agents.noisy_pong_oracle import geometry as g

MOMENTUM, GAIN_NOW, GAIN_BEFORE = 0.29, 1.95, 4.6
REST_STD, PUSH_STD = 0.5, 0.5  # residual sd: REST_STD plus PUSH_STD per push among the last two
JUMP_STD, JUMP_RATE = 3.0, 0.05  # heavier tail of the displacement: the sticky actions' whole-step slips
RESTART_RATE = 0.01  # share of particles redrawn anywhere each step: a floor against a lost track
LOWEST, HIGHEST = 11.5, 80.0  # the paddle centre's range (rows)
PARTICLES = 512


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


def delay_terms(llr_table: np.ndarray, path: np.ndarray, delay_probs: np.ndarray) -> np.ndarray:
    """``log P(d) + llr(path[d])`` for every age ``d`` (rows; ``-inf`` where ``P(d) = 0``) and particle (columns)."""
    with np.errstate(divide="ignore"):
        return llr_at(llr_table, path) + np.log(delay_probs)[:, None]


def log_sum_exp(terms: np.ndarray, axis: int) -> np.ndarray:
    """``log sum exp`` along ``axis`` (``-inf`` where every term is)."""
    peak = terms.max(axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(peak, axis) + np.log(np.exp(terms - peak).sum(axis=axis))


class PaddleFilter:
    """Particles of the paddle's centre rows over the last ``len(delay_probs)`` steps (newest first).

    Deterministic: the particles' noise comes from a generator seeded at every :meth:`reset`.

    Args:
        delay_probs: P(the frame shown is ``d`` steps old), ``d = 0..len-1``.
        particles: number of particles.
    """

    def __init__(self, delay_probs: np.ndarray, particles: int = PARTICLES) -> None:
        self.delay_probs = np.asarray(delay_probs, dtype=np.float64)
        self.particles = particles
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng(0)
        start = self.rng.uniform(LOWEST, HIGHEST, self.particles)
        self.path = np.repeat(start[None], len(self.delay_probs), axis=0)  # before the first step: one position
        self.step = np.zeros(self.particles)  # each particle's last displacement
        self.weights = np.full(self.particles, 1.0 / self.particles)
        self.pushes = [0, 0]  # the last two pushes, newest first
        self.age_probabilities = self.delay_probs.copy()  # P(the last frame is d steps old | the frames so far)

    def predict(self, action: int) -> None:
        """Move every particle by the paddle's response to ``action`` (sent this step) and its noise."""
        push = direction(action)
        noise = self.rng.standard_normal(self.particles)
        motion_std = REST_STD + PUSH_STD * (abs(push) + abs(self.pushes[0]))
        noise *= np.where(self.rng.random(self.particles) < JUMP_RATE, JUMP_STD, motion_std)
        expected = next_displacement(self.step, push, self.pushes[0])
        centre = np.clip(self.path[0] + expected + noise, LOWEST, HIGHEST)
        restart = self.rng.random(self.particles) < RESTART_RATE
        self.step = np.where(restart, 0.0, centre - self.path[0])
        self.path = np.roll(self.path, 1, axis=0)
        self.path[0] = centre
        self.path[:, restart] = self.rng.uniform(LOWEST, HIGHEST, int(restart.sum()))
        self.pushes = [push, self.pushes[0]]

    def update(self, llr_table: np.ndarray) -> None:
        """Weigh the particles by the frame (mixture over its age) and resample when they degenerate."""
        joint = delay_terms(llr_table, self.path, self.delay_probs) + np.log(np.maximum(self.weights, 1e-300))
        by_age = log_sum_exp(joint, axis=1)
        self.age_probabilities = np.exp(by_age - by_age.max())
        self.age_probabilities /= self.age_probabilities.sum()
        log_w = log_sum_exp(joint, axis=0)
        weights = np.exp(log_w - log_w.max())
        self.weights = weights / weights.sum()
        if 1.0 / np.sum(self.weights**2) < 0.5 * self.particles:
            self.resample()

    def resample(self) -> None:
        """Systematic resampling: particles in proportion to their weights, equal weights after."""
        positions = (self.rng.random() + np.arange(self.particles)) / self.particles
        chosen = np.minimum(np.searchsorted(np.cumsum(self.weights), positions), self.particles - 1)
        self.path, self.step = self.path[:, chosen], self.step[chosen]
        self.weights = np.full(self.particles, 1.0 / self.particles)

    @property
    def mean(self) -> float:
        return float(self.weights @ self.path[0])

    @property
    def last_displacement(self) -> float:
        return float(self.weights @ self.step)

    @property
    def last_push(self) -> int:
        return self.pushes[0]
