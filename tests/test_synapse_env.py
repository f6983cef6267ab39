"""The synapse-plasticity envs at test size: checkers, determinism, invalid arguments and actions."""

from __future__ import annotations

import warnings
from dataclasses import fields

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401
from envs.synapse import SCENARIO_IDS
from envs.synapse.config import SynapseEnvConfig, tiny_kwargs
from envs.synapse.events import column
from envs.synapse_multi import MULTI_AGENT_ENVS, make_multi_agent_env

SCENARIOS = sorted(SCENARIO_IDS)


def make(name: str, **overrides) -> gym.Env:
    return gym.make(SCENARIO_IDS[name], **{**tiny_kwargs(name), **overrides})


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_checkers_pass_without_warnings(scenario):
    env = make(scenario, third_factor="reward")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env, warn=True)


def rollout(scenario: str, seed: int, episodes: int = 3, **overrides) -> tuple[list, list]:
    env = make(scenario, **overrides)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for _ in range(episodes):
        done = False
        while not done:
            obs, reward, done, _, _ = env.step(env.action_space.sample())
            observations.append(obs)
            rewards.append(reward)
        obs, _ = env.reset()
        observations.append(obs)
    return observations, rewards + [w.sum().item() for w in (g.weight for g in env.unwrapped.network.groups)]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_seed_same_trajectory_and_weights(scenario):
    first, second = rollout(scenario, 3), rollout(scenario, 3)
    for a, b in zip(first[0], second[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert first[1] == second[1]
    assert rollout(scenario, 4)[1] != first[1]


def test_events_are_real_and_third_factor_is_exposed():
    env = make("grad_mimicry", third_factor="teacher")
    obs, _ = env.reset(seed=0)
    k = env.unwrapped.config.history
    obs = obs.reshape(32, -1)
    mask = obs[:, column(k, "mask")]
    assert mask.sum() > 0 and np.all(obs[mask == 0] == 0)
    real = obs[mask == 1]
    # an event's pre or post neuron spiked at this step
    assert np.all((real[:, k - 1] == 1) | (real[:, 2 * k - 1] == 1))
    assert np.abs(real[:, column(k, "third_factor")]).max() > 0
    assert np.all(make("grad_mimicry").reset(seed=0)[0].reshape(32, -1)[:, column(k, "third_factor")] == 0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"scenario": "nope"}, "scenario"),
        ({"n_steps": 0}, "n_steps"),
        ({"history": 50}, "history"),
        ({"capacity": 0}, "capacity"),
        ({"tau_m": -1.0}, "tau_m"),
        ({"v_th": -80.0}, "v_th"),
        ({"data_source": "cifar"}, "data_source"),
        ({"third_factor": "oracle"}, "third_factor"),
        ({"not_an_argument": 1}, "kwargs"),
        ({"n_train": 10**6}, "n_train"),
        ({"weight_normalization": "divisive"}, "weight_normalization"),
        ({"weight_normalization": "event"}, "weight_normalization"),
        ({"step_centring": "yes"}, "step_centring"),
        ({"homeostasis": -0.5}, "homeostasis"),
        ({"target_rate": 0.0}, "target_rate"),
        ({"target_rate": 1.5}, "target_rate"),
        ({"homeostasis": "strong"}, "homeostasis"),
        ({"n_steps": "8"}, "n_steps"),
    ],
)
def test_invalid_kwargs_raise_value_error_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make("semi", **kwargs)


FLOAT_ARGUMENTS = [f.name for f in fields(SynapseEnvConfig) if f.type in ("float", "float | None")]


def build(env_id: str, **overrides):
    """A synapse id at test size: a Gymnasium id, or a multi-agent id's ``ParallelEnv``."""
    if env_id in MULTI_AGENT_ENVS:
        scenario = MULTI_AGENT_ENVS[env_id][1]["scenario"]
        return make_multi_agent_env(env_id, {**tiny_kwargs(scenario), **overrides})
    return gym.make(env_id, **{**tiny_kwargs(next(k for k, v in SCENARIO_IDS.items() if v == env_id)), **overrides})


