"""NoisyPong-v0: spaces, checkers, seeding, noise and delay statistics, raw score, agents end to end."""

from __future__ import annotations

import math
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.monitor import Monitor

import envs  # noqa: F401  (registers the ids)
from agents.registry import load_agent
from agents.scal.image_perception import SCALImagePerception
from envs.noisy_pong import NoisyPongEnv
from train.config import RunConfig
from train.environments import make_env
from train.run import main

CLEAN = {"flip_prob": 0.0, "obs_delay": None}
SHORT = ["--env-kwargs", "max_num_frames_per_episode:2000"]  # 500-step episodes: quick evaluations


def rollout(env: gym.Env, seed: int, steps: int, policy=lambda t: t % 6) -> tuple[list, list, list]:
    """Observations, rewards and delays of a rollout with fixed actions (one episode, no reset)."""
    obs, info = env.reset(seed=seed)
    observations, rewards, delays = [obs], [], [info["delay"]]
    for t in range(steps):
        obs, reward, terminated, truncated, info = env.step(policy(t))
        observations.append(obs)
        rewards.append(reward)
        delays.append(info["delay"])
        assert not (terminated or truncated)
    return observations, rewards, delays


def test_spaces_and_binary_frames():
    env = gym.make("NoisyPong-v0")
    assert env.observation_space == gym.spaces.Box(0, 255, (84, 84, 1), np.uint8)
    assert env.action_space == gym.spaces.Discrete(6)
    observations, _, _ = rollout(env, seed=0, steps=20)
    for obs in observations:
        assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8
        assert set(np.unique(obs)) <= {0, 255}


@pytest.mark.parametrize("kwargs", [CLEAN, {"flip_prob": 0.1, "obs_delay": (0, 2), "threshold": 120}])
def test_both_checkers_pass_without_warnings(kwargs):
    env = gym.make("NoisyPong-v0", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env, warn=True)


