"""The reward and rollout variants of the synapse envs (:mod:`envs.synapse.variants`): pinned trajectories of
every combination the committed results use, and each variant's defining property."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401
from envs.synapse import SCENARIO_IDS
from envs.synapse.config import tiny_kwargs
from envs.synapse.env import SynapsePlasticityEnv
from envs.synapse.events import column
from envs.synapse.variants import (
    MarginShaping,
    PairedBaseline,
    ProbeProgress,
    RenewNetwork,
    ReplayReward,
    make_synapse_env,
)
from envs.synapse_multi import make_multi_agent_vec_env


def make(name: str, **overrides) -> gym.Env:
    return gym.make(SCENARIO_IDS[name], **{**tiny_kwargs(name), **overrides})


BASE = dict(tiny_kwargs("semi"), third_factor="teacher", init_gain=6.0, eta=0.5)
HOMEOSTASIS = dict(weight_normalization="subtractive", homeostasis=1.0)
# the variant combinations of the committed results (eval/results/synapse), at test size
COMBINATIONS = {
    "centred_replay_paired_renew": dict(
        HOMEOSTASIS, step_centring=True, renew_every=4, paired_baseline=True, replay_reward=True
    ),
    "homeostasis_paired_renew": dict(HOMEOSTASIS, renew_every=4, paired_baseline=True),
    "event_centring_paired": dict(weight_normalization="events", homeostasis=1.0, paired_baseline=True),
    "cls_only_paired": dict(
        weight_normalization="subtractive", alpha_margin=0.0, alpha_spike=0.0, paired_baseline=True
    ),
    "progress_only": dict(progress_probes=4, progress_only=True),
    "progress_added": dict(progress_probes=3),
    "margin_shaping": dict(margin_shaping=1.0),
    "reward_factor_all": dict(
        third_factor="reward", paired_baseline=True, replay_reward=True, margin_shaping=0.5, renew_every=3
    ),
}
# (episode returns, summed weights of each layer at the end): seed 0, seeded uniform actions, 10 episodes
# (per event: 6 episodes of SynapseSemiPerEvent-v0 with the first combination), recorded from the env in which
# these options were env arguments
EXPECTED = {
    "centred_replay_paired_renew": (
        [-0.37125, -0.0025, 0.12875, -0.12375, 0.11875, -0.37625, 0.00125, -0.1225, -0.125, -0.12125],
        [4.6753, -10.4533],
    ),
    "homeostasis_paired_renew": (
        [-0.1275, -0.12625, 0.12625, -0.00125, 0.00125, -0.12625, 0.0, -2.12375, -0.1275, 0.00125],
        [27.744, -2.0679],
    ),
    "event_centring_paired": (
        [-0.25375, 0.0, 0.00125, 0.0, 0.125, -0.12, 2.125, -0.1275, 0.0, 0.1275],
        [-2.4159, 23.1945],
    ),
    "cls_only_paired": ([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.658, 25.0935]),
    "progress_only": (
        [0.094375, -0.12625, -0.06375, 0.121875, 0.000313, -0.091563, -0.093125, -0.062188, 0.034063, 0.092188],
        [-11.6812, 14.7913],
    ),
    "progress_added": (
        [-1.829167, -1.117917, -1.568333, -1.153333, -1.104167, -1.032917, -1.526667, -1.48, -0.592083, -1.860417],
        [0.0819, 16.3373],
    ),
    "margin_shaping": (
        [-1.41375, -1.285, -1.905, -1.15, -1.16125, -1.52, -0.8975, -1.79375, -1.77625, -1.0275],
        [-13.9607, 17.1757],
    ),
    "reward_factor_all": (
        [-0.44125, -0.1225, 0.00125, 0.00125, 0.0625, 0.32, 0.0, -0.05875, 0.195, -0.24625],
        [-3.4244, 5.8797],
    ),
    "per_event": ([-0.37125, -0.0025, 0.12875, -0.12375, 0.11875, -0.37625], [21.0119, 1.1269]),
}


def uniform_returns(env: gym.Env, episodes: int = 10, seed: int = 0) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    returns = []
    for _ in range(episodes):
        total, done = 0.0, False
        while not done:
            _, reward, done, _, _ = env.step(rng.uniform(-1, 1, 32).astype(np.float32))
            total += reward
        returns.append(total)
        env.reset()
    return returns, [float(g.weight.sum()) for g in env.unwrapped.network.groups]


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_variant_combinations_reproduce_the_recorded_trajectories(name):
    returns, weights = uniform_returns(gym.make("SynapseSemi-v0", **{**BASE, **COMBINATIONS[name]}))
    assert returns == pytest.approx(EXPECTED[name][0], abs=1e-6)
    assert weights == pytest.approx(EXPECTED[name][1], abs=1e-3)


def test_per_event_env_with_variants_reproduces_the_recorded_trajectory():
    kwargs = {**BASE, **COMBINATIONS["centred_replay_paired_renew"], "scenario": "semi"}
    vec = make_multi_agent_vec_env("SynapseSemiPerEvent-v0", 1, 0, kwargs)
    rng = np.random.default_rng(0)
    vec.reset()
    returns = []
    for _ in range(8 * 6):
        _, _, _, infos = vec.step(rng.uniform(-1, 1, (vec.num_envs, 1)).astype(np.float32))
        returns += [info["episode"]["r"] for info in infos if "episode" in info]
    assert returns == pytest.approx(EXPECTED["per_event"][0], abs=1e-5)
    assert [float(g.weight.sum()) for g in vec.envs[0].network.groups] == pytest.approx(
        EXPECTED["per_event"][1], abs=1e-3
    )


def test_make_applies_the_wrappers_in_order_and_by_hand_gives_the_same_trajectory():
    combination = COMBINATIONS["reward_factor_all"]
    made = gym.make("SynapseSemi-v0", **{**BASE, **combination})
    chain, env = [], made
    while env is not env.unwrapped:
        chain.append(type(env).__name__)
        env = env.env
    assert chain[-4:] == ["RenewNetwork", "MarginShaping", "PairedBaseline", "ReplayReward"]
    sim = SynapsePlasticityEnv(**{**BASE, "third_factor": "reward"})
    by_hand = RenewNetwork(MarginShaping(PairedBaseline(ReplayReward(sim)), 0.5), 3)
    assert uniform_returns(by_hand) == uniform_returns(made)


def test_every_variant_together_passes_the_checker_without_warnings():
    env = gym.make("SynapseSemi-v0", **{**BASE, **COMBINATIONS["reward_factor_all"]}, progress_probes=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(env, warn=True)


def test_probe_progress_leaves_homeostasis_to_the_plastic_presentation():
    """The probes are presented after the episode; the thresholds still move by the image's own spike counts."""
    env = gym.make("SynapseSemi-v0", **BASE, homeostasis=1.0, progress_probes=3)
    sim = env.unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(3):
        for _ in range(sim.config.n_steps - 1):
            env.step(rng.uniform(-1, 1, 32).astype(np.float32))
        counts = torch.cat([sim.network.history.counts[name] for name in list(sim.network.layers)[1:]])
        rates, theta = counts / sim.network.history.steps, sim.network.theta.clone()
        env.step(rng.uniform(-1, 1, 32).astype(np.float32))  # the last step: the probes are scored, then homeostasis
        floor = -0.9 * abs(sim.config.v_th - sim.config.v_rest)
        torch.testing.assert_close(sim.network.theta, (theta + (rates - sim.config.target_rate)).clamp(min=floor))
        env.reset()


