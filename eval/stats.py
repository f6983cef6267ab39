"""Statistics of multi-seed results: IQM with a percentile-bootstrap CI, success rate, steps to threshold.

The interquartile mean (IQM) and its bootstrap confidence interval follow Agarwal et al., "Deep
Reinforcement Learning at the Edge of the Statistical Precipice" (NeurIPS 2021), as in their library
``rliable``: the IQM is the mean of the middle 50% of runs (as ``scipy.stats.trim_mean(x, 0.25)``:
``floor(n / 4)`` runs dropped at each end), and the 95% CI is the percentile bootstrap over runs. With one
task, rliable's stratified bootstrap is this plain bootstrap. It is implemented here because
``rliable`` 1.2 (through its dependency ``arch`` < 8) fails to import with pandas 3.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def iqm(scores: Sequence[float] | np.ndarray, axis: int | None = -1) -> np.ndarray | float:
    """Interquartile mean: the mean after dropping ``floor(n / 4)`` scores at each end (along ``axis``).

    Example:
        >>> float(iqm([1, 2, 3, 4, 5, 6, 7, 100]))
        4.5
    """
    scores = np.asarray(scores, dtype=float)
    if axis is None:
        scores, axis = scores.ravel(), -1
    ordered = np.sort(scores, axis=axis)
    count = ordered.shape[axis]
    return np.take(ordered, np.arange(count // 4, count - count // 4), axis=axis).mean(axis=axis)


def bootstrap_ci(
    scores: Sequence[float] | np.ndarray,
    statistic=iqm,
    *,
    confidence: float = 0.95,
    reps: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``statistic`` over runs (resampled with replacement).

    Args:
        scores: one score per run (e.g. the final mean evaluation return of each seed).
        statistic: a function of an array ``(reps, n)`` reducing the last axis (default: :func:`iqm`).
        confidence: size of the interval, in (0, 1).
        reps: number of bootstrap resamples.
        seed: seed of the resampling, so the same scores give the same interval.

    Returns:
        ``(low, high)``; ``(nan, nan)`` for no scores.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    resamples = scores[rng.integers(0, scores.size, size=(reps, scores.size))]
    values = statistic(resamples, axis=-1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def success_rate(final_scores: Sequence[float], threshold: float | None) -> float:
    """Share of runs whose final score reaches ``threshold`` (nan without a threshold or runs)."""
    scores = np.asarray(final_scores, dtype=float)
    if threshold is None or scores.size == 0:
        return float("nan")
    return float(np.mean(scores >= threshold))


def steps_to_threshold(timesteps: Sequence[int], mean_returns: Sequence[float], threshold: float | None) -> int | None:
    """First timestep of an evaluation log whose mean return reaches ``threshold`` (None if never).

    Example:
        >>> steps_to_threshold([1000, 2000, 3000], [50.0, 196.0, 180.0], 195.0)
        2000
    """
    if threshold is None:
        return None
    reached = np.flatnonzero(np.asarray(mean_returns, dtype=float) >= threshold)
    return int(np.asarray(timesteps)[reached[0]]) if reached.size else None


def median_steps(steps: Sequence[int | None]) -> tuple[float, int]:
    """Median steps to threshold over the runs that reached it, and how many did."""
    reached = [s for s in steps if s is not None]
    return (float(np.median(reached)) if reached else float("nan")), len(reached)
