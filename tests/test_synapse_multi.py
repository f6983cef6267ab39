"""Multi-agent synapse plasticity: PettingZoo API and seeding, the SB3 adapter, per-group policies, train/run.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from agents.multiagent.policy import PerGroupSynapsePolicy
from agents.synapse.kernel import probe_rows
from agents.synapse.layout import as_rows, split_rows
from agents.synapse.policy import SynapsePolicy
from envs.synapse.config import tiny_kwargs
from envs.synapse_multi import MULTI_AGENT_ENVS, make_multi_agent_vec_env
from envs.synapse_multi.env import env as aec_env
from envs.synapse_multi.env import parallel_env
from envs.synapse_multi.vec_adapter import ParallelVecEnv, make_parallel_vec_env
from train.environments import check_env_id
from train.run import main

TINY = tiny_kwargs("unsup_single")  # 8×8 digits, 10 E neurons, T = K = 12, capacity 32 per agent
ENV_ID = "SynapseMultiUnsup-v0"
CLI_TINY = ["--env-kwargs", *(f"{k}:{v}" for k, v in TINY.items() if k != "scenario")]
QUIET = ["--verbose", "0", "--no-tensorboard", "--eval-freq", "0", "--final-eval-episodes", "2"]
PPO_TINY = ["-params", "n_steps:24", "batch_size:24", "n_epochs:1"]


def make(**overrides):
    return parallel_env(**{**TINY, **overrides})


def rows_of(env, observation) -> tuple:
    return split_rows(as_rows(observation, env.action_space(env.possible_agents[0]).shape[0]))


@pytest.mark.parametrize("split_by_kind", [False, True])
def test_parallel_api_and_seed_tests_pass(split_by_kind):
    parallel_api_test(make(split_by_kind=split_by_kind), num_cycles=40)
    parallel_seed_test(lambda: make(split_by_kind=split_by_kind), num_cycles=40)


def test_aec_env_passes_the_api_test():
    api_test(aec_env(**TINY), num_cycles=30)


def test_agents_spaces_and_cached_space_methods():
    env = make(split_by_kind=True)
    assert env.possible_agents == ["input_exc_pre", "input_exc_post", "inh_exc_pre", "inh_exc_post"]
    assert make().possible_agents == ["input_exc", "inh_exc"]
    spaces = [env.observation_space(a) for a in env.possible_agents]
    assert all(s == spaces[0] for s in spaces) and spaces[0].shape == (32 * (2 * 12 + 7),)
    assert all(env.action_space(a) == env.action_space("inh_exc_post") for a in env.possible_agents)
    assert env.observation_space("inh_exc_pre") is env.observation_space("inh_exc_pre")
    assert env.action_space("inh_exc_pre") is env.action_space("inh_exc_pre")
    assert env.action_space("inh_exc_pre") is not env.action_space("inh_exc_post")  # separately seeded


def test_each_agent_sees_only_its_group_and_kind_and_the_reward_is_shared():
    env = make(split_by_kind=True, unsup_reward="design")  # a reward at every image's last step
    obs, _ = env.reset(seed=3)
    seen = {a: 0 for a in env.possible_agents}
    while env.agents:
        for agent in env.agents:
            rows = rows_of(env, obs[agent])
            real = rows.scalar("mask") == 1
            seen[agent] += int(real.sum())
            group = 0.0 if agent.startswith("input") else 1.0
            assert np.all(rows.scalar("group")[real] == group)
            assert np.all(rows.scalar("post_event")[real] == float(agent.endswith("post")))
            assert np.all(rows.scalar("pre_event")[real] == 1.0) or agent.endswith("post")
        obs, rewards, _, _, _ = env.step({a: env.action_space(a).sample() for a in env.agents})
        assert len(set(rewards.values())) == 1
    assert seen["input_exc_pre"] > 0 and seen["input_exc_post"] > 0
    assert list(rewards.values())[0] != 0.0  # the episode reward arrives at the last step, for every agent


def test_actions_move_only_their_own_agents_synapses():
    env = make()
    obs, _ = env.reset(seed=0)
    while not (rows_of(env, obs["input_exc"]).scalar("mask") == 1).any():
        obs, *_ = env.step({a: np.zeros(32, np.float32) for a in env.agents})
    before = [g.weight.clone() for g in env.network.groups]
    env.step({"input_exc": np.ones(32, np.float32), "inh_exc": np.zeros(32, np.float32)})
    assert not torch.equal(before[0], env.network.groups[0].weight)
    assert torch.equal(before[1], env.network.groups[1].weight)


def test_invalid_arguments_and_actions_raise_value_error():
    with pytest.raises(ValueError, match="split_by_kind"):
        make(split_by_kind="yes")
    with pytest.raises(ValueError, match="max_cycles"):
        make(max_cycles=0)
    with pytest.raises(ValueError, match="capacity"):
        make(capacity=0)
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing agents"):
        env.step({"input_exc": np.zeros(32, np.float32)})
    with pytest.raises(ValueError, match="shape"):
        env.step({"input_exc": np.zeros(31, np.float32), "inh_exc": np.zeros(32, np.float32)})
    with pytest.raises(ValueError, match="n_envs"):
        make_parallel_vec_env(parallel_env, 0, 0, **TINY)


def rollout(vec_env: ParallelVecEnv, steps: int, seed: int = 7) -> tuple[list, list, list]:
    rng = np.random.default_rng(seed)
    observations, rewards, infos = [vec_env.reset()], [], []
    for _ in range(steps):
        actions = rng.uniform(-1, 1, (vec_env.num_envs, *vec_env.action_space.shape)).astype(np.float32)
        obs, reward, _, info = vec_env.step(actions)
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
    return observations, rewards, infos


def test_adapter_same_seed_same_trajectory_and_copies_seeded_apart():
    first, second = (make_parallel_vec_env(parallel_env, 2, 11, **TINY) for _ in range(2))
    assert first.num_envs == 4 and first.seed(11) == [11, 11, 12, 12]
    a, b = rollout(first, 30), rollout(second, 30)
    for x, y in zip(a[0] + a[1], b[0] + b[1], strict=True):
        np.testing.assert_array_equal(x, y)
    other = rollout(make_parallel_vec_env(parallel_env, 2, 12, **TINY), 30)
    assert not all(np.array_equal(x, y) for x, y in zip(a[0], other[0], strict=True))
    assert not np.array_equal(a[0][0][:2], a[0][0][2:])  # copy 1 is not a replica of copy 0


def test_adapter_auto_reset_ignores_seeds_pending_for_the_next_reset():
    """SB3 calls ``seed()`` again when it loads a model: that must not re-seed (rebuild) a network mid-run."""
    first, second = (make_parallel_vec_env(parallel_env, 1, 5, **TINY) for _ in range(2))
    first.reset()
    second.reset()
    second.seed(99)
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    for _ in range(30):  # crosses two episode ends (auto-resets)
        a, b = first.step(rng_a.uniform(-1, 1, (2, 32))), second.step(rng_b.uniform(-1, 1, (2, 32)))
        np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(second.reset(), first.reset())  # the pending seed 99 applies here


def test_adapter_reports_truncation_with_terminal_observation_and_auto_resets():
    vec_env = make_parallel_vec_env(parallel_env, 1, 0, max_cycles=5, **TINY)
    observations, _, infos = rollout(vec_env, 5)
    assert not any("terminal_observation" in i for step in infos[:4] for i in step)
    last = infos[4]
    assert all(i["TimeLimit.truncated"] for i in last)
    env, rng = make(max_cycles=5), np.random.default_rng(7)  # the same episode, stepped directly
    env.reset(seed=0)
    for _ in range(5):
        actions = rng.uniform(-1, 1, (2, 32)).astype(np.float32)
        obs, _, _, truncated, _ = env.step(dict(zip(env.agents, actions, strict=True)))
    assert all(truncated.values()) and not env.agents
    for agent, info in zip(env.possible_agents, last, strict=True):
        np.testing.assert_array_equal(info["terminal_observation"], obs[agent])  # the real next observation
    assert any(i["terminal_observation"].any() for i in last)  # not a zero placeholder
    copy = vec_env.envs[0]
    assert copy.agents == copy.possible_agents and copy.sim.t == 0  # auto-reset: a new image has begun
    assert not np.array_equal(last[0]["terminal_observation"], observations[5][0])
    terminated = make_parallel_vec_env(parallel_env, 1, 0, **TINY)
    _, _, infos = rollout(terminated, 12)
    assert [i["TimeLimit.truncated"] for i in infos[11]] == [False, False]


def test_episode_statistics_are_reported_once_per_env_episode():
    vec_env = make_parallel_vec_env(parallel_env, 2, 0, **TINY)
    _, rewards, infos = rollout(vec_env, 12)
    episodes = [(slot, i["episode"]) for step in infos for slot, i in enumerate(step) if "episode" in i]
    assert [slot for slot, _ in episodes] == [0, 2]  # one per copy, in the copy's first slot
    team_return = np.sum([r[0] for r in rewards])
    assert episodes[0][1]["r"] == pytest.approx(team_return, abs=1e-5) and episodes[0][1]["l"] == 12
    assert vec_env.env_is_wrapped(object) == [False] * 4


class CheckBootstrap(BaseCallback):
    """At the end of the rollout: SB3 must have added γ·V(terminal observation) to the truncated step's reward."""

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        infos, buffer = self.locals["infos"], self.model.rollout_buffer
        assert all(i["TimeLimit.truncated"] for i in infos)
        with torch.no_grad():
            terminal = torch.as_tensor(np.stack([i["terminal_observation"] for i in infos]))
            values = self.model.policy.predict_values(terminal).numpy().ravel()
        np.testing.assert_allclose(buffer.rewards[-1], self.model.gamma * values, rtol=1e-5, atol=1e-7)
        assert np.any(values != 0)  # a real bootstrap, not 0 + 0
        self.checked = True