def test_reward_third_factor_is_the_previous_episodes_paid_reward():
    """With ``third_factor="reward"`` every event of an image observes the reward paid for the previous one,
    with the variants applied (here the replayed reward minus the paired baseline)."""
    env = gym.make("SynapseSemi-v0", **{**BASE, "third_factor": "reward"}, paired_baseline=True, replay_reward=True)
    k = env.unwrapped.config.history
    env.reset(seed=0)
    paid = []
    for action in random_actions(4):
        total, info = play_episode(env, action)
        obs, _ = env.reset()
        rows = obs.reshape(32, -1)
        factor = rows[rows[:, column(k, "mask")] == 1, column(k, "third_factor")]
        np.testing.assert_allclose(factor, np.clip(total, -3.0, 3.0), atol=1e-6)
        paid.append(total != info["plastic_reward"])
    assert any(paid)  # the paid reward is not the plastic presentation's R


def test_replay_reward_must_be_the_first_variant():
    with pytest.raises(ValueError, match="ReplayReward"):
        ReplayReward(PairedBaseline(SynapsePlasticityEnv(**BASE)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"margin_shaping": -1.0}, "margin_shaping"),
        ({"margin_shaping": True}, "margin_shaping"),
        ({"renew_every": -1}, "renew_every"),
        ({"renew_every": 2.0}, "renew_every"),
        ({"progress_probes": -1}, "progress_probes"),
        ({"progress_probes": True}, "progress_probes"),
        ({"progress_probes": 2.5}, "progress_probes"),
        ({"progress_only": True}, "progress_only"),
        ({"progress_probes": 2, "progress_only": 1}, "progress_only"),
        ({"paired_baseline": "yes"}, "paired_baseline"),
        ({"paired_baseline": 1}, "paired_baseline"),
        ({"replay_reward": 1.0}, "replay_reward"),
        ({"not_a_variant": 1}, "kwargs"),
    ],
)
def test_invalid_variant_arguments_raise_value_error_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        make("semi", **kwargs)


