"""Continual-learning evaluation: train phase by phase on a task stream, score every task after each phase.

The result is the continual-learning matrix ``R[i, j]``, the mean return on task ``j`` after training phase
``i`` (Lopez-Paz & Ranzato 2017, "Gradient Episodic Memory for Continual Learning"), and its summaries:

* average return: the mean of the last row (every task, after all training);
* forgetting: for each task trained before the last phase, the best return it had after any earlier phase
  minus its return after the last phase, averaged over those tasks (Chaudhry et al. 2018, "Riemannian Walk
  for Incremental Learning"); positive means it was forgotten;
* newest-task return: the last row's entry of the task the last phase trained on.

Example:
    >>> matrix = np.array([[150.0, 20.0, 30.0], [40.0, 160.0, 30.0], [30.0, 50.0, 170.0]])
    >>> summary = summarize(matrix, phase_tasks=[0, 1, 2])
    >>> summary["average_return"], summary["forgetting"], summary["newest_task_return"]
    (83.33333333333333, 115.0, 170.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy

__all__ = ["PrototypeCountCallback", "evaluate_tasks", "run_phases", "summarize"]


def _check_matrix(matrix: np.ndarray, phase_tasks: Sequence[int]) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] < 1:
        raise ValueError(f"matrix of shape {matrix.shape} must be 2-D (phases, tasks) with at least one phase")
    if len(phase_tasks) != matrix.shape[0] or not all(0 <= t < matrix.shape[1] for t in phase_tasks):
        raise ValueError(
            f"phase_tasks={list(phase_tasks)!r} must give one task index in [0, {matrix.shape[1]}) per phase "
            f"({matrix.shape[0]} phases)"
        )
    return matrix


def summarize(matrix: np.ndarray, phase_tasks: Sequence[int]) -> dict[str, Any]:
    """Average return, forgetting (mean and per task) and newest-task return of a ``(phases, tasks)`` matrix.

    Args:
        matrix: ``R[i, j]``, the mean return on task ``j`` after phase ``i``.
        phase_tasks: the task each phase trained on.

    Forgetting is ``NaN`` when no task was trained before the last phase (a single phase, or only the last
    phase's task).
    """
    matrix = _check_matrix(matrix, phase_tasks)
    last = matrix.shape[0] - 1
    earlier = sorted({t for t in phase_tasks[:last] if t != phase_tasks[last]})
    per_task = {int(t): float(matrix[:last, t].max() - matrix[last, t]) for t in earlier}
    return {
        "average_return": float(matrix[last].mean()),
        "forgetting": float(np.mean(list(per_task.values()))) if per_task else float("nan"),
        "forgetting_per_task": per_task,
        "newest_task_return": float(matrix[last, phase_tasks[last]]),
    }


def evaluate_tasks(model: Any, make_task_env: Callable[[int], Any], n_tasks: int, episodes: int) -> list[list[float]]:
    """Deterministic episode returns of ``model`` on each task's env (``make_task_env(j)``, closed afterwards)."""
    returns = []
    for task in range(n_tasks):
        env = make_task_env(task)
        try:
            episode_returns, _ = evaluate_policy(model, env, n_eval_episodes=episodes, deterministic=True,
                                                 return_episode_rewards=True)
        finally:
            env.close()
        returns.append([float(r) for r in episode_returns])
    return returns


def run_phases(
    model: Any,
    phase_steps: int,
    n_phases: int,
    evaluate: Callable[[], list[list[float]]],
    callback: BaseCallback | None = None,
) -> list[list[list[float]]]:
    """Train ``phase_steps`` per phase (one ``learn`` call each, the step count running on) and evaluate every
    task after each phase; returns the episode returns ``[phase][task][episode]``."""
    if phase_steps < 1 or n_phases < 1:
        raise ValueError(f"phase_steps={phase_steps!r} and n_phases={n_phases!r} must be >= 1")
    results = []
    for phase in range(n_phases):
        model.learn(total_timesteps=phase_steps, callback=callback, reset_num_timesteps=phase == 0)
        results.append(evaluate())
    return results


class PrototypeCountCallback(BaseCallback):
    """Record ``(timestep, active prototypes)`` after every rollout of a SCAL-RL agent (nothing for others)."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[tuple[int, int]] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        perception = getattr(self.model.policy, "scal_perception", None)
        if perception is not None:
            self.history.append((int(self.num_timesteps), perception.n_active_prototypes))
