"""SCAL-RL agents end to end: both policies train through the registry, save/load round trip, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents.registry import load_agent
from agents.scal.perception import SCALPerception
from train.run import main

SMALL_ENV = ["--env-kwargs", "bits_per_variable:64", "flip_prob:0.2"]
CONSTANT_RATES = ["-params", "callback:agents.scal.callbacks.SCALCallback"]  # no annealed plasticity


def train(agent: str, folder: str, steps: int, *extra: str) -> dict:
    argv = ["--agent", agent, "-n", str(steps), "--eval-freq", "0", "--save-freq", "0", "--final-eval-episodes", "2"]
    return main([*argv, "-f", folder, "--verbose", "0", *extra])


def buffers(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.policy.state_dict().items() if "running_" in k or "scal_memory" in k}


@pytest.mark.parametrize("agent, steps", [("scal_ppo", 512), ("scal_dqn", 1200)])
def test_save_load_round_trip(agent, steps, log_folder):
    extra = [*SMALL_ENV, "-params", "learning_starts:256", "train_freq:64", "gradient_steps:8"]
    summary = train(agent, log_folder, steps, *(extra if agent == "scal_dqn" else SMALL_ENV))
    path = f"{summary['run_dir']}/model.zip"
    model, loaded = load_agent(agent, path), load_agent(agent, path)
    assert isinstance(loaded.policy.scal_perception, SCALPerception)
    saved = buffers(model)
    assert len(model.policy.scal_memory) == steps if agent == "scal_ppo" else len(model.policy.scal_memory) > 1000
    assert not torch.allclose(saved["scal_memory.keys"][:10], torch.zeros(10, saved["scal_memory.keys"].shape[1]))
    assert saved.keys() == buffers(loaded).keys()
    for name, tensor in buffers(loaded).items():
        assert torch.equal(tensor, saved[name]), name
    observations = np.random.default_rng(0).integers(0, 2, (32, *model.observation_space.shape), dtype=np.int8)
    assert np.array_equal(
        model.predict(observations, deterministic=True)[0], loaded.predict(observations, deterministic=True)[0]
    )


def test_training_adapts_perception_and_is_seeded(log_folder):
    first = load_agent("scal_ppo", f"{train('scal_ppo', log_folder, 256, *SMALL_ENV, *CONSTANT_RATES)['run_dir']}/model.zip")
    again = load_agent("scal_ppo", f"{train('scal_ppo', log_folder, 256, *SMALL_ENV, *CONSTANT_RATES)['run_dir']}/model.zip")
    perception = first.policy.scal_perception
    assert float(perception.running_drift) > 0 and not torch.equal(
        perception.running_thresholds, torch.ones_like(perception.running_thresholds)
    )
    for name, tensor in buffers(first).items():
        assert torch.equal(tensor, buffers(again)[name]), name  # same seed, same trajectory


def test_annealed_plasticity_freezes_the_perception_by_the_end_of_training(log_folder):
    """NoisyCartPole's scal_ppo/scal_rl entries anneal the perception's rates with the training progress."""
    annealed = load_agent("scal_ppo", f"{train('scal_ppo', log_folder, 512, *SMALL_ENV)['run_dir']}/model.zip")
    # the last training phase ran at 1 − 512/512 = 0: its prototype updates moved nothing
    assert float(annealed.policy.scal_perception.running_drift) == 0.0
    run = train("scal_ppo", log_folder, 512, *SMALL_ENV, *CONSTANT_RATES)
    constant = load_agent("scal_ppo", f"{run['run_dir']}/model.zip")
    assert float(constant.policy.scal_perception.running_drift) > 0.0


def test_scal_perception_learns_quickly_without_noise(log_folder):
    """A short run at flip_prob=0 already beats chance (~20) by far.

    Without the action history: with it, scal_rl needs more steps before it leaves chance (6,144-step runs at
    flip_prob 0 score 21-27 with it and 99-159 without, seeds 0-2); it pays off later (100k steps at the default).
    """
    summary = train("scal_rl_no_history", log_folder, 6144, "--env-kwargs", "flip_prob:0.0", "--final-eval-episodes", "5")
    assert summary["eval_mean"] > 60


@pytest.mark.slow
def test_scal_rl_reaches_threshold_without_noise(log_folder):
    """Within 20k steps a periodic evaluation (10 episodes) of scal_rl at flip_prob=0 averages >= 195."""
    summary = train(
        "scal_rl", log_folder, 20_000, "--env-kwargs", "flip_prob:0.0", "--eval-freq", "4000", "--eval-episodes", "10"
    )
    curve = np.load(f"{summary['run_dir']}/evaluations.npz")["results"].mean(axis=1)
    assert curve.max() >= 195, curve