@pytest.mark.parametrize(
    "wrap",
    [lambda e: ProbeProgress(e, 0), lambda e: MarginShaping(e, 0.0), lambda e: RenewNetwork(e, 0)],
)
def test_variants_built_by_hand_check_their_arguments(wrap):
    with pytest.raises(ValueError, match="progress_probes|margin_shaping|renew_every"):
        wrap(SynapsePlasticityEnv(**BASE))


def test_variants_need_a_synapse_env():
    with pytest.raises(TypeError, match="SynapsePlasticityEnv"):
        PairedBaseline(gym.make("CartPole-v1"))


def test_make_synapse_env_applies_no_wrapper_for_switched_off_variants():
    off = dict(replay_reward=False, paired_baseline=False, progress_probes=0, margin_shaping=0.0, renew_every=0)
    assert type(make_synapse_env(**BASE, **off)) is SynapsePlasticityEnv
    assert type(make_synapse_env(**BASE, renew_every=3)) is RenewNetwork


def test_margin_shaping_is_potential_based_and_leaves_the_dynamics_unchanged():
    kwargs = {**BASE, "third_factor": "none", "n_steps": 12}
    plain, shaped = gym.make("SynapseSemi-v0", **kwargs), gym.make("SynapseSemi-v0", **kwargs, margin_shaping=2.0)
    episodes = {}
    for name, env in (("plain", plain), ("shaped", shaped)):
        env.reset(seed=4)
        rng, episodes[name] = np.random.default_rng(0), []
        for _ in range(3):
            phi0 = env.get_wrapper_attr("phi") if name == "shaped" else 0.0
            rewards, done = [], False
            while not done:
                _, reward, done, _, _ = env.step(rng.uniform(-1, 1, 32).astype(np.float32))
                rewards.append(reward)
            episodes[name].append((phi0, rewards, env.unwrapped.scenario.last_reward))
            env.reset()
    torch.testing.assert_close(plain.unwrapped.network.groups[0].weight, shaped.unwrapped.network.groups[0].weight)
    for (_, plain_rewards, r), (phi0, shaped_rewards, r_shaped) in zip(*episodes.values(), strict=True):
        assert r == r_shaped and sum(plain_rewards) == pytest.approx(r)  # the third factor R is unshaped
        assert sum(shaped_rewards) == pytest.approx(r - phi0)  # Σ(Φ_{t+1} − Φ_t) with Φ = 0 at the end
    assert any(any(x != 0 for x in shaped[:-1]) for _, shaped, _ in episodes["shaped"])  # a dense signal


def test_new_network_option_draws_a_fresh_network():
    env = make("semi")
    env.reset(seed=0)
    first = env.unwrapped.network
    env.reset()
    assert env.unwrapped.network is first
    env.reset(options={"new_network": True})
    assert env.unwrapped.network is not first
    assert not torch.equal(first.groups[0].weight, env.unwrapped.network.groups[0].weight)


@pytest.mark.parametrize("name, value", [("progress_probes", 4), ("paired_baseline", True), ("replay_reward", True)])
def test_semi_reward_variants_are_semi_only(name, value):
    with pytest.raises(ValueError, match=name):
        make("grad_mimicry", **{name: value})


def test_renew_every_draws_a_fresh_network_after_n_episodes():
    env = make("semi", renew_every=2)
    env.reset(seed=0)
    networks = [env.unwrapped.network]
    for _ in range(4):
        done = False
        while not done:
            _, _, done, _, _ = env.step(np.zeros(32, dtype=np.float32))
        env.reset()
        networks.append(env.unwrapped.network)
    assert networks[0] is networks[1] and networks[2] is networks[3] and networks[4] is not networks[3]
    assert networks[2] is not networks[1]
    assert not torch.equal(networks[0].groups[0].weight, networks[2].groups[0].weight)


def play_episode(env: gym.Env, action: np.ndarray) -> tuple[float, dict]:
    total, done = 0.0, False
    while not done:
        _, reward, done, _, info = env.step(action)
        total += reward
    return total, info


