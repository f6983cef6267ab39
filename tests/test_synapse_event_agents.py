"""Per-event credit: every event slot of a step as a PettingZoo agent with its own share of the reward."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from stable_baselines3 import PPO

import envs  # noqa: F401
from agents.registry import load_agent
from agents.synapse.policy import SynapsePolicy
from envs.synapse.config import tiny_kwargs
from envs.synapse.rewards import grad_mimicry_rewards
from envs.synapse_multi import make_multi_agent_env, make_multi_agent_vec_env
from envs.synapse_multi.event_agents import env as aec_env
from envs.synapse_multi.event_agents import parallel_env
from eval.experiments.synapse_learning import build_rule, transfer
from train.run import main

ENV_ID = "SynapseGradMimicryPerEvent-v0"
SEMI_ID = "SynapseSemiPerEvent-v0"
TINY = {**tiny_kwargs("grad_mimicry"), "third_factor": "teacher"}  # capacity 32, T = K = 8
CLI_TINY = ["--env-kwargs", *(f"{k}:{list(v) if isinstance(v, tuple) else v}" for k, v in TINY.items())]


def joint(env, observations: dict) -> np.ndarray:
    return np.concatenate([observations[a] for a in env.possible_agents])


def per_agent(env, values: np.ndarray) -> dict:
    return {a: values[i : i + 1] for i, a in enumerate(env.possible_agents)}


def test_parallel_aec_and_seed_api_tests_pass():
    parallel_api_test(parallel_env(**TINY), num_cycles=20)
    parallel_seed_test(lambda: parallel_env(**TINY), num_cycles=20)
    api_test(aec_env(**TINY), num_cycles=10)


def test_agents_are_event_slots_with_one_row_and_one_delta_d():
    env = make_multi_agent_env(ENV_ID, TINY)
    assert env.possible_agents[0] == "event_00" and len(env.possible_agents) == 32
    single = gym.make("SynapseGradMimicry-v0", **TINY)
    assert env.observation_space("event_05").shape == (single.observation_space.shape[0] // 32,)
    assert env.action_space("event_05").shape == (1,)


def test_same_trajectory_as_the_single_agent_env_and_rewards_are_the_events_own_terms():
    env, single = parallel_env(**TINY), gym.make("SynapseGradMimicry-v0", **TINY)
    observations, _ = env.reset(seed=7)
    obs, _ = single.reset(seed=7)
    assert np.array_equal(joint(env, observations), obs)
    rng = np.random.default_rng(0)
    for _ in range(TINY["n_steps"]):
        action = rng.uniform(-1, 1, 32).astype(np.float32)
        scenario = single.unwrapped.scenario
        n_events = len(single.unwrapped.batch)
        observations, rewards, terminated, _, _ = env.step(per_agent(env, action))
        obs, reward, done, _, info = single.step(action)
        expected = grad_mimicry_rewards(scenario.last_g, torch.from_numpy(action[:n_events]), 0.5).numpy()
        got = np.array([rewards[a] for a in env.possible_agents])
        assert scenario.config.lambda_reg == 0.5
        np.testing.assert_allclose(got[:n_events], expected, rtol=1e-5, atol=1e-6)
        assert np.all(got[n_events:] == 0.0)  # padding earns nothing
        np.testing.assert_allclose(info["event_rewards"], got, rtol=1e-5, atol=1e-6)
        assert got.sum() == pytest.approx(reward, abs=1e-4)
        assert np.array_equal(joint(env, observations), obs)
        assert all(terminated.values()) == done
    assert not env.agents


def test_semi_per_event_gives_every_event_the_paired_image_reward():
    kwargs = {**tiny_kwargs("semi"), "third_factor": "teacher", "paired_baseline": True}
    env, single = make_multi_agent_env(SEMI_ID, kwargs), gym.make("SynapseSemi-v0", **kwargs)
    assert env.sim.config.scenario == "semi"
    observations, _ = env.reset(seed=1)
    obs, _ = single.reset(seed=1)
    rng = np.random.default_rng(2)
    for _ in range(kwargs["n_steps"]):
        action = rng.uniform(-1, 1, 32).astype(np.float32)
        observations, rewards, _, _, infos = env.step(per_agent(env, action))
        obs, reward, _, _, info = single.step(action)
        assert "event_rewards" not in info
        assert list(rewards.values()) == pytest.approx([reward] * 32)
        assert np.array_equal(joint(env, observations), obs)
    assert reward != 0.0  # the end-of-image reward reached every agent
    assert all(i["zero_plasticity_reward"] == info["zero_plasticity_reward"] for i in infos.values())


def test_semi_per_event_hyperparameters_give_every_event_its_image_reward_as_return():
    """PPO's values for ``SynapseSemiPerEvent-v0`` (gamma = gae_lambda = 1, whole images per rollout): the return
    of every event slot at every step of an image is that image's reward (``G_e = R``)."""
    kwargs = {**tiny_kwargs("semi"), "third_factor": "teacher"}
    vec = make_multi_agent_vec_env(SEMI_ID, 1, 0, kwargs)
    model = build_rule("ppo", vec, seed=0, train_steps=1, env_id=SEMI_ID)
    buffer, n_steps = model.rollout_buffer, kwargs["n_steps"]
    returns = buffer.returns.reshape(32, buffer.buffer_size).T  # training flattened it slot by slot
    assert buffer.buffer_size % n_steps == 0
    for start in range(0, buffer.buffer_size, n_steps):
        image = slice(start, start + n_steps)
        assert np.all(buffer.rewards[image][:-1] == 0.0)  # paid once, at the image's last step
        image_reward = buffer.rewards[start + n_steps - 1]
        assert np.all(image_reward == image_reward[0])  # shared by every slot
        np.testing.assert_allclose(returns[image], np.broadcast_to(image_reward, (n_steps, 32)), atol=1e-5)


