"""Reusable wrappers: codes, bit-flip statistics, delay semantics and distributions, validation."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from wrappers import (
    ActionDelayLine,
    ActionDelayQueue,
    BinaryCode,
    BinaryEncoding,
    BitFlipNoise,
    RandomActionDelay,
    RandomObservationDelay,
    binary_entropy,
    bsc_capacity,
    flip_bits,
)
from wrappers.delay import applied_action_probabilities
from wrappers.noise import flip_mask


def test_codes_on_hand_examples():
    low, high = np.array([-1.0]), np.array([1.0])
    thermometer = BinaryCode("thermometer", 4, low, high)  # thresholds -0.75 -0.25 0.25 0.75
    np.testing.assert_array_equal(thermometer.encode(np.array([[0.0], [0.8], [-2.0]])), [[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    population = BinaryCode("population", 4, low, high)
    np.testing.assert_array_equal(population.encode(np.array([[0.1], [5.0]])), [[0, 0, 1, 0], [0, 0, 0, 1]])
    sign = BinaryCode("sign", 3, low, high)
    np.testing.assert_array_equal(sign.encode(np.array([[0.2], [-0.2]])), [[1, 1, 1], [0, 0, 0]])


@pytest.mark.parametrize(
    "kwargs, name",
    [({"kind": "gray"}, "encoding"), ({"bits_per_variable": 0}, "bits_per_variable"), ({"high": np.array([-2.0])}, "low < high")],
)
def test_code_arguments_are_validated(kwargs, name):
    arguments = {"kind": "thermometer", "bits_per_variable": 4, "low": np.array([-1.0]), "high": np.array([1.0]), **kwargs}
    with pytest.raises(ValueError, match=name):
        BinaryCode(**arguments)


def test_binary_encoding_wrapper_declares_its_space_and_needs_bounds():
    env = BinaryEncoding(gym.make("Pendulum-v1"), "thermometer", 8)
    obs, _ = env.reset(seed=0)
    assert env.observation_space == gym.spaces.MultiBinary(24) and env.observation_space.contains(obs)
    with pytest.raises(ValueError, match="unbounded"):
        BinaryEncoding(gym.make("CartPole-v1"), "thermometer", 8)  # velocities are unbounded
    bounded = BinaryEncoding(gym.make("CartPole-v1"), "sign", 2, low=-1.0, high=1.0)
    assert bounded.observation_space == gym.spaces.MultiBinary(8)
    with pytest.raises(TypeError, match="Box"):
        BinaryEncoding(bounded, "sign", 1)


def test_information_per_bit():
    assert binary_entropy(0.5) == pytest.approx(1.0)
    assert bsc_capacity(0.45) == pytest.approx(0.00723, abs=1e-5)  # docs/noisy_cartpole.md: 0.0072
    assert bsc_capacity(0.0) == bsc_capacity(1.0) == 1.0


@pytest.mark.parametrize("p", [0.0, 0.1, 0.45, 1.0])
def test_measured_flip_rate_matches_flip_prob(p):
    bits = np.zeros(400_000, dtype=np.int8)
    rate = flip_bits(bits, p, np.random.default_rng(0)).mean()
    assert abs(rate - p) <= 5 * math.sqrt(max(p * (1 - p), 1e-12) / bits.size) + 1e-5


def test_bit_flip_noise_wrapper_is_seeded_and_validated():
    def noisy():
        return BitFlipNoise(BinaryEncoding(gym.make("Pendulum-v1"), "thermometer", 64), flip_prob=0.3)

    first, second = noisy(), noisy()
    np.testing.assert_array_equal(first.reset(seed=5)[0], second.reset(seed=5)[0])
    assert not np.array_equal(first.reset(seed=5)[0], first.reset(seed=6)[0])
    with pytest.raises(ValueError, match="flip_prob"):
        BitFlipNoise(BinaryEncoding(gym.make("Pendulum-v1"), "sign", 1), flip_prob=1.2)
    with pytest.raises(TypeError, match="MultiBinary"):
        BitFlipNoise(gym.make("CartPole-v1"), flip_prob=0.1)


def test_delay_queue_and_batched_line_agree_draw_for_draw():
    queue, line = ActionDelayQueue(0, 2), ActionDelayLine(1, 0, 2)
    rng_q, rng_l = np.random.default_rng(1), np.random.default_rng(1)
    for t in range(500):
        delay_q = queue.send(t, rng_q)
        delays_l, has_action = line.send(np.array([t]), rng_l)
        assert delay_q == delays_l[0]
        assert (queue.applied_action is not None) == has_action[0]
        if has_action[0]:
            assert queue.applied_action == line.applied_action[0]


@pytest.mark.parametrize("min_delay, max_delay", [(0, 2), (1, 3), (2, 2)])
def test_applied_action_age_follows_the_delay_distribution(min_delay, max_delay):
    """Send the step index as the action: the applied one's age is how stale the cart's command is."""
    queue, rng = ActionDelayQueue(min_delay, max_delay), np.random.default_rng(0)
    ages = []
    for t in range(20_000):
        queue.send(t, rng)
        if t > max_delay:
            ages.append(t - queue.applied_action)
    measured = np.bincount(ages, minlength=max_delay + 1) / len(ages)
    np.testing.assert_allclose(measured, applied_action_probabilities(min_delay, max_delay), atol=0.015)


def test_random_action_delay_applies_the_action_sent_k_steps_ago():
    delayed = RandomActionDelay(gym.make("CartPole-v1"), min_delay=1, max_delay=1, noop_action=0)
    plain = gym.make("CartPole-v1")
    delayed.reset(seed=4)
    plain.reset(seed=4)
    actions = [1, 1, 0, 1, 0, 0, 1]
    for t, action in enumerate(actions):
        obs_delayed, *_ = delayed.step(action)
        obs_plain, *_ = plain.step(actions[t - 1] if t > 0 else 0)
        np.testing.assert_array_equal(obs_delayed, obs_plain)
    with pytest.raises(ValueError, match="action"):
        delayed.step(5)
    with pytest.raises(ValueError, match="min_delay"):
        RandomActionDelay(gym.make("CartPole-v1"), min_delay=2, max_delay=1)


def test_random_observation_delay_shows_past_frames():
    env = RandomObservationDelay(gym.make("CartPole-v1"), min_delay=1, max_delay=3)
    raw_history = []
    obs, _ = env.reset(seed=0)
    raw_history.append(env.env.unwrapped.state.copy())
    seen = []
    for _ in range(40):
        obs, _, terminated, truncated, _ = env.step(0)
        raw_history.append(env.env.unwrapped.state.copy())
        delay = env.last_delay
        assert 1 <= delay <= 3
        source = max(len(raw_history) - 1 - delay, 0)
        np.testing.assert_allclose(obs, raw_history[source], rtol=1e-6)
        seen.append(delay)
        if terminated or truncated:
            break
    assert set(seen) == {1, 2, 3}
    with pytest.raises(ValueError, match="max_delay"):
        RandomObservationDelay(gym.make("CartPole-v1"), min_delay=1, max_delay=-1)


@pytest.mark.parametrize("n_bits", [1, 3, 5, 7, 13, 4097])
def test_flip_masks_of_any_bit_count_are_fresh_and_at_the_right_rate(n_bits):
    """Bit counts that are not a multiple of 4 (four masks per raw 64-bit word) get their own draws."""
    rng, p, steps = np.random.default_rng(3), 0.3, max(20_000 // n_bits, 8)
    masks = np.stack([flip_mask((n_bits,), p, rng) for _ in range(steps)])
    assert masks.shape == (steps, n_bits) and masks.dtype == bool
    assert abs(masks.mean() - p) < 5 * math.sqrt(p * (1 - p) / masks.size)
    repeated = np.all(masks[1:] == masks[:-1], axis=1).mean()  # a step that reused the previous draws
    expected = (p**2 + (1 - p) ** 2) ** n_bits
    assert abs(repeated - expected) < 5 * math.sqrt(expected * (1 - expected) / (steps - 1)) + 1e-9


def test_flips_are_independent_across_bits_and_steps():
    """P(flip, flip) = p**2 for neighbouring bits, for the same bit at consecutive steps, and for bits a
    raw word apart; every position flips at rate p."""
    rng, p = np.random.default_rng(7), 0.3
    masks = np.stack([flip_mask((7,), p, rng) for _ in range(60_000)]).astype(float)
    tolerance = 5 * math.sqrt(p**2 * (1 - p**2) / masks.shape[0])
    np.testing.assert_allclose(masks.mean(axis=0), p, atol=5 * math.sqrt(p * (1 - p) / masks.shape[0]))
    for first, second in ((0, 1), (3, 4), (2, 6), (0, 4)):  # within and across the 4-mask groups of a word
        assert abs((masks[:, first] * masks[:, second]).mean() - p**2) < tolerance
    for lag in (1, 2, 4):  # the same bit over steps
        assert abs((masks[lag:] * masks[:-lag]).mean() - p**2) < tolerance
    last_and_next_first = masks[:-1, 6] * masks[1:, 0]  # where a step's draws end and the next begin
    assert abs(last_and_next_first.mean() - p**2) < tolerance


def test_flip_mask_consumes_the_generator_so_seeds_fix_it():
    first, second = np.random.default_rng(11), np.random.default_rng(11)
    a = [flip_mask((5, 3), 0.45, first) for _ in range(3)]
    b = [flip_mask((5, 3), 0.45, second) for _ in range(3)]
    for mask_a, mask_b in zip(a, b, strict=True):
        assert mask_a.shape == (5, 3)
        np.testing.assert_array_equal(mask_a, mask_b)
    assert not np.array_equal(a[0], a[1]) or not np.array_equal(a[1], a[2])
    assert flip_mask((6,), 1.0, first).all() and not flip_mask((6,), 0.0, first).any()
