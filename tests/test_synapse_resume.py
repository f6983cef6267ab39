"""A synapse-plasticity run stopped and resumed with ``train/run.py --resume`` ends exactly where the uninterrupted
run ends: the same policy, the same plastic network weights in the env, the same final evaluation."""

from __future__ import annotations

from pathlib import Path

import torch
from stable_baselines3 import PPO

from envs.synapse.config import tiny_kwargs
from train.checkpoint import load_checkpoint
from train.run import main

ENV_KWARGS = [f"{key}:{value}" for key, value in tiny_kwargs("unsup_single").items() if key != "scenario"]
COMMON = [
    "--env", "SynapseUnsupSingle-v0", "--agent", "ppo", "--seed", "2", "-n", "96",
    "-params", "n_steps:24", "batch_size:12", "n_epochs:1",
    "--env-kwargs", *ENV_KWARGS,
    "--verbose", "0", "--no-tensorboard", "--eval-freq", "0", "--final-eval-episodes", "2",
]  # fmt: skip


def network_weights(run_dir: str) -> list[torch.Tensor]:
    """The plastic weights of the training env's network in the run's newest checkpoint."""
    env = load_checkpoint(run_dir).train_env.envs[0].unwrapped
    return [group.weight for group in env.network.groups]


def test_stopped_and_resumed_run_equals_the_uninterrupted_run(tmp_path):
    straight = main([*COMMON, "-f", str(tmp_path / "straight")])
    stopped = main([*COMMON, "-f", str(tmp_path / "stopped"), "--steps", "48"])
    assert stopped["stop_reason"] == "steps" and stopped["timesteps"] == 48
    middle = network_weights(stopped["run_dir"])
    resumed = main(["--resume", stopped["run_dir"], "--verbose", "0"])
    assert resumed["timesteps"] == straight["timesteps"] == 96
    expected = PPO.load(Path(straight["run_dir"]) / "model.zip").policy.state_dict()
    actual = PPO.load(Path(resumed["run_dir"]) / "model.zip").policy.state_dict()
    assert all(torch.equal(expected[key], actual[key]) for key in expected)
    final, expected_final = network_weights(resumed["run_dir"]), network_weights(straight["run_dir"])
    assert all(torch.equal(a, b) for a, b in zip(final, expected_final, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(final, middle, strict=True))  # the rule kept changing them
    assert resumed["eval_returns"] == straight["eval_returns"]