def test_same_seed_same_trajectory_and_seeds_differ():
    first, second, other = (rollout(gym.make("NoisyPong-v0"), seed, 150) for seed in (7, 7, 8))
    for a, b in zip(first[0], second[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert first[1:] == second[1:]
    assert any(not np.array_equal(a, b) for a, b in zip(first[0], other[0], strict=True))


def test_unseeded_resets_continue_deterministically():
    def episodes(seed: int) -> list[np.ndarray]:
        env = gym.make("NoisyPong-v0", max_num_frames_per_episode=200)  # 50-step episodes
        frames = [env.reset(seed=seed)[0]]
        for t in range(120):  # crosses two truncations: reset() without a seed continues the generator
            obs, _, terminated, truncated, _ = env.step(t % 6)
            frames.append(env.reset()[0] if terminated or truncated else obs)
        return frames

    for a, b in zip(episodes(3), episodes(3), strict=True):
        np.testing.assert_array_equal(a, b)


def test_pickled_env_continues_the_same_trajectory():
    """Run checkpoints pickle the envs: the emulator state and the generator must travel."""
    env = NoisyPongEnv()
    env.reset(seed=5)
    for t in range(40):
        env.step(t % 6)
    copy = pickle.loads(pickle.dumps(env))
    for t in range(60):
        a, b = env.step(t % 6), copy.step(t % 6)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4]


def test_flip_rate_matches_flip_prob():
    """Same seed and actions with and without flips: the game (ALE's own RNG) is the same, the frames differ
    only by the flips, at the rate asked for."""
    noisy, _, _ = rollout(gym.make("NoisyPong-v0", flip_prob=0.3, obs_delay=None), seed=1, steps=100)
    clean, _, _ = rollout(gym.make("NoisyPong-v0", **CLEAN), seed=1, steps=100)
    flipped = sum(int((a != b).sum()) for a, b in zip(noisy, clean, strict=True))
    total = sum(a.size for a in clean)
    assert abs(flipped / total - 0.3) < 5 * math.sqrt(0.3 * 0.7 / total)
    assert any(b.any() for b in clean)  # the clean frames show the game (walls, paddles, score)


def test_delay_distribution_and_delayed_frames():
    """Each delay in obs_delay is equally likely, and the frame shown is the clean frame of `delay` steps ago."""
    delayed, _, delays = rollout(gym.make("NoisyPong-v0", flip_prob=0.0, obs_delay=(1, 3)), seed=2, steps=450)
    clean, _, _ = rollout(gym.make("NoisyPong-v0", **CLEAN), seed=2, steps=450)
    counts = np.bincount(delays, minlength=4)[1:] / len(delays)
    np.testing.assert_allclose(counts, [1 / 3] * 3, atol=0.06)
    assert min(delays) >= 1 and max(delays) <= 3
    for t, (obs, delay) in enumerate(zip(delayed, delays, strict=True)):
        np.testing.assert_array_equal(obs, clean[max(t - delay, 0)])
    assert len({frame.tobytes() for frame in clean}) > 100  # the game moves: the check above has teeth


def test_no_delay_shows_the_current_frame():
    _, _, delays = rollout(gym.make("NoisyPong-v0", **CLEAN), seed=0, steps=10)
    assert delays == [0] * 11


def test_episode_raw_score_is_the_unclipped_game_score():
    env = gym.make("NoisyPong-v0")
    env.reset(seed=0)
    total, terminated, truncated, steps = 0.0, False, False, 0
    while not (terminated or truncated):
        _, reward, terminated, truncated, info = env.step(0)  # NOOP: the opponent wins 21-0
        total, steps = total + reward, steps + 1
    assert terminated and info["raw_score"] == total == -21.0
    assert steps > 500


def pong_config(**fields) -> RunConfig:
    """A NoisyPong-v0 run configuration (seed 0, no training) with ``fields`` set."""
    return RunConfig(env_id="NoisyPong-v0", seed=0, n_timesteps=0, **fields)


class ScaleReward(gym.RewardWrapper):
    """A reward transform applied by the agent (like reward clipping): it must not reach the Monitor."""

    def reward(self, reward: float) -> float:
        return 0.01 * reward


def test_agent_side_reward_transforms_never_reach_the_monitor():
    config = pong_config(
        agent="dqn",
        n_envs=1,
        env_wrapper=["stable_baselines3.common.atari_wrappers.ClipRewardEnv", "tests.test_noisy_pong.ScaleReward"],
    )
    venv = make_env(config, evaluation=True)
    assert isinstance(venv.envs[0].env.env, Monitor)  # Monitor first, the agent's wrappers outside it
    venv.reset()
    seen = 0.0
    while True:
        _, rewards, dones, infos = venv.step(np.array([0]))
        seen += float(rewards[0])
        if dones[0]:
            break
    assert infos[0]["episode"]["r"] == infos[0]["raw_score"] == -21.0
    assert seen == pytest.approx(-0.21)


def test_training_and_evaluation_envs_see_the_same_channel_first_frames():
    config = pong_config(agent="ppo", n_envs=2, env_wrapper=[{"wrappers.frames.ChannelFrameStack": {"n_frames": 4}}])
    train_env, eval_env = make_env(config, evaluation=False), make_env(config, evaluation=True)
    assert train_env.observation_space == eval_env.observation_space
    assert eval_env.observation_space.shape == (4, 84, 84)
    assert eval_env.reset().shape == (1, 4, 84, 84)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"flip_prob": 1.5}, "flip_prob"),
        ({"flip_prob": float("nan")}, "flip_prob"),
        ({"obs_delay": (3, 1)}, "obs_delay"),
        ({"obs_delay": (-1, 2)}, "obs_delay"),
        ({"obs_delay": 2}, "obs_delay"),
        ({"threshold": 255}, "threshold"),
        ({"threshold": 2.5}, "threshold"),
        ({"repeat_action_probability": -0.1}, "repeat_action_probability"),
        ({"noop_max": -1}, "noop_max"),
        ({"frame_skip": 0}, "frame_skip"),
        ({"screen_size": 4}, "screen_size"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name) as error:
        NoisyPongEnv(**kwargs)
    assert any(word in str(error.value) for word in ("must", "allowed"))