def test_truncation_reaches_sb3_as_truncation_and_is_bootstrapped():
    vec_env = make_parallel_vec_env(parallel_env, 1, 0, max_cycles=5, **TINY)
    model = PPO(SynapsePolicy, vec_env, n_steps=5, batch_size=10, n_epochs=1, gamma=0.9, seed=0)
    callback = CheckBootstrap()
    model.learn(10, callback=callback)
    assert callback.checked


def test_per_group_policy_shares_no_parameter_across_groups():
    vec_env = make_parallel_vec_env(parallel_env, 1, 0, **TINY)
    policy = PerGroupSynapsePolicy(vec_env.observation_space, vec_env.action_space, lambda _: 1e-3)
    assert policy.log_std.shape == (2,)
    obs = torch.as_tensor(np.stack([probe_rows(12, 32, np.arange(-5, 6), group=g) for g in (0.0, 1.0)]))
    before = policy.get_distribution(obs).distribution.mean.detach().clone()
    with torch.no_grad():
        for p in policy.actor.nets[1].parameters():
            p.add_(0.5)
        policy.log_std[1] = 0.3
    after = policy.get_distribution(obs)
    assert torch.equal(after.distribution.mean[0], before[0]) and not torch.equal(after.distribution.mean[1], before[1])
    assert torch.allclose(after.distribution.stddev[1, :11], torch.tensor(np.exp(0.3), dtype=torch.float32))
    assert torch.allclose(after.distribution.stddev[0, :11], torch.tensor(np.exp(-1.0), dtype=torch.float32))
    with pytest.raises(ValueError, match="n_group_nets"):
        PerGroupSynapsePolicy(vec_env.observation_space, vec_env.action_space, lambda _: 1e-3, n_group_nets=1)


