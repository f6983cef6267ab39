"""Every registered id of the suite: Gymnasium's and SB3's env checkers, and seeded determinism."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from tests.conftest import suite_env_ids

ENV_IDS = suite_env_ids()


def test_the_suite_registers_noisy_cartpole():
    assert "NoisyCartPole-v0" in ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env_without_warnings(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env_without_warnings(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(env, warn=True)
    env.close()


def rollout(env_id: str, seed: int, steps: int = 100) -> list[np.ndarray]:
    """Observations of a seeded rollout with seeded random actions, resetting when episodes end."""
    env = gym.make(env_id)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    observations = [obs]
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        observations.append(obs)
        if terminated or truncated:
            obs, _ = env.reset()
            observations.append(obs)
    env.close()
    return observations


def flatten(observation) -> np.ndarray:
    """One flat array from an array or a dict of arrays (sorted keys)."""
    if isinstance(observation, dict):
        return np.concatenate([np.ravel(observation[key]) for key in sorted(observation)])
    return np.ravel(observation)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory(env_id):
    first, second = rollout(env_id, seed=3), rollout(env_id, seed=3)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(flatten(a), flatten(b))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_different_seeds_differ(env_id):
    first, second = rollout(env_id, seed=3, steps=20), rollout(env_id, seed=4, steps=20)
    assert any(not np.array_equal(flatten(a), flatten(b)) for a, b in zip(first, second, strict=False))