@pytest.mark.parametrize("action", [6, -1, 1.5, None, np.array([1, 2])])
def test_invalid_actions_raise(action):
    env = NoisyPongEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def train(agent: str, folder: str, *params: str) -> dict:
    argv = f"--env NoisyPong-v0 --agent {agent} -n 256 --eval-freq 0 --save-freq 0 --checkpoint-minutes 0"
    argv += " --final-eval-episodes 1 --no-tensorboard --verbose 0"
    return main([*argv.split(), "-f", folder, *SHORT, *(["-params", *params] if params else [])])


@pytest.mark.parametrize(
    "agent, params",
    [
        ("dqn", ["learning_starts:64", "buffer_size:1000"]),
        ("ppo", ["n_envs:2", "n_steps:64", "batch_size:64"]),
        ("scal_rl", ["n_envs:2", "n_steps:64", "batch_size:64"]),
        ("scal_dqn", ["learning_starts:64", "buffer_size:1000"]),
    ],
)
def test_agents_smoke_train_through_train_run(agent, params, log_folder):
    summary = train(agent, log_folder, *params)
    assert summary["timesteps"] >= 256
    assert summary["eval_episodes"] == 1 and -21 <= summary["eval_mean"] <= 21
    assert float(summary["eval_mean"]).is_integer()  # a raw Pong score, not a scaled or clipped one


def test_oracle_plays_through_train_run_on_channel_first_frames(log_folder):
    summary = train("oracle", log_folder)  # the evaluation env hands it (1, 84, 84) frames (VecTransposeImage)
    assert summary["eval_episodes"] == 1 and float(summary["eval_mean"]).is_integer()
    assert -21 <= summary["eval_mean"] <= 21


def test_scal_rl_save_load_keeps_prototypes(log_folder):
    summary = train("scal_rl", log_folder, "n_envs:2", "n_steps:64", "batch_size:64")
    loaded = load_agent("scal_rl", f"{summary['run_dir']}/model.zip")
    perception = loaded.policy.scal_perception
    assert isinstance(perception, SCALImagePerception) and perception.grid == (21, 21)
    # the adapted SCAL state was saved, not the initial one (drift 0, thresholds 1, usage 0, memory empty)
    assert float(perception.running_drift) > 0 and float(perception.running_usage.sum()) > 0
    assert not torch.equal(perception.running_thresholds, torch.ones_like(perception.running_thresholds))
    assert len(loaded.policy.scal_memory) == 256
    initial = SCALImagePerception(perception._observation_space, patch_size=4, n_prototypes=64, projection_dim=64)
    assert not torch.allclose(perception.running_prototypes, initial.running_prototypes)
    frames = np.random.default_rng(0).integers(0, 2, (16, 84, 84, 4), dtype=np.uint8) * 255
    assert loaded.predict(frames, deterministic=True)[0].shape == (16,)


def test_scal_dqn_saves_its_background_estimate(log_folder):
    """The NoisyPong scal_dqn entry centres its inputs; the learned background travels with the model."""
    summary = train("scal_dqn", log_folder, "learning_starts:64", "buffer_size:1000")
    perception = load_agent("scal_dqn", f"{summary['run_dir']}/model.zip").policy.scal_perception
    assert isinstance(perception, SCALImagePerception) and perception.center_inputs
    background = perception.running_input_mean.reshape(perception.grid)
    assert background.abs().sum() > 0  # adapted from the frames, not the initial zeros
    assert background.std() > 0  # walls and score differ from the empty field


def test_rgb_array_render_shows_the_emulator_screen():
    env = NoisyPongEnv(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (210, 160, 3) and frame.dtype == np.uint8 and frame.std() > 0


def test_rl_zoo_does_not_take_it_for_a_raw_atari_env():
    """RL Zoo applies its AtariWrapper when "AtariEnv" is in the entry point; NoisyPong preprocesses itself."""
    entry_point = gym.spec("NoisyPong-v0").entry_point
    assert entry_point == "envs.noisy_pong:NoisyPongEnv" and "AtariEnv" not in entry_point
