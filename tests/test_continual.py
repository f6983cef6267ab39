"""Continual-learning evaluation: the matrix's summaries, phase-by-phase training, per-task scoring, the report."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.monitor import Monitor

import envs  # noqa: F401  (registers the ids)
from eval.continual import PrototypeCountCallback, evaluate_tasks, run_phases, summarize
from eval.experiments import continual_stream

SMALL = {"bits_per_variable": 8, "flip_prob": 0.0}


def test_summaries_of_a_three_task_matrix():
    matrix = np.array([[150.0, 20.0, 30.0], [40.0, 160.0, 30.0], [30.0, 50.0, 170.0]])
    summary = summarize(matrix, [0, 1, 2])
    assert summary["average_return"] == pytest.approx(250.0 / 3)
    assert summary["forgetting_per_task"] == {0: 120.0, 1: 110.0}  # best earlier return minus the final one
    assert summary["forgetting"] == 115.0 and summary["newest_task_return"] == 170.0


def test_forgetting_uses_the_best_earlier_row_and_skips_the_newest_task_when_tasks_repeat():
    matrix = np.array([[60.0, 10.0], [20.0, 90.0], [100.0, 30.0], [80.0, 70.0]])
    summary = summarize(matrix, [0, 1, 0, 1])
    assert summary["forgetting_per_task"] == {0: 20.0}  # best 100 (phase 3), final 80; task 1 is the newest
    assert summary["newest_task_return"] == 70.0 and summary["average_return"] == 75.0


def test_a_task_that_improved_has_negative_forgetting_and_one_phase_has_none():
    assert summarize(np.array([[50.0, 0.0], [80.0, 120.0]]), [0, 1])["forgetting"] == -30.0
    assert np.isnan(summarize(np.array([[50.0, 0.0]]), [0])["forgetting"])


@pytest.mark.parametrize(
    ("matrix", "phase_tasks", "match"),
    [
        (np.zeros(3), [0], "must be 2-D"),
        (np.zeros((2, 3)), [0], r"phase_tasks=\[0\] must give one task index in \[0, 3\) per phase \(2 phases\)"),
        (np.zeros((2, 3)), [0, 3], r"phase_tasks=\[0, 3\]"),
    ],
)
def test_bad_matrices_are_refused(matrix, phase_tasks, match):
    with pytest.raises(ValueError, match=match):
        summarize(matrix, phase_tasks)


def test_run_phases_trains_on_and_scores_every_task_after_each_phase():
    env = make_vec_env("NoisyCartPoleStream-v0", n_envs=2, seed=0, env_kwargs={**SMALL, "switch_every": 32})
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=64, n_epochs=1, seed=0)
    seen_tasks = []

    def make_task_env(task: int):
        seen_tasks.append(task)
        return Monitor(gym.make("NoisyCartPoleStream-v0", **SMALL, task=task))

    counts = PrototypeCountCallback()
    returns = run_phases(model, 64, 3, lambda: evaluate_tasks(model, make_task_env, 3, episodes=2), callback=counts)
    assert model.num_timesteps == 3 * 64  # one learn call per phase, the step count running on
    assert [len(phase) for phase in returns] == [3, 3, 3] and all(len(task) == 2 for phase in returns for task in phase)
    assert seen_tasks == [0, 1, 2] * 3
    assert all(r >= 1 for phase in returns for task in phase for r in task)
    assert counts.history == []  # PPO has no prototypes to count
    with pytest.raises(ValueError, match="phase_steps=0"):
        run_phases(model, 0, 1, list)


def test_the_report_has_the_summary_and_each_conditions_mean_matrix(tmp_path):
    def record(condition: str, seed: int, matrix: list) -> dict:
        return {"condition": condition, "seed": seed, "phase_steps": 100, "phase_tasks": [0, 1], "matrix": matrix,
                "summary": summarize(np.array(matrix), [0, 1]), "prototypes": [[100, 64], [200, 70]]}

    records = [record("a", 0, [[100.0, 0.0], [50.0, 90.0]]), record("a", 1, [[120.0, 0.0], [70.0, 110.0]])]
    continual_stream.report(records, tmp_path / "matrix.md")
    text = (tmp_path / "matrix.md").read_text()
    assert "| a | 2 | 80.0 ± 10.0 | 50.0 ± 0.0 | 100.0 ± 10.0 | 70.0 ± 0.0 |" in text  # average, forgetting, newest
    assert "| 2 (1) | 60.0 | 100.0 |" in text
    continual_stream.plot_prototypes(records, tmp_path / "prototypes.png")
    assert (tmp_path / "prototypes.png").stat().st_size > 1000
