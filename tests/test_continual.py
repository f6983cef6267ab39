"""Continual-learning evaluation: the matrix's summaries, phase-by-phase training, per-task scoring, the report."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.monitor import Monitor

import envs  # noqa: F401  (registers the ids)
from agents.replay import MixedReplayBuffer
from eval.continual import PrototypeCountCallback, evaluate_tasks, run_phases, summarize
from eval.experiments import continual_stream

SMALL = {"bits_per_variable": 8, "flip_prob": 0.0}
STREAM = {"bits_per_variable": 64, "flip_prob": 0.0}  # enough bits for the SCAL perception's pooling


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


def test_the_scal_dqn_conditions_differ_in_replay_mixing_only():
    window = continual_stream.RECENT_WINDOW
    plain, _ = continual_stream.make_model("scal_dqn", 0, 8192, STREAM)
    mixed, _ = continual_stream.make_model("scal_dqn_replay", 0, 8192, STREAM)
    assert type(plain.replay_buffer) is ReplayBuffer and plain.replay_buffer.buffer_size == window  # recent only
    buffer = mixed.replay_buffer
    assert isinstance(buffer, MixedReplayBuffer) and (buffer.replay_ratio, buffer.recent_window) == (0.2, window)
    assert buffer.buffer_size >= 3 * 8192 and window <= 8192 // 2  # keeps every phase; half a phase is recent
    scal_rl, dqn, dqn_replay = (continual_stream.run_config(c, 0, {}).hyperparams["policy_kwargs"]["features_extractor_kwargs"]
                                for c in ("scal_rl", "scal_dqn", "scal_dqn_replay"))
    assert dqn == dqn_replay and dqn.items() <= scal_rl.items()  # scal_rl's perception values


def test_a_short_scal_dqn_replay_run_trains_and_scores_every_task_after_each_phase(monkeypatch):
    agent, overrides = continual_stream.CONDITIONS["scal_dqn_replay"]
    quick = {**overrides, "learning_starts": 32, "train_freq": 32, "gradient_steps": 2}
    monkeypatch.setitem(continual_stream.CONDITIONS, "scal_dqn_replay", (agent, quick))
    record = continual_stream.run_one("scal_dqn_replay", 0, 64, 2, 1, STREAM)
    assert np.array(record["matrix"]).shape == (2, 3) and record["phase_tasks"] == [0, 1]
    assert all(len(task) == 1 for phase in record["returns"] for task in phase)
    assert np.isfinite(record["summary"]["forgetting"]) and record["summary"]["newest_task_return"] >= 1
    assert [list(count) for count in record["prototypes"]] == [[32 * k, 64] for k in range(1, 5)]  # per rollout


def test_the_driver_adds_new_conditions_to_the_records_already_there(tmp_path):
    matrix = [[100.0, 10.0, 10.0], [20.0, 90.0, 10.0]]
    earlier = {"condition": "ppo", "seed": 0, "phase_steps": 64, "phase_tasks": [0, 1], "matrix": matrix,
               "summary": summarize(np.array(matrix), [0, 1]), "prototypes": []}
    (tmp_path / "runs.jsonl").write_text(json.dumps(earlier) + "\n")
    continual_stream.main(["--conditions", "ppo", "scal_dqn", "--seeds", "0", "--phase-steps", "64", "--phases", "2",
                           "--episodes", "1", "--env-kwargs", json.dumps(STREAM), "--out", str(tmp_path)])
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert records[0] == json.loads(json.dumps(earlier))  # kept, not rerun
    assert [(r["condition"], r["seed"]) for r in records] == [("ppo", 0), ("scal_dqn", 0)]
    text = (tmp_path / "matrix.md").read_text()
    assert "| ppo | 1 | 40.0 ± 0.0 | 80.0 ± 0.0 | 90.0 ± 0.0 |" in text and "| scal_dqn | 1 |" in text
    assert "## scal_dqn: mean return on each task after each phase" in text
