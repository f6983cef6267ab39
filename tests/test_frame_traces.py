"""FrameTraces: leaky averages of past frames beside the current one, restarted every episode."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env

import envs  # noqa: F401  (registers the ids)
from agents.scal.frames import BinaryFrameStack
from wrappers.frame_traces import FrameTraces

BITS = 8  # 32 bits per frame


def small_env() -> gym.Env:
    return gym.make("NoisyCartPole-v0", bits_per_variable=BITS)


def frames_of(actions: list[int], seed: int) -> list[np.ndarray]:
    env = small_env()
    frames = [env.reset(seed=seed)[0].astype(np.float32)]
    frames += [env.step(action)[0].astype(np.float32) for action in actions]
    return frames


def test_traces_are_the_exponential_averages_of_the_frames() -> None:
    actions = [0, 1, 1, 0, 1]
    frames = frames_of(actions, seed=3)
    env = FrameTraces(small_env(), decays=[0.9, 0.5])
    observations = [env.reset(seed=3)[0]] + [env.step(action)[0] for action in actions]
    slow, fast = frames[0].copy(), frames[0].copy()
    for frame, obs in zip(frames, observations, strict=True):
        if frame is not frames[0]:
            slow, fast = 0.9 * slow + 0.1 * frame, 0.5 * fast + 0.5 * frame
        np.testing.assert_allclose(obs, np.concatenate([slow, fast, frame]), atol=1e-6)


def test_reset_restarts_the_traces_at_the_first_frame() -> None:
    env = FrameTraces(small_env(), decays=[0.9])
    env.reset(seed=0)
    for _ in range(5):
        env.step(1)
    obs, _ = env.reset(seed=7)
    first = frames_of([], seed=7)[0]
    np.testing.assert_array_equal(obs, np.concatenate([first, first]))


def test_observation_space_and_checkers() -> None:
    env = FrameTraces(small_env(), decays=[0.95, 0.8])
    assert env.observation_space == gym.spaces.Box(0.0, 1.0, (3 * 4 * BITS,), np.float32)
    check_env(env, skip_render_check=True)
    sb3_check_env(FrameTraces(small_env(), decays=[0.95, 0.8]), warn=False)


def test_vector_env_restarts_traces_when_an_episode_ends() -> None:
    venv = make_vec_env(small_env, n_envs=2, seed=0, wrapper_class=FrameTraces, wrapper_kwargs={"decays": [0.9]})
    obs = venv.reset()
    for _ in range(300):
        obs, _, dones, _ = venv.step(np.ones(2, dtype=int))  # always right: episodes end fast
        if dones.any():
            break
    assert dones.any()
    i = int(np.flatnonzero(dones)[0])
    trace, frame = obs[i].reshape(2, -1)
    np.testing.assert_array_equal(trace, frame)  # the new episode's first frame, not a blend with the old one


def test_frame_size_traces_the_newest_frame_of_a_stack_and_keeps_the_stack() -> None:
    actions = [1, 0, 1, 1]
    frames = frames_of(actions, seed=5)
    env = FrameTraces(BinaryFrameStack(small_env(), n_frames=2), decays=[0.8], frame_size=4 * BITS)
    assert env.observation_space.shape == (3 * 4 * BITS,)
    observations = [env.reset(seed=5)[0]] + [env.step(action)[0] for action in actions]
    trace = frames[0].copy()
    for t, obs in enumerate(observations):
        if t:
            trace = 0.8 * trace + 0.2 * frames[t]
        previous = frames[max(t - 1, 0)]
        np.testing.assert_allclose(obs, np.concatenate([trace, previous, frames[t]]), atol=1e-6)


@pytest.mark.parametrize("frame_size", [0, -1, 4 * BITS + 1, 2.5, True])
def test_bad_frame_size_is_rejected(frame_size) -> None:
    with pytest.raises(ValueError, match="frame_size"):
        FrameTraces(small_env(), decays=[0.9], frame_size=frame_size)


@pytest.mark.parametrize(
    ("decays", "error"),
    [([], ValueError), ([0.0], ValueError), ([1.0], ValueError), ([0.8, 0.95], ValueError), ("0.9", ValueError),
     ([float("nan")], ValueError)],
)
def test_bad_decays_are_rejected(decays, error) -> None:
    with pytest.raises(error, match="decays"):
        FrameTraces(small_env(), decays=decays)


def test_non_flat_space_is_rejected() -> None:
    env = gym.make("CartPole-v1")
    env.observation_space = gym.spaces.Box(0.0, 1.0, (2, 2), np.float32)
    with pytest.raises(TypeError, match="flat MultiBinary or Box"):
        FrameTraces(env)