@pytest.mark.parametrize("env_id", [*SCENARIO_IDS.values(), *MULTI_AGENT_ENVS])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_every_float_argument_rejects_nan_and_inf_naming_it(env_id, bad):
    names = FLOAT_ARGUMENTS + ([] if env_id == "SynapseMultiUnsup-v0" else ["margin_shaping"])  # a reward variant
    assert {"eta", "tau_m", "v_th", "alpha", "homeostasis", "prune_fraction", "input_norm"} <= set(names)
    for name in names:
        with pytest.raises(ValueError, match=rf"^{name}={bad!r} is invalid; allowed: a finite number"):
            build(env_id, **{name: bad})
    with pytest.raises(ValueError, match=rf"^reward_weights={bad!r} is invalid"):
        build(env_id, reward_weights=[1.0, bad, 1.0])


def test_step_centring_ignores_a_constant_rule_and_keeps_differences_between_neurons():
    env = make("semi", step_centring=True, third_factor="teacher", eta=0.5)
    obs, _ = env.reset(seed=0)
    groups = env.unwrapped.network.groups
    before = [g.weight.clone() for g in groups]
    for _ in range(3):  # a common depression of every event (what silences a network) changes nothing
        obs, *_ = env.step(-0.3 * np.ones(env.action_space.shape, np.float32))
    assert all(torch.allclose(b, g.weight, atol=1e-6) for b, g in zip(before, groups, strict=True))
    before = [g.weight.clone() for g in groups]
    batch = env.unwrapped.batch
    action = np.zeros(env.action_space.shape, np.float32)
    action[: len(batch)] = np.where(batch.group.numpy() == 0, 0.8, -0.2)  # two groups: each one's mean is removed
    action[: len(batch)] += np.random.default_rng(0).uniform(-0.1, 0.1, len(batch))
    env.step(action)
    changed = [not torch.equal(b, g.weight) for b, g in zip(before, groups, strict=True)]
    assert all(changed[g] == bool((batch.group == g).sum() > 1) for g in range(len(groups)))
    for g, b in zip(groups, before, strict=True):  # away from the bounds each group's summed change is 0
        assert float((g.weight - b).sum()) == pytest.approx(0.0, abs=1e-4)


def test_event_normalisation_ignores_a_constant_rule_and_passes_differences():
    env = make("semi", weight_normalization="events", third_factor="teacher", eta=0.5)
    obs, _ = env.reset(seed=0)
    before = [g.weight.clone() for g in env.unwrapped.network.groups]
    for _ in range(3):  # depressing every event (a silencing rule without normalisation) changes nothing
        obs, *_ = env.step(-np.ones(env.action_space.shape, np.float32))
    assert all(torch.equal(b, g.weight) for b, g in zip(before, env.unwrapped.network.groups, strict=True))
    env.step(np.random.default_rng(0).uniform(-1, 1, env.action_space.shape).astype(np.float32))
    after = [g.weight for g in env.unwrapped.network.groups]
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))


def test_homeostasis_is_for_the_lif_mlps_only():
    with pytest.raises(ValueError, match="homeostasis"):
        make("unsup_single", homeostasis=1.0)


def test_homeostasis_brings_a_silenced_hidden_layer_back_and_frozen_tests_leave_it_alone():
    """Zero plasticity on a net whose hidden layer cannot reach threshold: with homeostasis the hidden θ falls
    image by image until the neurons fire again; without it they stay silent. Frozen presentations (the held-out
    test) neither adapt θ nor keep what they change."""
    from envs.synapse.evaluation import frozen_accuracy, present

    def hidden_spikes_per_image(homeostasis: float) -> tuple[list[float], torch.Tensor]:
        env = make("semi", homeostasis=homeostasis, target_rate=0.1)
        env.reset(seed=0)
        network = env.unwrapped.network
        network.groups[0].weight.mul_(0.1)  # a tenth of the drive: the hidden layer falls silent
        spikes = []
        for _ in range(25):
            done = False
            while not done:
                _, _, done, _, _ = env.step(np.zeros(env.action_space.shape, np.float32))
            spikes.append(float(network.history.counts["h1"].sum()))
            env.reset()
        return spikes, network.threshold_offsets()[0].clone()  # the hidden layer's θ

    silent, theta_off = hidden_spikes_per_image(0.0)
    recovered, theta_on = hidden_spikes_per_image(1.0)
    assert silent[0] == 0 and max(silent) == 0 and torch.all(theta_off == 0)
    assert recovered[0] == 0 and recovered[-1] > 0 and theta_on.max() < 0
    env = make("semi", homeostasis=1.0)
    env.reset(seed=0)
    network, inner = env.unwrapped.network, env.unwrapped
    network.theta.fill_(-0.3)
    present(network, inner.data.test_x[0], inner.config, np.random.default_rng(0))
    frozen_accuracy(inner.scenario, inner.data, inner.config, 5, 0, seed=0)
    assert torch.all(network.theta == -0.3)


