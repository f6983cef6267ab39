"""NoisyCartPoleStream-v0: switches at the right step, each task's code, fixed tasks, seeding, bad arguments.

Gymnasium's and SB3's env checkers and the seeded-determinism rollout run on every registered id in
tests/test_env_api.py.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers the ids)
from envs.noisy_cartpole_config import NoisyCartPoleConfig

BITS = 8


def make(**kwargs) -> gym.Env:
    return gym.make("NoisyCartPoleStream-v0", **{"bits_per_variable": BITS, "flip_prob": 0.0, **kwargs})


def clean_code(state: np.ndarray, encoding: str = "thermometer") -> np.ndarray:
    return NoisyCartPoleConfig(encoding=encoding, bits_per_variable=BITS).code().encode_bool(state).astype(np.int8)


def test_the_task_switches_every_switch_every_steps_across_episodes():
    env = make(switch_every=7)
    env.action_space.seed(0)
    _, info = env.reset(seed=0)
    tasks = [info["task"]]
    for _ in range(40):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        tasks.append(info["task"])
        if terminated or truncated:
            _, reset_info = env.reset()  # the stream runs on
            assert reset_info["task"] == tasks[-1]
    assert tasks == [(step // 7) % 3 for step in range(41)]
    _, info = env.reset(seed=1)  # a seeded reset restarts the stream
    assert info["task"] == 0 and env.unwrapped.stream_steps == 0


def test_each_default_task_shows_the_same_state_through_its_own_code():
    env = make(switch_every=1)
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs, clean_code(info["state"]))
    obs, _, _, _, info = env.step(0)  # task 1: every bit inverted
    assert info["task"] == 1
    np.testing.assert_array_equal(obs, 1 - clean_code(info["state"]))
    obs, _, _, _, info = env.step(0)  # task 2: position and velocity blocks swapped with the angle blocks
    blocks = clean_code(info["state"]).reshape(4, BITS)
    np.testing.assert_array_equal(obs, blocks[[2, 3, 0, 1]].reshape(-1))


def test_tasks_may_change_the_encoding_and_the_flip_rate():
    env = make(tasks=[{"encoding": "population"}, {"flip_prob": 0.5}], switch_every=1)
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs, clean_code(info["state"], "population"))
    noisy = env.step(0)[0] != clean_code(env.unwrapped._state)  # task 1: thermometer, half the bits flipped
    obs, _, _, _, info = env.step(0)  # task 0 again: population code, no flips
    assert noisy.mean() > 0.2 and info["task"] == 0
    np.testing.assert_array_equal(obs, clean_code(info["state"], "population"))


def test_a_fixed_task_never_switches():
    env = make(switch_every=1, task=2)
    _, info = env.reset(seed=0)
    assert info["task"] == 2 and all(env.step(1)[4]["task"] == 2 for _ in range(5))


def test_same_seed_same_stream_through_a_switch():
    def rollout(seed: int) -> list[np.ndarray]:
        env = make(switch_every=5, flip_prob=0.2)
        env.action_space.seed(seed)
        observations = [env.reset(seed=seed)[0]]
        for _ in range(12):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            observations.append(obs)
            if terminated or truncated:
                observations.append(env.reset()[0])
        return observations

    first, second, other = rollout(3), rollout(3), rollout(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=False))


def test_checkers_pass_on_a_stream_that_switches_every_step():
    env = make(switch_every=1, flip_prob=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env, warn=True)


def test_a_refused_action_does_not_advance_the_stream():
    env = make(switch_every=1)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action=2"):
        env.step(2)
    assert env.unwrapped.stream_steps == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tasks": []}, ValueError, r"tasks=\[\] must be a non-empty sequence"),
        ({"tasks": "thermometer"}, ValueError, "tasks='thermometer' must be a non-empty sequence"),
        ({"tasks": [{}, 3]}, TypeError, r"tasks\[1\]=3 must be a mapping"),
        ({"tasks": [{"noise": 0.1}]}, ValueError, r"tasks\[0\] has unknown keys \['noise'\]; allowed: encoding"),
        ({"tasks": [{"invert": "yes"}]}, ValueError, r"tasks\[0\] invert='yes' is invalid; allowed: True, False"),
        ({"tasks": [{"variable_order": (0, 1, 1, 3)}]}, ValueError, r"variable_order=\(0, 1, 1, 3\) must be a perm"),
        ({"tasks": [{"flip_prob": 1.5}]}, ValueError, "flip_prob=1.5"),
        ({"tasks": [{"encoding": "gray"}]}, ValueError, "gray"),
        ({"switch_every": 0}, ValueError, "switch_every=0 must be an integer >= 1"),
        ({"switch_every": 2.5}, ValueError, "switch_every=2.5"),
        ({"task": 3}, ValueError, r"task=3 is invalid; allowed: None or an integer in \[0, 3\)"),
        ({"task": True}, ValueError, "task=True is invalid"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        make(**kwargs)