def test_progress_reward_is_the_paired_probe_change_caused_by_the_updates():
    """Probes are scored before and after the episode on the same spike trains: without updates the change is
    exactly 0; with updates it is what they did, and ``progress_only`` pays it alone."""
    zero, ones = np.zeros(32, dtype=np.float32), np.ones(32, dtype=np.float32)
    kwargs = dict(third_factor="teacher", progress_probes=4, init_gain=6.0, eta=0.5)
    env = make("semi", **kwargs)
    env.reset(seed=0)
    assert play_episode(env, zero)[1]["progress"] == 0.0
    changes = []
    for _ in range(6):
        env.reset()
        changes.append(play_episode(env, ones)[1]["progress"])
    assert any(change != 0.0 for change in changes)
    only = make("semi", progress_only=True, **kwargs)
    only.reset(seed=0)
    for _ in range(6):
        total, info = play_episode(only, ones)
        assert total == pytest.approx(info["progress"])
        only.reset()


def semi_twins(option: dict, **kwargs) -> tuple[gym.Env, gym.Env]:
    """The same semi env without and with ``option``, both reset with seed 2 (same images and spikes)."""
    plain, other = make("semi", **kwargs), make("semi", **option, **kwargs)
    plain.reset(seed=2)
    other.reset(seed=2)
    return plain, other


def random_actions(n: int) -> list[np.ndarray]:
    """``n`` seeded uniform Δd vectors for the tiny env's 32 event slots."""
    rng = np.random.default_rng(0)
    return [rng.uniform(-1, 1, 32).astype(np.float32) for _ in range(n)]


def test_paired_baseline_subtracts_the_no_plasticity_reward_of_the_same_image():
    """Same seed and actions with and without the baseline: the same images, spikes and weights; each episode's
    reward differs by exactly R_0, and zero plasticity earns exactly 0."""
    kwargs = dict(third_factor="teacher", init_gain=6.0, eta=0.5)
    plain, paired = semi_twins({"paired_baseline": True}, **kwargs)
    shifts = []
    for action in random_actions(4):
        (r_plain, _), (r_paired, info) = play_episode(plain, action), play_episode(paired, action)
        assert r_paired == pytest.approx(r_plain - info["zero_plasticity_reward"])
        shifts.append(info["zero_plasticity_reward"])
        plain.reset()
        paired.reset()
    assert len(set(shifts)) > 1  # a per-image baseline, not a constant
    for a, b in zip(plain.unwrapped.network.groups, paired.unwrapped.network.groups, strict=True):
        assert torch.equal(a.weight, b.weight)
    assert play_episode(paired, np.zeros(32, dtype=np.float32))[0] == 0.0


def test_replay_reward_is_the_frozen_reward_of_the_same_train_after_the_episode():
    """Same seed and actions with and without replay: the same weights and thresholds (homeostasis answers to the
    plastic presentation either way); the replayed reward is the frozen reward of the episode's spike train on the
    weights the episode left, and zero plasticity earns exactly 0 against the paired baseline."""
    kwargs = dict(third_factor="teacher", init_gain=6.0, eta=0.5, homeostasis=1.0)
    plain, replay = semi_twins({"replay_reward": True}, **kwargs)
    differs = []
    for action in random_actions(4):
        spikes, network = replay.unwrapped.input_spikes, replay.unwrapped.network
        theta_during = network.theta.clone()  # homeostasis moves θ only after the replay
        (r_plain, _), (r_replay, info) = play_episode(plain, action), play_episode(replay, action)
        theta_after = network.theta.clone()
        network.theta.copy_(theta_during)
        scenario = replay.unwrapped.scenario
        assert r_replay == pytest.approx(scenario.frozen_reward(spikes, scenario.label))
        network.theta.copy_(theta_after)
        assert info["plastic_reward"] == pytest.approx(r_plain)
        differs.append(r_replay != r_plain)
        assert torch.equal(plain.unwrapped.network.theta, replay.unwrapped.network.theta)
        plain.reset()
        replay.reset()
    assert any(differs)
    for a, b in zip(plain.unwrapped.network.groups, replay.unwrapped.network.groups, strict=True):
        assert torch.equal(a.weight, b.weight)
    paired = make("semi", replay_reward=True, paired_baseline=True, **kwargs)
    paired.reset(seed=3)
    assert play_episode(paired, np.zeros(32, dtype=np.float32))[0] == 0.0


def test_progress_probes_are_seeded():
    runs = []
    for _ in range(2):
        env = make("semi", progress_probes=3)
        env.action_space.seed(1)
        env.reset(seed=5)
        episodes = []
        for _ in range(3):
            episodes.append(play_episode(env, env.action_space.sample())[0])
            env.reset()
        runs.append(episodes)
    assert runs[0] == runs[1]
