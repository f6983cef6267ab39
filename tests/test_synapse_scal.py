"""SCAL-RL on the synapse envs: the per-event SCAL policy, its callback, save/load and smoke training."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import envs  # noqa: F401
from agents.synapse.layout import as_rows
from agents.synapse.scal_policy import SCALSynapsePolicy
from envs.synapse import SCENARIO_IDS
from envs.synapse.config import tiny_kwargs
from train.run import main as train_main


def make(name: str, **overrides) -> gym.Env:
    return gym.make(SCENARIO_IDS[name], **{**tiny_kwargs(name), **overrides})


def test_scal_policy_is_shared_across_events_and_ignores_padding():
    env = make("semi", third_factor="teacher")
    policy = PPO(SCALSynapsePolicy, env, seed=0).policy
    obs, _ = env.reset(seed=0)
    rows = as_rows(torch.as_tensor(obs[None]), 32)
    permutation = torch.randperm(32, generator=torch.Generator().manual_seed(0))
    policy.set_training_mode(False)
    with torch.no_grad():
        mean = policy.get_distribution(rows.reshape(1, -1)).distribution.mean
        permuted = policy.get_distribution(rows[:, permutation].reshape(1, -1)).distribution.mean
        torch.testing.assert_close(mean[:, permutation], permuted)
        padded = rows.clone()
        padded[:, 1:] = 0
        actions = torch.zeros(1, 32)
        lp_a = policy.evaluate_actions(padded.reshape(1, -1), actions)[1]
        actions[:, 1:] = 5.0
        torch.testing.assert_close(lp_a, policy.evaluate_actions(padded.reshape(1, -1), actions)[1])
    assert mean.shape == (1, 32) and torch.all(mean.abs() <= 1)


def test_prototypes_adapt_in_training_passes_on_real_events_only():
    env = make("semi", third_factor="teacher")
    policy = PPO(SCALSynapsePolicy, env, seed=0).policy
    perception = policy.scal_perception
    padding = torch.zeros(4, env.observation_space.shape[0])
    before = perception.running_prototypes.clone()
    policy.set_training_mode(True)
    policy.evaluate_actions(padding, torch.zeros(4, 32))  # padding only: nothing reaches the perception
    torch.testing.assert_close(perception.running_prototypes, before)
    obs, _ = env.reset(seed=0)
    policy.set_training_mode(False)
    policy.evaluate_actions(torch.as_tensor(obs[None]), torch.zeros(1, 32))  # rollout/predict: frozen
    torch.testing.assert_close(perception.running_prototypes, before)
    policy.set_training_mode(True)
    policy.evaluate_actions(torch.as_tensor(obs[None]), torch.zeros(1, 32))
    assert not torch.allclose(perception.running_prototypes, before)


def test_scal_policy_rejects_a_pool_size_that_mixes_pre_and_post():
    env = make("semi", history=8)
    with pytest.raises(ValueError, match="pool_size"):
        PPO(SCALSynapsePolicy, env, policy_kwargs={"perception_kwargs": {"pool_size": 3}})


def cli_kwargs(name: str) -> list[str]:
    return [f"{k}:{list(v) if isinstance(v, tuple) else v}" for k, v in tiny_kwargs(name).items() if k != "scenario"]


@pytest.mark.parametrize("name", sorted(SCENARIO_IDS))
def test_scal_rl_smoke_trains_through_train_run(name, log_folder):
    argv = ["--env", SCENARIO_IDS[name], "--agent", "scal_rl", "-n", "64", "--seed", "1", "-f", log_folder]
    argv += ["--no-tensorboard", "--eval-freq", "0", "--final-eval-episodes", "1", "--env-kwargs", *cli_kwargs(name)]
    summary = train_main([*argv, "-params", "n_steps:32", "batch_size:16", "n_epochs:1"])
    assert np.isfinite(summary["eval_mean"]) and summary["timesteps"] >= 64
    model = PPO.load(f"{summary['run_dir']}/model.zip", device="cpu")
    assert isinstance(model.policy, SCALSynapsePolicy)
    assert len(model.policy.actor) == (2 if name == "unsup_dual" else 1)


def test_save_load_keeps_prototypes_thresholds_and_actions(tmp_path):
    from stable_baselines3.common.logger import configure

    from agents.synapse.callbacks import SCALSynapseCallback

    env = make("grad_mimicry", third_factor="teacher")
    model = PPO(SCALSynapsePolicy, env, n_steps=32, batch_size=16, n_epochs=1, seed=0)
    initial = model.policy.scal_perception.running_prototypes.clone()
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(64, callback=SCALSynapseCallback())
    perception = model.policy.scal_perception
    assert not torch.allclose(perception.running_prototypes, initial)  # the SCAL rule moved them
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    assert {"scal/spike_rate", "scal/threshold_mean", "scal/prototype_drift"} <= set(header)
    model.save(tmp_path / "m")
    loaded = PPO.load(tmp_path / "m", device="cpu")
    torch.testing.assert_close(loaded.policy.scal_perception.running_prototypes, perception.running_prototypes)
    torch.testing.assert_close(loaded.policy.scal_perception.running_thresholds, perception.running_thresholds)
    assert loaded.policy.perception_kwargs == model.policy.perception_kwargs
    obs, _ = env.reset(seed=3)
    np.testing.assert_allclose(
        loaded.predict(obs[None], deterministic=True)[0], model.predict(obs[None], deterministic=True)[0], rtol=1e-5
    )