def test_bad_actions_raise_value_error_naming_the_agent_and_leave_weights_unchanged():
    env = parallel_env(**TINY)
    env.reset(seed=0)
    before = [g.weight.clone() for g in env.network.groups]
    actions = per_agent(env, np.zeros(32, np.float32))
    with pytest.raises(ValueError, match="event_03"):
        env.step({**actions, "event_03": np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match="missing agents"):
        env.step({a: v for a, v in actions.items() if a != "event_00"})
    with pytest.raises(ValueError, match="NaN"):
        env.step({**actions, "event_00": np.array([np.nan], np.float32)})
    assert all(torch.equal(b, g.weight) for b, g in zip(before, env.network.groups, strict=True))


def test_trains_through_train_run_and_transfers_to_the_single_agent_env(log_folder):
    summary = main(
        ["--env", ENV_ID, "--agent", "ppo", "-n", "2048", "-f", log_folder, "--verbose", "0", "--no-tensorboard",
         "--eval-freq", "0", "--final-eval-episodes", "1", *CLI_TINY]
    )  # fmt: skip
    assert summary["timesteps"] == 2048  # one VecEnv slot per event slot: 64 env steps × 32 slots
    model = PPO.load(Path(summary["run_dir"]) / "model.zip", device="cpu")
    single = gym.make("SynapseGradMimicry-v0", **TINY)
    clone = transfer(model, single)
    obs, _ = single.reset(seed=3)
    action, _ = clone.predict(obs, deterministic=True)
    rows = obs.reshape(32, -1)
    one_by_one, _ = model.predict(rows, deterministic=True)
    n_events = len(single.unwrapped.batch)
    np.testing.assert_allclose(action[:n_events], one_by_one[:n_events, 0], atol=1e-6)


@pytest.mark.parametrize(
    "env_id, agent, gamma",
    [(SEMI_ID, "ppo", 1.0), (SEMI_ID, "a2c", 1.0), (SEMI_ID, "scal_rl", 1.0), (ENV_ID, "a2c", 0.0)],
)
def test_per_event_envs_train_every_agent_with_the_synapse_policy_and_their_gamma(env_id, agent, gamma, log_folder):
    """The per-event ids have their own hyperparameters for each agent (gamma 1: the image's reward is every
    event's return; gamma 0: an event's own term), never a generic default such as ``MlpPolicy``."""
    kwargs = {**tiny_kwargs("semi" if env_id == SEMI_ID else "grad_mimicry"), "third_factor": "teacher"}
    summary = main(
        ["--env", env_id, "--agent", agent, "-n", "512", "-f", log_folder, "--verbose", "0", "--no-tensorboard",
         "--eval-freq", "0", "--final-eval-episodes", "1",
         "--env-kwargs", *(f"{k}:{list(v) if isinstance(v, tuple) else v}" for k, v in kwargs.items())]
    )  # fmt: skip
    assert summary["timesteps"] >= 512 and np.isfinite(summary["eval_mean"])
    model = load_agent(agent, str(Path(summary["run_dir"]) / "model.zip"), device="cpu")
    assert "Synapse" in type(model.policy).__name__ and model.gamma == gamma == model.gae_lambda


def test_per_event_credit_learns_to_follow_the_gradient():
    """A short per-event PPO run mimics −ĝ on a fresh network (cosine 0.89 here; the untrained rule −0.43)."""
    vec = make_multi_agent_vec_env(ENV_ID, 1, 0, TINY)
    model = PPO(SynapsePolicy, vec, n_steps=32, batch_size=256, n_epochs=4, gamma=0.0, gae_lambda=0.0, seed=0)
    fresh = gym.make("SynapseGradMimicry-v0", **TINY)

    def mean_cosine(rule) -> float:
        obs, _ = fresh.reset(seed=1_000_000)
        cosines = []
        for _ in range(20):
            done = False
            while not done:
                action, _ = rule.predict(obs, deterministic=True)
                obs, _, done, _, info = fresh.step(action)
            cosines.append(info["cosine"])
            obs, _ = fresh.reset()
        return float(np.mean(cosines))

    before = mean_cosine(transfer(model, fresh))
    model.learn(40_000)
    after = mean_cosine(transfer(model, fresh))
    assert before < 0.3 and after > 0.7, (before, after)
