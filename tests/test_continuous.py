"""Continuous learning: exact resume, signals, crash safety, corrupt checkpoints, retention."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from stable_baselines3 import DQN, PPO

from agents.scal.stateful import SCALRecurrentPPO
from train.checkpoint import CheckpointError, apply_retention, list_checkpoints, load_checkpoint
from train.run import main

SMALL_ENV = ["--env-kwargs", "bits_per_variable:16", "flip_prob:0.1"]
QUIET = ["--verbose", "0", "--no-tensorboard", "--eval-freq", "128", "--eval-episodes", "2", "--final-eval-episodes", "3"]
PPO_BUDGET = ["-n", "512", "--n-envs", "2", "-params", "n_steps:64", "batch_size:64", "n_epochs:2"]
BUDGETS = {  # case: (algorithm class, agent, env arguments, budget)
    "ppo": (PPO, "ppo", SMALL_ENV, PPO_BUDGET),
    # SB3's VecFrameStack (Box observations only) pickled inside the checkpoint
    "ppo_frame_stack": (PPO, "ppo", ["--env", "CartPole-v1"], [*PPO_BUDGET, "frame_stack:3"]),
    "dqn": (DQN, "dqn", SMALL_ENV, ["-n", "512", "-params", "buffer_size:1000", "learning_starts:100",
                                    "train_freq:16", "gradient_steps:4", "target_update_interval:50"]),
    "scal_rl": (PPO, "scal_rl", SMALL_ENV, PPO_BUDGET),
    # the running mean of train.weight_averaging carried in the checkpoint (averaging starts before the stop)
    "ppo_weight_averaging": (PPO, "ppo", SMALL_ENV,
                             [*PPO_BUDGET, "callback:[{train.weight_averaging.WeightAveraging: {start_fraction: 0.125}}]"]),
    # membranes of running episodes are part of the state (agents.scal.stateful.SCALRecurrentPPO saves them)
    "scal_rl_stateful": (SCALRecurrentPPO, "scal_rl_stateful", SMALL_ENV, PPO_BUDGET),
}
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("case", sorted(BUDGETS))
def test_resume_continues_exactly_as_if_never_stopped(case, tmp_path):
    """2N steps straight == N steps, checkpoint, resume, N steps: same parameters, same evaluations.

    For SCAL-RL the policy state includes its prototypes, thresholds and memory (buffers).
    """
    cls, agent, env_args, budget = BUDGETS[case]
    common = ["--agent", agent, "--seed", "3", *QUIET, *env_args, *budget]
    straight = main([*common, "-f", str(tmp_path / "straight")])
    first_half = main([*common, "-f", str(tmp_path / "stopped"), "--steps", "256"])
    assert first_half["stop_reason"] == "steps" and first_half["timesteps"] == 256
    resumed = main(["--resume", first_half["checkpoint"], "--verbose", "0"])
    assert resumed["timesteps"] == straight["timesteps"] == 512
    assert resumed["run_dir"] == first_half["run_dir"]
    expected = cls.load(Path(straight["run_dir"]) / "model.zip").policy.state_dict()
    actual = cls.load(Path(resumed["run_dir"]) / "model.zip").policy.state_dict()
    assert all(torch.equal(expected[key], actual[key]) for key in expected)
    assert resumed["eval_returns"] == straight["eval_returns"]
    history = [json.loads((p / "meta.json").read_text())["reason"] for p in list_checkpoints(Path(resumed["run_dir"]))]
    assert history == ["steps", "final"]


def test_only_checkpoints_of_unfinished_runs_keep_the_replay_buffer(tmp_path):
    """A stop keeps the buffer to resume from; the final checkpoint of a finished run (never trained from) drops it."""
    _, agent, env_args, budget = BUDGETS["dqn"]
    stopped = main(["--agent", agent, "--seed", "3", *QUIET, *env_args, *budget, "-f", str(tmp_path), "--steps", "256"])
    assert (Path(stopped["checkpoint"]) / "replay_buffer.pkl").is_file()
    finished = main(["--resume", stopped["checkpoint"], "--verbose", "0"])
    assert finished["stop_reason"] == "final" and finished["timesteps"] == 512
    final = Path(finished["checkpoint"])
    assert not (final / "replay_buffer.pkl").exists()
    assert "replay_buffer.pkl" not in json.loads((final / "meta.json").read_text())["files"]
    again = main(["--resume", str(final), "--verbose", "0"])  # a finished run resumed: nothing to train, same model
    assert again["timesteps"] == 512 and again["eval_returns"] == finished["eval_returns"]


def test_resume_rejects_flags_that_change_the_run(tmp_path, capsys):
    stopped = main(["--agent", "ppo", *QUIET, *SMALL_ENV, *PPO_BUDGET, "-f", str(tmp_path), "--steps", "128"])
    with pytest.raises(SystemExit):
        main(["--resume", stopped["checkpoint"], "--seed", "9"])
    assert "cannot change it: --seed" in capsys.readouterr().err


def start_training(tmp_path: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, str(REPO / "train" / "run.py"), "--agent", "ppo", "--until-stopped", *QUIET, *SMALL_ENV,
               "--n-envs", "2", "-params", "n_steps:32", "batch_size:64", "n_epochs:1", "-f", str(tmp_path), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)


def run_dirs(tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.glob("NoisyCartPole-v0__*") if p.is_dir()]


@pytest.mark.parametrize("signum, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_a_checkpoint_and_prints_how_to_resume(signum, exit_code, tmp_path):
    process = start_training(tmp_path, "--save-freq", "256")
    wait_for(lambda: run_dirs(tmp_path) and list_checkpoints(run_dirs(tmp_path)[0]))  # training is under way
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == exit_code, err  # 128 + the signal, after the checkpoint and the summary
    assert "stopped (signal)" in out and "resume with: python train/run.py --resume" in out
    newest = list_checkpoints(run_dirs(tmp_path)[0])[-1]
    meta = json.loads((newest / "meta.json").read_text())
    summary = json.loads((run_dirs(tmp_path)[0] / "summary.json").read_text())
    assert meta["reason"] == summary["stop_reason"] == "signal"
    assert (summary["timesteps"], summary["episodes"], summary["updates"]) == (meta["steps"], meta["episodes"],
                                                                             meta["updates"])
    resumed = main(["--resume", str(newest), "--steps", "64", "--verbose", "0"])
    assert resumed["timesteps"] >= json.loads((newest / "meta.json").read_text())["steps"] + 64


@pytest.mark.parametrize("victim", ["model.zip", "envs.pkl", "state.pkl", "meta.json"])
def test_truncated_or_missing_checkpoint_files_give_a_clear_error(victim, tmp_path):
    stopped = main(["--agent", "ppo", *QUIET, *SMALL_ENV, *PPO_BUDGET, "-f", str(tmp_path), "--steps", "128"])
    path = Path(stopped["checkpoint"]) / victim
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(CheckpointError, match="corrupt|unreadable"):
        load_checkpoint(stopped["checkpoint"])
    path.unlink()
    with pytest.raises(CheckpointError, match=f"incomplete: missing {victim}"):
        load_checkpoint(stopped["checkpoint"])
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        load_checkpoint(tmp_path)


def test_retention_keeps_the_newest_and_the_best(tmp_path):
    scores = [1.0, 9.0, 3.0, 2.0, None, 4.0]
    for step, score in enumerate(scores):
        folder = tmp_path / "checkpoints" / f"step_{step:012d}"
        folder.mkdir(parents=True)
        (folder / "meta.json").write_text(json.dumps({"last_mean_reward": score}))
    removed = apply_retention(tmp_path, keep_last=2)
    kept = [p.name for p in list_checkpoints(tmp_path)]
    assert kept == ["step_000000000001", "step_000000000004", "step_000000000005"]
    assert len(removed) == 3
    apply_retention(tmp_path, keep_last=1, keep_best=False)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_000000000005"]


def test_no_keep_best_on_resume_keeps_only_the_newest_checkpoints(tmp_path):
    stopped = main(["--agent", "ppo", *QUIET, *SMALL_ENV, *PPO_BUDGET, "-f", str(tmp_path), "--save-freq", "128",
                    "--keep-checkpoints", "50", "--steps", "384"])
    run_dir = Path(stopped["checkpoint"]).parent.parent
    first = list_checkpoints(run_dir)[0]
    meta = json.loads((first / "meta.json").read_text())
    (first / "meta.json").write_text(json.dumps({**meta, "last_mean_reward": 1e9}))  # the best by far
    main(["--resume", str(run_dir), "--steps", "128", "--keep-checkpoints", "1", "--no-keep-best"])
    assert [p.name for p in list_checkpoints(run_dir)] == ["step_000000000512"]
