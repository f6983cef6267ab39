"""MetaUtility-v0: env checkers, determinism, the reward formula, info, and argument validation."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers the ids)
from envs.meta_utility.env import FEATURES, MetaUtilityEnv


@pytest.fixture(scope="module")
def env() -> MetaUtilityEnv:
    return MetaUtilityEnv(eta=0.5, split="test")


def play(env: MetaUtilityEnv, actions, index: int = 0) -> tuple[list[float], dict]:
    """Rewards and the last info of one episode on input ``index`` with fixed ``actions``."""
    env.reset(seed=0, options={"index": index})
    rewards, info = [], {}
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        assert not truncated
    assert terminated
    return rewards, info


def test_env_checkers_pass_without_warnings():
    env = gym.make("MetaUtility-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env, warn=True)


def test_same_seed_same_trajectory():
    def trajectory(seed: int) -> list[np.ndarray]:
        env = gym.make("MetaUtility-v0")
        env.action_space.seed(seed)
        out = [env.reset(seed=seed)[0]]
        for _ in range(40):
            obs, reward, terminated, _, _ = env.step(env.action_space.sample())
            out.append(np.append(obs, reward))
            if terminated:
                out.append(env.reset()[0])
        return out

    first, second, other = trajectory(3), trajectory(3), trajectory(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=False))


def test_reward_is_minus_task_loss_minus_eta_times_the_cost_of_the_blocks_that_run(env):
    actions = [1, 0, 1, 0, 0, 1]
    rewards, info = play(env, actions)
    share = env.block_flops / env.block_flops.sum()
    expected_cost = float(share @ np.array(actions))
    assert info["compute_cost"] == pytest.approx(expected_cost)
    assert sum(rewards) == pytest.approx(-info["task_loss"] - 0.5 * expected_cost)
    # each run block pays its own share as it runs; skipped blocks cost nothing
    np.testing.assert_allclose(rewards[:-1], -0.5 * share[:-1] * np.array(actions[:-1]))


def test_task_loss_is_the_cross_entropy_of_the_final_prediction(env):
    _, info = play(env, [1] * env.n_blocks)
    p = env._outcomes.probabilities[0, -1]  # the last node: every block run
    assert info["task_loss"] == pytest.approx(-np.log(p[info["label"]]), rel=1e-5)
    assert info["prediction"] == int(np.argmax(p))
    assert info["correct"] == (info["prediction"] == info["label"])


def test_zero_one_loss_and_cost_sign_on_constructed_cases():
    env = MetaUtilityEnv(eta=1.0, split="test", task_loss="zero_one")
    n = env.n_blocks
    all_rewards, all_info = play(env, [1] * n)
    none_rewards, none_info = play(env, [0] * n)
    # running everything costs exactly eta; running nothing costs nothing (the corrected sign)
    assert sum(all_rewards) == pytest.approx(-float(not all_info["correct"]) - 1.0)
    assert sum(none_rewards) == pytest.approx(-float(not none_info["correct"]))
    assert all_info["compute_cost"] == 1.0 and none_info["compute_cost"] == 0.0


def test_eta_zero_makes_the_reward_the_task_loss_only():
    rewards, info = play(MetaUtilityEnv(eta=0.0, split="test"), [1, 1, 0, 1, 1, 1])
    assert rewards[:-1] == [0.0] * 5
    assert sum(rewards) == pytest.approx(-info["task_loss"])


def test_info_reports_flops_used_and_saved(env):
    _, full = play(env, [1] * env.n_blocks)
    _, none = play(env, [0] * env.n_blocks)
    head, stem = env.head_flops, env.stem_flops
    assert full["flops_full"] == stem + env.block_flops.sum() + head
    assert full["flops_used"] == full["flops_full"] + env.n_blocks * head  # one head per observation
    assert none["flops_used"] == stem + head
    assert none["flops_saved"] == pytest.approx(1 - (stem + head) / full["flops_full"])
    assert full["flops_saved"] < 0 < none["flops_saved"]


def test_skipping_keeps_the_prediction_and_observation_summarises_it(env):
    obs, _ = env.reset(seed=0, options={"index": 5})
    idx = env.feature_index
    assert obs[idx["confidence"]] == pytest.approx(obs[: idx["confidence"]].max())
    assert obs[idx["block_index"]] == 0.0 and obs[idx["compute_used"]] == 0.0
    skipped, *_ = env.step(0)
    np.testing.assert_array_equal(skipped[: idx["block_index"]], obs[: idx["block_index"]])
    assert skipped[idx["block_index"]] == pytest.approx(1 / env.n_blocks)
    ran, *_ = env.step(1)
    assert ran[idx["compute_used"]] == pytest.approx(1 / env.n_blocks)
    assert len(FEATURES) == env.observation_space.shape[0]


def test_running_every_block_matches_the_backbone_forward_pass(env):
    import torch

    from envs.meta_utility.data import load_split
    from envs.meta_utility.training import load_backbone

    images, _ = load_split("test")
    with torch.no_grad():
        expected = torch.softmax(load_backbone()(torch.from_numpy(images[:8])), dim=1).numpy()
    np.testing.assert_allclose(env._outcomes.probabilities[:8, -1], expected, atol=1e-5)
    mask = torch.tensor([[1.0, 0, 0, 1, 0, 1]] * 8)
    with torch.no_grad():
        masked = torch.softmax(load_backbone()(torch.from_numpy(images[:8]), mask), dim=1).numpy()
    node = 0
    for run in mask[0].int().tolist():
        node = 2 * node + 1 + run
    np.testing.assert_allclose(env._outcomes.probabilities[:8, node], masked, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eta": -0.1}, "eta"),
        ({"eta": float("nan")}, "eta"),
        ({"split": "train"}, "split.*backbone, policy, test"),
        ({"task_loss": "hinge"}, "task_loss.*cross_entropy, zero_one"),
        ({"render_mode": "ansi"}, "render_mode"),
        ({"eta": "0.1"}, "eta"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*render_mode")
def test_invalid_kwargs_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make("MetaUtility-v0", **kwargs)


@pytest.mark.parametrize("action", [2, -1, 0.5, np.array([1, 0]), None])
def test_invalid_actions_raise(env, action):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_invalid_index_and_step_after_end_raise(env):
    with pytest.raises(ValueError, match="index"):
        env.reset(options={"index": env.n_inputs})
    play(env, [0] * env.n_blocks)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_rgb_array_render_shows_the_digit_and_the_decisions():
    env = gym.make("MetaUtility-v0", render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    env.step(1)
    after = env.render()
    assert before.shape == after.shape == (128, 112, 3) and before.dtype == np.uint8
    assert before[:112].max() > 0  # the digit
    assert not np.array_equal(before[112:], after[112:])  # the first block's cell turned green
