"""NoisyCartPole-v0: physics, encodings, noise, delay, validation, and the vector version."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from envs.noisy_cartpole import NoisyCartPoleEnv
from envs.noisy_cartpole_vector import NoisyCartPoleVectorEnv


def make(**kwargs) -> gym.Env:
    return gym.make("NoisyCartPole-v0", **kwargs)


def test_registration_matches_the_spec():
    spec = gym.spec("NoisyCartPole-v0")
    assert spec.max_episode_steps == 200
    assert spec.reward_threshold == 195.0
    env = make()
    assert env.observation_space == gym.spaces.MultiBinary(4096)
    assert env.unwrapped.config.flip_prob == 0.45
    assert (env.unwrapped.config.min_delay, env.unwrapped.config.max_delay) == (0, 2)


def test_clean_dynamics_equal_gymnasium_cartpole():
    ours = make(flip_prob=0.0, min_delay=0, max_delay=0)
    reference = gym.make("CartPole-v1").unwrapped
    _, info = ours.reset(seed=7)
    reference.reset(seed=0)
    reference.state = info["state"].copy()
    actions = np.random.default_rng(0).integers(0, 2, 30)
    for action in actions:
        _, _, terminated, _, info = ours.step(int(action))
        expected, _, ref_terminated, _, _ = reference.step(int(action))
        np.testing.assert_allclose(info["state"], expected, rtol=1e-5, atol=1e-6)  # CartPole returns float32
        assert terminated == ref_terminated
        if terminated:
            break


def test_reward_and_truncation_at_200_steps():
    env = make(flip_prob=0.0)
    env.reset(seed=0)
    steps, total = 0, 0.0
    while True:  # hold the pole up with the clean state: push towards the way it falls
        state = env.unwrapped._state
        _, reward, terminated, truncated, _ = env.step(int(state[2] + 0.5 * state[3] > 0))
        steps, total = steps + 1, total + reward
        if terminated or truncated:
            break
    assert (steps, total, truncated) == (200, 200.0, True)


def test_bits_per_step_is_the_channel_capacity():
    env = make().unwrapped
    h = -(0.45 * math.log2(0.45) + 0.55 * math.log2(0.55))
    assert env.bits_per_step == pytest.approx(4096 * (1 - h))
    assert make(encoding="sign", bits_per_variable=1).unwrapped.bits_per_step == pytest.approx(4 * (1 - h))
    assert make(flip_prob=0.5).unwrapped.bits_per_step == pytest.approx(0.0)
    assert make(flip_prob=0.0, bits_per_variable=8).unwrapped.bits_per_step == 32


@pytest.mark.parametrize("encoding, k, ones", [("sign", 1, None), ("thermometer", 16, None), ("population", 16, 4)])
def test_clean_observation_is_the_code_of_the_state(encoding, k, ones):
    env = make(encoding=encoding, bits_per_variable=k, flip_prob=0.0)
    obs, info = env.reset(seed=1)
    assert obs.shape == (4 * k,) and obs.dtype == np.int8
    np.testing.assert_array_equal(obs, env.unwrapped.code.encode(info["state"]))
    if ones is not None:  # population: one-hot per variable
        assert obs.sum() == ones


def test_flip_rate_matches_flip_prob():
    env = make(flip_prob=0.3, bits_per_variable=512)
    obs, info = env.reset(seed=2)
    flipped, total = 0, 0
    for _ in range(100):
        clean = env.unwrapped.code.encode(info["state"])
        flipped, total = flipped + int((obs != clean).sum()), total + obs.size
        obs, _, terminated, truncated, info = env.step(0)
        if terminated or truncated:
            obs, info = env.reset()
    rate = flipped / total
    assert abs(rate - 0.3) < 5 * math.sqrt(0.3 * 0.7 / total)


def test_action_delay_distribution_and_reach():
    env = make(flip_prob=0.0, min_delay=0, max_delay=2)
    env.reset(seed=3)
    delays = []
    for t in range(3000):
        _, _, terminated, truncated, info = env.step(t % 2)
        delays.append(info["delay"])
        if terminated or truncated:
            env.reset()
    counts = np.bincount(delays, minlength=3) / len(delays)
    np.testing.assert_allclose(counts, [1 / 3] * 3, atol=0.04)
    first = make(flip_prob=0.0, min_delay=2, max_delay=2)
    first.reset(seed=0)
    forces = [first.step(1)[4]["applied_force"] for _ in range(3)]
    assert forces == [0.0, 0.0, 10.0]  # nothing arrives for two steps, then the first push


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"flip_prob": 1.5}, "flip_prob"),
        ({"flip_prob": -0.1}, "flip_prob"),
        ({"flip_prob": float("nan")}, "flip_prob"),
        ({"encoding": "gray"}, "encoding"),
        ({"bits_per_variable": 0}, "bits_per_variable"),
        ({"bits_per_variable": 2.5}, "bits_per_variable"),
        ({"min_delay": -1}, "min_delay"),
        ({"min_delay": 3, "max_delay": 2}, "min_delay"),
        ({"render_mode": "ascii"}, "render_mode"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        NoisyCartPoleEnv(**kwargs)


@pytest.mark.parametrize("action", [2, -1, 0.5, float("nan"), np.array([0, 1]), "1", None])
def test_invalid_actions_raise_and_leave_the_state_unchanged(action):
    env = make()
    env.reset(seed=0)
    before = env.unwrapped._state
    with pytest.raises(ValueError, match="action"):
        env.unwrapped.step(action)
    assert env.unwrapped._state == before


def test_numpy_integer_actions_act_like_python_ints():
    numpy_env, python_env = make(min_delay=0, max_delay=0), make(min_delay=0, max_delay=0)
    numpy_env.reset(seed=0)
    python_env.reset(seed=0)
    for action, same in ((np.int64(1), 1), (np.array(0), 0), (np.int8(1), 1)):
        obs, *_, info = numpy_env.step(action)
        expected_obs, *_, expected_info = python_env.step(same)
        assert info["applied_force"] == expected_info["applied_force"] == (10.0 if same else -10.0)
        np.testing.assert_array_equal(obs, expected_obs)


def test_vector_env_with_one_copy_reproduces_the_single_env():
    single = NoisyCartPoleEnv()
    vector = NoisyCartPoleVectorEnv(num_envs=1)
    obs_s, info_s = single.reset(seed=11)
    obs_v, info_v = vector.reset(seed=11)
    np.testing.assert_array_equal(obs_v[0], obs_s)
    for t in range(60):
        obs_s, _, term_s, _, info_s = single.step(t % 3 == 0)
        obs_v, _, term_v, _, info_v = vector.step(np.array([int(t % 3 == 0)]))
        np.testing.assert_array_equal(obs_v[0], obs_s)
        np.testing.assert_allclose(info_v["state"][0], info_s["state"])
        if term_s:
            break


def test_vector_env_autoresets_on_the_next_step():
    vector = gym.make_vec("NoisyCartPole-v0", num_envs=4, vectorization_mode="vector_entry_point", flip_prob=0.0)
    assert isinstance(vector, NoisyCartPoleVectorEnv)
    vector.reset(seed=0)
    push_right = np.ones(4, dtype=np.int64)  # the pole falls within about 40 steps
    for _ in range(100):
        _, _, terminated, truncated, _ = vector.step(push_right)
        ended = terminated | truncated
        if ended.any():
            break
    assert ended.any()
    _, reward, terminated, truncated, info = vector.step(push_right)
    assert np.all(reward[ended] == 0.0) and not np.any(terminated[ended] | truncated[ended])
    assert np.all(np.abs(info["state"][ended]) <= 0.05)  # a fresh start state
    assert np.all(reward[~ended] == 1.0)


def test_vector_env_validates_actions_and_arguments():
    vector = NoisyCartPoleVectorEnv(num_envs=3)
    vector.reset(seed=0)
    for bad in (np.array([0, 1]), np.array([0, 1, 2]), np.array([0.0, 1.0, 0.5])):
        with pytest.raises(ValueError, match="actions"):
            vector.step(bad)
    with pytest.raises(ValueError, match="num_envs"):
        NoisyCartPoleVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="flip_prob"):
        NoisyCartPoleVectorEnv(num_envs=2, flip_prob=2.0)


@pytest.mark.parametrize("min_delay, max_delay", [(0, 2), (1, 3)])
def test_vector_env_matches_the_single_env_across_autoresets(min_delay, max_delay):
    """One copy, random actions, many episodes: every step equals the single env's.

    On the step after an episode ends the vector env ignores the action (NEXT_STEP autoreset) but still
    draws that step's delay before resetting; the single env is reset after the same draw. A delay line
    that kept actions in flight across the reset would apply them to the new episode and diverge.
    """
    kwargs = {"flip_prob": 0.1, "bits_per_variable": 8, "min_delay": min_delay, "max_delay": max_delay}
    single, vector = make(**kwargs), NoisyCartPoleVectorEnv(num_envs=1, **kwargs)
    obs_s, info_s = single.reset(seed=5)
    obs_v, info_v = vector.reset(seed=5)
    actions = np.random.default_rng(0).integers(0, 2, 600)
    ended, resets = False, 0
    for action in actions:
        obs_v, reward_v, term_v, trunc_v, info_v = vector.step(np.array([action]))
        if ended:  # the vector env's autoreset step
            single.unwrapped.np_random.bit_generator.random_raw()  # the delay drawn for the ignored action
            obs_s, info_s = single.reset()
            reward_s, term_s, trunc_s, resets = 0.0, False, False, resets + 1
        else:
            obs_s, reward_s, term_s, trunc_s, info_s = single.step(int(action))
        np.testing.assert_array_equal(obs_v[0], obs_s)
        np.testing.assert_allclose(info_v["state"][0], info_s["state"], rtol=1e-12)
        assert (reward_v[0], term_v[0], trunc_v[0]) == (reward_s, term_s, trunc_s)
        ended = term_s or trunc_s
    assert resets >= 10
