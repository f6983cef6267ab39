"""Action history wrapper: the appended bits are the actions taken, resets clear them, vector envs and training."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401
from agents.registry import load_agent
from train.run import main
from wrappers.action_history import ActionHistory, ActionHistoryVector, env_max_delay
from wrappers.delay import RandomActionDelay

SMALL = {"bits_per_variable": 8}  # 32 observation bits


def one_hot_history(actions: list[int], k: int, n_actions: int = 2) -> list[int]:
    """The expected history bits: the last ``k`` actions one-hot, oldest first, zeros where none was taken."""
    bits = np.zeros((k, n_actions), dtype=int)
    for slot, action in enumerate(actions[-k:][::-1]):
        bits[k - 1 - slot, action] = 1
    return bits.ravel().tolist()


class BitsEnv(gym.Env):
    """A minimal env with the given spaces (for the spaces NoisyCartPole does not have)."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space) -> None:
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def test_bits_are_the_actions_taken_under_delays_and_reset_clears_them():
    wrapped = ActionHistory(gym.make("NoisyCartPole-v0", min_delay=1, max_delay=3, **SMALL))
    plain = gym.make("NoisyCartPole-v0", min_delay=1, max_delay=3, **SMALL)
    assert wrapped.k == 3 and wrapped.observation_space == gym.spaces.MultiBinary(32 + 3 * 2)
    rng = np.random.default_rng(0)
    for episode in range(3):
        obs, _ = wrapped.reset(seed=episode)
        assert obs[:32].tolist() == plain.reset(seed=episode)[0].tolist() and obs[32:].tolist() == [0] * 6
        taken, done = [], False
        while not done:
            action = int(rng.integers(2))
            obs, _, terminated, truncated, info = wrapped.step(action)
            expected, *_ = plain.step(action)
            taken.append(action)
            assert obs[:32].tolist() == expected.tolist()
            assert obs[32:].tolist() == one_hot_history(taken, 3), (taken, info["delay"])
            assert wrapped.observation_space.contains(obs)
            done = terminated or truncated
        assert len(taken) > 3


def test_k_defaults_to_the_delay_the_env_or_a_wrapper_declares():
    assert ActionHistory(gym.make("NoisyCartPole-v0", max_delay=4, **SMALL)).k == 4
    delayed = RandomActionDelay(gym.make("NoisyCartPole-v0", max_delay=0, **SMALL), min_delay=0, max_delay=5)
    assert env_max_delay(delayed) == 5 and ActionHistory(delayed).k == 5
    assert ActionHistory(gym.make("NoisyCartPole-v0", **SMALL), k=1).observation_space.n == 34
    unwrapped = ActionHistory(gym.make("NoisyCartPole-v0", max_delay=0, **SMALL))
    obs, _ = unwrapped.reset(seed=0)
    assert unwrapped.k == 0 and unwrapped.step(1)[0].shape == obs.shape == (32,)


def test_box_bits_keep_their_dtype():
    env = ActionHistory(BitsEnv(gym.spaces.Box(0.0, 1.0, (5,), np.float32), gym.spaces.Discrete(3)), k=2)
    assert env.observation_space == gym.spaces.Box(0.0, 1.0, (11,), np.float32)
    env.reset(seed=0)
    obs = env.step(2)[0]
    assert obs.dtype == np.float32 and obs[5:].tolist() == [0, 0, 0, 0, 0, 1]


@pytest.mark.parametrize(
    "observation_space, action_space, k, error, match",
    [
        (gym.spaces.MultiBinary(4), gym.spaces.Discrete(2), -1, ValueError, "k=-1"),
        (gym.spaces.MultiBinary(4), gym.spaces.Discrete(2), 1.5, ValueError, "k=1.5"),
        (gym.spaces.MultiBinary(4), gym.spaces.Discrete(2), None, ValueError, "k=None needs an env that declares"),
        (gym.spaces.MultiBinary([2, 2]), gym.spaces.Discrete(2), 1, TypeError, "observation_space=.*flat"),
        (gym.spaces.Box(-1.0, 1.0, (4,)), gym.spaces.Discrete(2), 1, ValueError, "observation_space=.*binary"),
        (gym.spaces.MultiBinary(4), gym.spaces.Box(-1.0, 1.0, (1,)), 1, TypeError, "action_space=.*Discrete"),
    ],
)
def test_bad_arguments_name_what_is_wrong(observation_space, action_space, k, error, match):
    with pytest.raises(error, match=match):
        ActionHistory(BitsEnv(observation_space, action_space), k=k)


def test_vector_env_history_matches_each_env_and_clears_on_the_autoreset_step():
    def make():
        return gym.make_vec("NoisyCartPole-v0", 3, vectorization_mode="vector_entry_point", max_episode_steps=5, **SMALL)

    wrapped, plain = ActionHistoryVector(make()), make()
    assert wrapped.k == 2 and wrapped.single_observation_space == gym.spaces.MultiBinary(36)
    obs, _ = wrapped.reset(seed=0)
    assert np.array_equal(obs[:, :32], plain.reset(seed=0)[0]) and not obs[:, 32:].any()
    rng, taken, restarting, restarts = np.random.default_rng(1), [[], [], []], np.zeros(3, bool), 0
    for _ in range(17):
        actions = rng.integers(0, 2, 3)
        obs, _, terminated, truncated, _ = wrapped.step(actions)
        assert np.array_equal(obs[:, :32], plain.step(actions)[0])
        for i in range(3):
            taken[i] = [] if restarting[i] else [*taken[i], int(actions[i])]  # a restart step ignores its action
            assert obs[i, 32:].tolist() == one_hot_history(taken[i], 2)
        restarts += int(restarting.sum())
        restarting = terminated | truncated
    assert restarts >= 6  # every env restarted at least twice


def test_vector_env_with_same_step_autoreset_clears_the_ended_envs_at_once():
    vec = gym.make_vec("NoisyCartPole-v0", 2, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
                       max_episode_steps=3, **SMALL)
    wrapped = ActionHistoryVector(vec, k=1)
    wrapped.reset(seed=0)
    for step in range(1, 4):
        obs, _, terminated, truncated, _ = wrapped.step(np.array([1, 0]))
        assert obs[:, 32:].tolist() == ([[0, 0], [0, 0]] if step == 3 else [[0, 1], [1, 0]])
    assert truncated.all()
    with pytest.raises(ValueError, match="autoreset_mode"):
        ActionHistoryVector(gym.make_vec("NoisyCartPole-v0", 2, vectorization_mode="sync",
                                         vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED}))


def test_an_agent_trains_on_the_history_chosen_in_the_hyperparameters(log_folder):
    argv = ["--agent", "ppo", "-n", "256", "--eval-freq", "0", "--save-freq", "0", "--final-eval-episodes", "1"]
    extra = ["--env-kwargs", "bits_per_variable:64", "-params", "env_wrapper:wrappers.action_history.ActionHistory"]
    summary = main([*argv, "-f", log_folder, "--verbose", "0", *extra])
    model = load_agent("ppo", f"{summary['run_dir']}/model.zip")
    assert model.observation_space == gym.spaces.MultiBinary(256 + 2 * 2) and summary["updates"] > 0
