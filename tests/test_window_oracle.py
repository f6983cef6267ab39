"""The oracle restricted to its last W observations (agents.oracle.WindowedCartPoleOracle)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from agents.oracle import CartPoleOracle, WindowedCartPoleOracle


def play(agent, env, seed: int, max_steps: int = 200) -> tuple[float, list[int]]:
    observation, _ = env.reset(seed=seed)
    state, actions, total, done = None, [], 0.0, False
    while not done and len(actions) < max_steps:
        action, state = agent.predict(observation, state)
        actions.append(int(action))
        observation, reward, terminated, truncated, _ = env.step(action)
        total, done = total + reward, terminated or truncated
    return total, actions


def test_a_window_longer_than_the_episode_is_the_oracle() -> None:
    env = gym.make("NoisyCartPole-v0")
    full = play(CartPoleOracle(env), env, seed=3, max_steps=60)
    windowed = play(WindowedCartPoleOracle(env, window=60), env, seed=3, max_steps=60)
    assert windowed == full


def test_a_window_of_one_acts_on_the_last_observation_only() -> None:
    env = gym.make("NoisyCartPole-v0")
    agent = WindowedCartPoleOracle(env, window=1)
    rng = np.random.default_rng(0)
    last = rng.integers(0, 2, 4096).astype(np.int8)
    actions = set()
    for history_seed in range(4):
        state = None
        for observation in np.random.default_rng(history_seed).integers(0, 2, (5, 4096)).astype(np.int8):
            _, state = agent.predict(observation, state)
        action, _ = agent.predict(last, state)
        actions.add(int(action))
    assert len(actions) == 1
    # the whole-episode oracle's action does depend on what came before
    oracle_actions = set()
    for history_seed in range(8):
        oracle = CartPoleOracle(env)
        state = None
        for observation in np.random.default_rng(history_seed).integers(0, 2, (5, 4096)).astype(np.int8):
            _, state = oracle.predict(observation, state)
        oracle_actions.add(int(oracle.predict(last, state)[0]))
    assert len(oracle_actions) == 2


def test_episode_start_clears_the_window() -> None:
    env = gym.make("NoisyCartPole-v0")
    agent = WindowedCartPoleOracle(env, window=4)
    observations = np.random.default_rng(1).integers(0, 2, (6, 1, 4096)).astype(np.int8)
    state = None
    for observation in observations[:5]:
        _, state = agent.predict(observation, state)
    after_reset, _ = agent.predict(observations[5], state, episode_start=np.array([True]))
    fresh, _ = WindowedCartPoleOracle(env, window=4).predict(observations[5])
    assert after_reset == fresh


def test_a_short_window_scores_below_the_oracle_at_the_default_noise() -> None:
    env = gym.make("NoisyCartPole-v0")
    window_one = np.mean([play(WindowedCartPoleOracle(env, window=1), env, seed)[0] for seed in range(8)])
    assert window_one < 190.0  # measured: about 160 (eval/results/noisy_cartpole/oracle_window.md)


@pytest.mark.parametrize("window", [0, -2, 2.5, True, "4"])
def test_bad_window_is_named(window) -> None:
    with pytest.raises(ValueError, match="window="):
        WindowedCartPoleOracle(gym.make("NoisyCartPole-v0"), window=window)