@pytest.mark.parametrize("mode", ["shared", "per_group"])
def test_both_training_modes_run_through_train_run(mode, log_folder):
    extra = ["policy:agents.multiagent.policy.PerGroupSynapsePolicy"] if mode == "per_group" else []
    summary = main(
        [
            "--env",
            ENV_ID,
            "--agent",
            "ppo",
            "-n",
            "96",
            "--seed",
            "2",
            "-f",
            log_folder,
            *QUIET,
            *CLI_TINY,
            *PPO_TINY,
            *extra,
        ]
    )
    assert summary["timesteps"] == 96 and np.isfinite(summary["eval_mean"])
    assert summary["episodes"] == 96 // 2 // 12  # env episodes, not agent-episodes
    policy = PPO.load(Path(summary["run_dir"]) / "model.zip").policy
    assert type(policy) is (PerGroupSynapsePolicy if mode == "per_group" else SynapsePolicy)
    assert policy.log_std.shape == ((2,) if mode == "per_group" else (1,))


def test_reference_rules_run_through_train_run(log_folder):
    summary = main(["--env", ENV_ID, "--agent", "stdp", "-f", log_folder, *QUIET, *CLI_TINY])
    assert summary["eval_episodes"] == 2 and np.isfinite(summary["eval_mean"])


def test_resume_continues_exactly(tmp_path):
    common = ["--env", ENV_ID, "--agent", "ppo", "--seed", "4", "-n", "96", *QUIET, *CLI_TINY, *PPO_TINY]
    straight = main([*common, "-f", str(tmp_path / "straight")])
    first_half = main([*common, "-f", str(tmp_path / "stopped"), "--steps", "48"])
    assert first_half["stop_reason"] == "steps"
    resumed = main(["--resume", first_half["checkpoint"], "--verbose", "0"])
    assert resumed["timesteps"] == straight["timesteps"] == 96
    expected = PPO.load(Path(straight["run_dir"]) / "model.zip").policy.state_dict()
    actual = PPO.load(Path(resumed["run_dir"]) / "model.zip").policy.state_dict()
    assert all(torch.equal(expected[key], actual[key]) for key in expected)
    assert resumed["eval_returns"] == straight["eval_returns"]


def test_multi_agent_ids_are_known_to_the_cli():
    check_env_id(ENV_ID)
    with pytest.raises(ValueError, match=ENV_ID):
        check_env_id("NoSuchEnv-v0")
    with pytest.raises(ValueError, match="multi-agent"):
        make_multi_agent_vec_env("NoisyCartPole-v0", 1, 0)
    assert {ENV_ID, "SynapseGradMimicryPerEvent-v0"} <= set(MULTI_AGENT_ENVS)
