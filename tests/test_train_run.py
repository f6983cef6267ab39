"""train/run.py end to end: every agent smoke-trains, the run folder is complete, bad input is rejected."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from train.run import main

SMOKE = ["--verbose", "0", "--eval-episodes", "2", "--final-eval-episodes", "2"]
AGENT_BUDGETS = {
    "ppo": ["-n", "512", "--n-envs", "2", "-params", "n_steps:64", "batch_size:64", "n_epochs:1"],
    "a2c": ["-n", "260", "--n-envs", "2"],  # 26 rollouts of 5 steps x 2 envs
    "dqn": ["-n", "300", "-params", "buffer_size:1000", "learning_starts:100", "train_freq:4", "gradient_steps:1"],
    "recurrent_ppo": ["-n", "256", "--n-envs", "2", "-params", "n_steps:64", "batch_size:64", "n_epochs:1"],
    "random": [],
    "oracle": [],
}


@pytest.mark.parametrize("agent", sorted(AGENT_BUDGETS))
def test_every_agent_runs_through_the_cli(agent, log_folder):
    summary = main(["--agent", agent, "--seed", "1", "-f", log_folder, "--eval-freq", "128", *SMOKE, *AGENT_BUDGETS[agent]])
    run_dir = Path(summary["run_dir"])
    assert run_dir.name.startswith(f"NoisyCartPole-v0__{agent}__1__")
    for name in ("config.yml", "args.yml", "command.txt", "summary.json"):
        assert (run_dir / name).exists(), name
    assert list(run_dir.glob("model.*"))
    assert json.loads((run_dir / "summary.json").read_text()) == json.loads(json.dumps(summary))
    budget = 0 if agent in ("random", "oracle") else int(AGENT_BUDGETS[agent][1])
    assert summary["timesteps"] == budget and (summary["updates"] > 0) == (budget > 0)
    returns = summary["eval_returns"]  # CartPole pays 1 per step, up to the 200-step limit
    assert summary["eval_episodes"] == len(returns) == 2 and all(r == int(r) and 1 <= r <= 200 for r in returns)
    assert summary["eval_mean"] == pytest.approx(np.mean(returns))


def test_run_folder_tensorboard_and_checkpoints(log_folder):
    summary = main(["--agent", "ppo", "-f", log_folder, "--eval-freq", "256", "--save-freq", "256", *SMOKE,
                    *AGENT_BUDGETS["ppo"], "--env-kwargs", "flip_prob:0.2", "bits_per_variable:16"])
    run_dir = Path(summary["run_dir"])
    config = yaml.safe_load((run_dir / "config.yml").read_text())
    assert config["env_kwargs"] == {"flip_prob": 0.2, "bits_per_variable": 16}
    assert config["hyperparams"]["n_steps"] == 64 and config["n_envs"] == 2
    assert (run_dir / "evaluations.npz").exists() and (run_dir / "best_model.zip").exists()
    checkpoints = sorted((run_dir / "checkpoints").glob("step_*"))
    assert [c.name for c in checkpoints][-1] == "step_000000000512"  # the final one, after autosaves
    assert (checkpoints[-1] / "model.zip").exists() and (checkpoints[-1] / "meta.json").exists()
    event_dirs = list((Path(log_folder) / "tb").glob(f"{run_dir.name}*"))
    events = EventAccumulator(str(event_dirs[0]))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert "charts/episodic_return" in tags and "eval/mean_reward" in tags and "rollout/ep_rew_mean" in tags


def test_evaluation_envs_side_by_side(log_folder):
    argv = ["--agent", "ppo", "-f", log_folder, "--eval-freq", "256", "--eval-episodes", "4", "--n-eval-envs", "3",
            "--final-eval-episodes", "5", "--verbose", "0", *AGENT_BUDGETS["ppo"]]
    summary = main(argv)
    run_dir = Path(summary["run_dir"])
    assert yaml.safe_load((run_dir / "config.yml").read_text())["n_eval_envs"] == 3
    evaluations = np.load(run_dir / "evaluations.npz")
    assert evaluations["results"].shape == (2, 4)  # every periodic evaluation has all its episodes
    assert summary["eval_episodes"] == len(summary["eval_returns"]) == 5
    again = main(argv)  # the held-out evaluation seeds are the same for the same seed
    assert again["eval_returns"] == summary["eval_returns"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--agent", "sac"], "invalid choice: 'sac'"),
        (["--n-envs", "0"], "--n-envs"),
        (["--env-kwargs", "flip_prob"], "key:value"),
        (["--eval-episodes", "0"], "--eval-episodes"),
        (["--n-eval-envs", "0"], "--n-eval-envs 0: must be >= 1"),
        (["--allocator", "huge"], "invalid choice: 'huge'"),
    ],
)
def test_bad_flags_exit_with_a_message(argv, message, capsys, log_folder):
    with pytest.raises(SystemExit):
        main([*argv, "-f", log_folder])
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--env", "NoSuchEnv-v0"], "--env='NoSuchEnv-v0' is not a registered"),
        (["--env-kwargs", "flip_prob:1.5"], "flip_prob=1.5 must be in"),
        (["--env-kwargs", "encoding:gray"], "encoding='gray'.*allowed: sign, thermometer, population"),
    ],
)
def test_bad_values_raise_value_errors_naming_them(argv, message, log_folder):
    with pytest.raises(ValueError, match=message):
        main(["--agent", "random", "-f", log_folder, *SMOKE, *argv])