def test_unsupervised_scenarios_offer_no_teacher():
    with pytest.raises(ValueError, match="third_factor"):
        make("unsup_single", third_factor="teacher")


@pytest.mark.parametrize("bad", [np.full(32, np.nan), np.zeros(31), np.zeros((32, 1)), np.full(32, 2.0)])
def test_invalid_actions_raise_and_leave_the_network_unchanged(bad):
    env = make("semi")
    env.reset(seed=0)
    before = [g.weight.clone() for g in env.unwrapped.network.groups]
    v_before = [s.v.clone() for s in env.unwrapped.network.states]
    t = env.unwrapped.t
    with pytest.raises(ValueError, match="action"):
        env.unwrapped.step(bad)
    assert env.unwrapped.t == t
    assert all(torch.equal(a, g.weight) for a, g in zip(before, env.unwrapped.network.groups, strict=True))
    assert all(torch.equal(a, s.v) for a, s in zip(v_before, env.unwrapped.network.states, strict=True))


def test_actions_change_only_event_synapses_by_eta_times_delta_d():
    env = make("semi", eta=0.01)
    obs, _ = env.reset(seed=1)
    base = env.unwrapped
    batch = base.batch
    before = [g.weight.clone() for g in base.network.groups]
    env.step(np.full(32, 0.5, dtype=np.float32))
    changed = 0
    for g, w in zip(base.network.groups, before, strict=True):
        diff = g.weight - w
        sel = batch.group == g.index
        expected = torch.zeros_like(w)
        expected[batch.pre[sel], batch.post[sel]] = (w[batch.pre[sel], batch.post[sel]] + 0.005).clamp(-1, 1) - w[
            batch.pre[sel], batch.post[sel]
        ]
        torch.testing.assert_close(diff, expected)
        changed += int((diff != 0).sum())
    assert changed == len(batch)


def test_subtractive_normalisation_keeps_every_neurons_summed_input_weight():
    changes = {}
    for normalization in ("none", "subtractive"):
        env = make("semi", weight_normalization=normalization, eta=0.05, init_gain=1.0)  # weights far from ±1
        env.reset(seed=3)
        groups = env.unwrapped.network.groups
        before = [g.weight.sum(0).clone() for g in groups]
        rng = np.random.default_rng(0)
        for _ in range(5):
            env.step(rng.uniform(0, 1, 32).astype(np.float32))
        changes[normalization] = max(
            float((g.weight.sum(0) - b).abs().max()) for g, b in zip(groups, before, strict=True)
        )
    assert changes["subtractive"] < 1e-5 < 0.01 < changes["none"]


def test_weights_persist_across_episodes_and_reset_with_seed():
    env = make("semi")
    env.reset(seed=0)
    initial = env.unwrapped.network.groups[0].weight.clone()
    done = False
    while not done:
        _, _, done, _, _ = env.step(np.ones(32, dtype=np.float32))
    env.reset()
    assert not torch.equal(initial, env.unwrapped.network.groups[0].weight)
    env.reset(seed=0)
    assert torch.equal(initial, env.unwrapped.network.groups[0].weight)


def test_evaluate_uses_held_out_images_and_restores_weights():
    env = make("unsup_single")
    env.reset(seed=0)
    weights = [g.weight.clone() for g in env.unwrapped.network.groups]
    accuracy = env.unwrapped.evaluate(n_images=30, n_assign=60)
    assert 0.0 <= accuracy <= 1.0
    assert all(torch.equal(a, g.weight) for a, g in zip(weights, env.unwrapped.network.groups, strict=True))
    assert env.unwrapped.evaluate(n_images=30, n_assign=60) == accuracy


def test_render_tiles_receptive_fields():
    env = make("unsup_dual", render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.max() > 0
