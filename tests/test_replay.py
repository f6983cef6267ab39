"""Replay mixing: the share of replayed old transitions matches replay_ratio; it trains through the CLI."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents.replay import MixedReplayBuffer
from train.run import main


def filled_buffer(replay_ratio: float, stored: int = 1000, size: int = 1000) -> MixedReplayBuffer:
    """A buffer whose observation is the transition's index, wrapped around once if stored > size."""
    buffer = MixedReplayBuffer(size, gym.spaces.Box(0, 1e9, (1,)), gym.spaces.Discrete(2), device="cpu",
                               replay_ratio=replay_ratio, recent_window=100)
    for index in range(stored):
        obs = np.array([[index]], dtype=np.float32)
        buffer.add(obs, obs, np.array([0]), np.array([0.0]), np.array([False]), [{}])
    return buffer


@pytest.mark.parametrize("stored", [1000, 1500])
@pytest.mark.parametrize("replay_ratio", [0.0, 0.2, 1.0])
def test_the_replayed_share_matches_replay_ratio(replay_ratio, stored):
    np.random.seed(0)
    buffer = filled_buffer(replay_ratio, stored=stored)
    indices = np.concatenate([buffer.sample(100).observations.numpy().ravel() for _ in range(200)])
    assert indices.min() >= stored - 1000  # overwritten transitions never come back
    old = (indices < stored - 100).mean()  # outside the recent window
    expected = replay_ratio * (900 / 1000)  # uniform draws over everything land outside the window 90% of the time
    assert abs(old - expected) < 0.02


def test_invalid_arguments_are_named():
    space = gym.spaces.Box(0, 1, (1,))
    with pytest.raises(ValueError, match="replay_ratio"):
        MixedReplayBuffer(10, space, gym.spaces.Discrete(2), replay_ratio=1.5)
    with pytest.raises(ValueError, match="recent_window"):
        MixedReplayBuffer(10, space, gym.spaces.Discrete(2), recent_window=0)


def test_dqn_trains_with_mixed_replay_from_the_cli(log_folder):
    summary = main(["--agent", "dqn", "-n", "300", "-f", log_folder, "--verbose", "0", "--no-tensorboard",
                    "--eval-freq", "0", "--final-eval-episodes", "2", "--env-kwargs", "bits_per_variable:16",
                    "-params", "buffer_size:1000", "learning_starts:100", "train_freq:4", "gradient_steps:1",
                    "replay_buffer_class:agents.replay.MixedReplayBuffer", "replay_buffer_kwargs:{replay_ratio: 0.2}"])
    assert summary["timesteps"] == 300
