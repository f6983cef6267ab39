"""Agents of the synapse envs: reference rules on constructed observations, the shared policy, smoke training."""

from __future__ import annotations

import csv

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import A2C

import envs  # noqa: F401
from agents.registry import make_agent
from agents.synapse.layout import as_rows
from agents.synapse.policy import SynapsePolicy
from agents.synapse.reference import STDPAgent, TrueGradientAgent, ZeroAgent, trace
from envs.synapse import SCENARIO_IDS
from envs.synapse.config import tiny_kwargs
from envs.synapse.events import column
from train.run import main as train_main


def make(name: str, **overrides) -> gym.Env:
    return gym.make(SCENARIO_IDS[name], **{**tiny_kwargs(name), **overrides})


def test_trace_jumps_to_one_and_decays():
    history = np.array([[0, 0, 0, 1.0], [1.0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(trace(history, 20.0), [1.0, np.exp(-3 / 20), 0.0])


def test_stdp_potentiates_at_post_spikes_and_depresses_at_pre_spikes():
    env = make("unsup_single")
    obs, _ = env.reset(seed=0)
    agent = STDPAgent(env, seed=0)
    k, capacity = env.unwrapped.config.history, env.unwrapped.config.capacity
    rows = np.zeros((capacity, 2 * k + 7), np.float32)
    rows[:3, column(k, "mask")] = 1
    rows[0, k - 3], rows[0, 2 * k - 1], rows[0, column(k, "post_event")] = 1, 1, 1  # pre 2 steps before post
    rows[1, k - 1], rows[1, 2 * k - 2], rows[1, column(k, "pre_event")] = 1, 1, 1  # post 1 step before pre
    rows[2] = rows[0]
    rows[2, column(k, "group")] = 1.0  # inh_exc: Diehl–Cook keep it fixed
    rows[3] = rows[0]
    rows[3, column(k, "mask")] = 0  # padding
    action, _ = agent.predict(rows.reshape(1, -1))
    assert action.shape == (1, capacity)
    np.testing.assert_allclose(action[0, :4], [np.exp(-2 / 20), -0.01 * np.exp(-1 / 20), 0.0, 0.0], rtol=1e-5)


@pytest.mark.parametrize("rule", ["stdp", "pair_rule", "zero"])
def test_event_rules_act_on_filled_slots_the_same_at_any_capacity(rule):
    """The rules compute on the filled prefix of the rows only: a larger capacity pads with zeros."""
    env = make("unsup_single", capacity=4096)
    obs, _ = env.reset(seed=0)
    stdp = make_agent("stdp", env, seed=0)
    while not stdp.predict(obs)[0].any():  # a step where STDP changes weights
        obs, *_ = env.step(np.zeros(4096, np.float32))
    k = env.unwrapped.config.history
    rows = as_rows(obs, 4096)
    n = int(rows[:, column(k, "mask")].sum())
    assert 0 < n < 4096
    shifted = np.zeros_like(rows)
    shifted[: n - n // 2] = rows[n // 2 : n]  # a second observation with fewer filled slots
    batch = np.stack([rows, shifted])
    small, _ = make_agent(rule, env, seed=0).predict(batch.reshape(2, -1))
    wide = np.zeros((2, 8192, rows.shape[1]), np.float32)
    wide[:, :4096] = batch
    large, _ = make_agent(rule, make("unsup_single", capacity=8192), seed=0).predict(wide.reshape(2, -1))
    assert large.shape == (2, 8192) and not large[:, 4096:].any() and not small[:, n:].any()
    np.testing.assert_array_equal(large[:, :4096], small)
    if rule != "zero":
        assert small.any()


def test_true_gradient_agent_maximises_the_grad_mimicry_reward():
    env = make("grad_mimicry", third_factor="teacher")
    obs, _ = env.reset(seed=0)
    best = TrueGradientAgent(env, seed=0)
    total = {"true_gradient": 0.0, "zero": 0.0, "random": 0.0}
    rng = np.random.default_rng(0)
    for name in total:
        obs, _ = env.reset(seed=0)
        done = False
        while not done:
            if name == "true_gradient":
                action = best.predict(obs[None])[0][0]
            elif name == "zero":
                action = ZeroAgent(env).predict(obs[None])[0][0]
            else:
                action = rng.uniform(-1, 1, 32).astype(np.float32)
            obs, reward, done, _, info = env.step(action)
            total[name] += reward
    assert total["true_gradient"] > 0 and total["zero"] == 0.0 > total["random"]
    assert info["sign_agreement"] < 1.0  # the last episode was random's
    with pytest.raises(ValueError, match="third_factor"):
        TrueGradientAgent(make("grad_mimicry"))


def test_true_gradient_agent_has_full_sign_agreement_and_cosine():
    env = make("grad_mimicry", third_factor="teacher")
    obs, _ = env.reset(seed=2)
    agent, done = TrueGradientAgent(env), False
    while not done:
        obs, _, done, _, info = env.step(agent.predict(obs[None])[0][0])
    # cosine < 1 only because Δd = −ĝ/2λ is clipped to [-1, 1] where |ĝ| > 1
    assert info["sign_agreement"] == pytest.approx(1.0) and info["cosine"] > 0.9


def test_policy_shares_one_network_across_events_and_ignores_padding():
    env = make("semi", third_factor="teacher")
    model = A2C(SynapsePolicy, env, seed=0)
    obs, _ = env.reset(seed=0)
    policy = model.policy
    tensor = torch.as_tensor(obs[None])
    rows = as_rows(tensor, 32)
    permutation = torch.randperm(32, generator=torch.Generator().manual_seed(0))
    permuted = rows[:, permutation].reshape(1, -1)
    with torch.no_grad():
        mean = policy.get_distribution(tensor).distribution.mean
        mean_permuted = policy.get_distribution(permuted).distribution.mean
        torch.testing.assert_close(mean[:, permutation], mean_permuted)  # same net for every event
        assert torch.all(mean.abs() <= 1)
        padded = rows.clone()
        padded[:, 1:] = 0  # keep one event
        actions = torch.zeros(1, 32)
        lp_a = policy.evaluate_actions(padded.reshape(1, -1), actions)[1]
        actions[:, 1:] = 5.0  # actions in padding slots do not matter
        lp_b = policy.evaluate_actions(padded.reshape(1, -1), actions)[1]
        torch.testing.assert_close(lp_a, lp_b)
    assert policy.log_std.shape == (1,)


def test_policy_rejects_non_event_spaces():
    with pytest.raises(ValueError, match="SynapsePolicy"):
        A2C(SynapsePolicy, "Pendulum-v1")


def test_dual_policy_has_one_network_per_group(tmp_path):
    env = make("unsup_dual")
    model = A2C(SynapsePolicy, env, policy_kwargs={"n_group_nets": 2}, seed=0)
    assert len(model.policy.actor.nets) == 2
    model.save(tmp_path / "m")
    loaded = A2C.load(tmp_path / "m", env=env)
    assert len(loaded.policy.actor.nets) == 2


def cli_kwargs(name: str) -> list[str]:
    return [f"{k}:{list(v) if isinstance(v, tuple) else v}" for k, v in tiny_kwargs(name).items() if k != "scenario"]


SMOKE = {
    "a2c": ["-params", "n_steps:8"],
    "ppo": ["-params", "n_steps:32", "batch_size:16", "n_epochs:1"],
    "stdp": [],
    "pair_rule": [],
    "zero": [],
    "random": [],
}


# learning agents and STDP on every scenario; the non-learning zero and random rules on one
SMOKE_RUNS = [(n, a) for n in sorted(SCENARIO_IDS) for a in ("a2c", "ppo", "stdp")] + [
    ("semi", "zero"),
    ("semi", "random"),
    ("unsup_single", "pair_rule"),
]


@pytest.mark.parametrize("name, agent", SMOKE_RUNS)
def test_smoke_training_through_train_run(name, agent, log_folder):
    argv = [
        "--env",
        SCENARIO_IDS[name],
        "--agent",
        agent,
        "-n",
        "32",
        "--seed",
        "1",
        "-f",
        log_folder,
        "--no-tensorboard",
        "--eval-freq",
        "0",
        "--final-eval-episodes",
        "1",
        "--env-kwargs",
        *cli_kwargs(name),
        *SMOKE[agent],
    ]
    summary = train_main(argv)
    assert np.isfinite(summary["eval_mean"]) and summary["eval_episodes"] == 1
    if agent in ("a2c", "ppo"):
        assert summary["timesteps"] >= 32


def test_metrics_callback_logs_info_metrics_and_the_kernel(tmp_path):
    from stable_baselines3.common.logger import configure

    from agents.synapse.callbacks import SynapseMetricsCallback

    env = make("grad_mimicry", third_factor="teacher", render_mode="rgb_array")
    model = A2C(SynapsePolicy, env, n_steps=8, seed=0)
    model.set_logger(configure(str(tmp_path), ["csv", "tensorboard"]))
    model.learn(32, callback=SynapseMetricsCallback(image_every=1))
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    assert {"synapse/cosine", "synapse/sign_agreement", "synapse/accuracy", "synapse/spike_rate/out"} <= set(header)
    assert list(tmp_path.glob("events.out.tfevents*"))


def test_rule_kernel_of_stdp_potentiates_causal_pairs():
    from agents.synapse.kernel import rule_kernel

    env = make("unsup_single")
    env.reset(seed=0)
    lags, dd = rule_kernel(STDPAgent(env), env.unwrapped.config.history, env.unwrapped.config.capacity)
    assert np.all(dd[lags > 0] > 0) and np.all(dd[lags < 0] < 0) and dd[lags == 1][0] > dd[lags == 5][0]


def test_coherent_exploration_is_an_exact_low_rank_gaussian_over_real_events():
    from agents.synapse.policy import CoherentEventGaussian

    torch.manual_seed(0)
    mean, directions = torch.randn(3, 6).tanh(), torch.randn(3, 6, 2)
    mask = torch.ones(3, 6)
    mask[1, 4:] = 0  # padding
    log_std, log_std_c = torch.tensor([-1.0]), torch.tensor([-0.5])
    dist = CoherentEventGaussian(6).proba_distribution(mean, log_std, mask, directions, log_std_c)
    actions = dist.sample()
    for b in range(3):
        real = mask[b].bool()
        phi = directions[b][real]
        cov = torch.exp(2 * log_std) * torch.eye(int(real.sum())) + torch.exp(2 * log_std_c) * phi @ phi.T
        reference = torch.distributions.MultivariateNormal(mean[b][real], cov)
        torch.testing.assert_close(
            dist.log_prob(actions)[b], reference.log_prob(actions[b][real]), rtol=1e-4, atol=1e-4
        )
        torch.testing.assert_close(dist.entropy()[b], reference.entropy(), rtol=1e-5, atol=1e-5)
    many = CoherentEventGaussian(6).proba_distribution(
        mean[:1].expand(20000, 6), log_std, torch.ones(20000, 6), directions[:1].expand(20000, 6, 2), log_std_c
    )
    empirical = torch.cov((many.sample() - mean[:1]).T)
    expected = torch.exp(2 * log_std) * torch.eye(6) + torch.exp(2 * log_std_c) * directions[0] @ directions[0].T
    assert float((empirical - expected).abs().max()) < 0.05 * float(expected.abs().max())  # shared noise correlates


def test_coherent_policy_trains_saves_and_loads(tmp_path):
    from stable_baselines3 import PPO

    env = make("semi", third_factor="teacher")
    model = PPO(SynapsePolicy, env, n_steps=32, batch_size=16, n_epochs=1, seed=0, policy_kwargs={"coherent_dim": 3})
    model.learn(32)
    model.save(tmp_path / "m")
    loaded = PPO.load(tmp_path / "m", device="cpu")
    assert loaded.policy.coherent_dim == 3 and loaded.policy.log_std_coherent.shape == (1,)
    obs, _ = env.reset(seed=2)
    deterministic = [m.predict(obs[None], deterministic=True)[0] for m in (loaded, model)]
    np.testing.assert_allclose(*deterministic, rtol=1e-5)
    with pytest.raises(ValueError, match="coherent_dim"):
        PPO(SynapsePolicy, env, policy_kwargs={"coherent_dim": -1})


def test_rule_noise_is_one_perturbation_of_the_rule_shared_by_all_events():
    from agents.synapse.policy import RuleNoiseGaussian

    torch.manual_seed(0)
    mean, features = torch.randn(2, 5).tanh(), torch.rand(2, 5, 4)
    features[0, 1] = 3 * features[0, 0]  # same direction of activity, larger: the same push
    mask = torch.ones(2, 5)
    mask[1, 3:] = 0
    log_std, log_std_rule = torch.tensor([-20.0]), torch.tensor([-1.0])
    dist = RuleNoiseGaussian(5, 4).proba_distribution(mean, log_std, mask, features, log_std_rule)
    first, again = dist.sample(), dist.sample()
    torch.testing.assert_close(first, again)  # no independent noise: the draw is the rule's perturbation
    expected = (features / features.norm(dim=-1, keepdim=True)) @ dist.z * np.exp(-1.0)
    torch.testing.assert_close(first - mean, expected)
    torch.testing.assert_close((first - mean)[0, 0], (first - mean)[0, 1])
    reference = torch.distributions.Normal(mean, float(np.hypot(np.exp(-20.0), np.exp(-1.0))))
    torch.testing.assert_close(dist.log_prob(first), (reference.log_prob(first) * mask).sum(-1))
    draws = []
    for _ in range(4000):  # over redraws each event's Δd is N(m, σ² + σ_r²)
        dist.resample()
        draws.append(dist.proba_distribution(mean, log_std, mask, features, log_std_rule).sample())
    spread = torch.stack(draws).std(0)
    torch.testing.assert_close(spread, torch.full_like(spread, np.exp(-1.0)), rtol=0.05, atol=0.0)


def test_rule_noise_policy_redraws_every_sde_sample_freq_steps_saves_and_transfers(tmp_path):
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    from envs.synapse_multi import make_multi_agent_vec_env
    from eval.experiments.synapse_learning import transfer

    kwargs = {**tiny_kwargs("semi"), "third_factor": "teacher"}  # T = 8 steps per image
    vec = make_multi_agent_vec_env("SynapseSemiPerEvent-v0", 1, 0, kwargs)

    class RecordNoise(BaseCallback):
        def _on_training_start(self) -> None:
            self.draws = []

        def _on_step(self) -> bool:
            self.draws.append(self.model.policy.action_dist.z.clone())
            return True

    record = RecordNoise()
    model = PPO(SynapsePolicy, vec, use_sde=True, sde_sample_freq=8, n_steps=32, batch_size=256, n_epochs=1, seed=0)
    model.learn(64 * 32, callback=record)  # two rollouts of 32 steps
    changed = [i for i in range(1, 64) if not torch.equal(record.draws[i], record.draws[i - 1])]
    assert changed == [8, 16, 24, 32, 40, 48, 56]  # one perturbation per image
    model.save(tmp_path / "m")
    loaded = PPO.load(tmp_path / "m", device="cpu")
    assert loaded.use_sde and loaded.policy.log_std_rule.shape == (1,)
    single = make("semi", third_factor="teacher")
    obs, _ = single.reset(seed=2)
    rows = obs.reshape(single.unwrapped.config.capacity, -1)
    one_by_one = model.predict(rows, deterministic=True)[0][:, 0]
    np.testing.assert_allclose(transfer(loaded, single).predict(obs, deterministic=True)[0], one_by_one, atol=1e-6)
    with pytest.raises(ValueError, match="coherent_dim"):
        PPO(SynapsePolicy, vec, use_sde=True, policy_kwargs={"coherent_dim": 2})
    with pytest.raises(ValueError, match="use_sde"):
        PPO(SynapsePolicy, vec).policy.reset_noise()
    with pytest.raises(ValueError, match="rule_noise_log_std_init"):
        PPO(SynapsePolicy, vec, policy_kwargs={"rule_noise_log_std_init": -2.0})


def test_a_rule_trained_at_one_capacity_transfers_to_another():
    from stable_baselines3 import PPO

    from eval.experiments.synapse_learning import transfer

    small, large = make("semi", capacity=16, third_factor="teacher"), make("semi", capacity=32, third_factor="teacher")
    model = PPO(SynapsePolicy, small, n_steps=16, batch_size=16, n_epochs=1, seed=0)
    model.learn(16)
    moved = transfer(model, large)
    assert moved.observation_space.shape == large.observation_space.shape
    obs, _ = large.reset(seed=1)
    rows = as_rows(obs, 32)
    out_large = moved.predict(obs[None], deterministic=True)[0][0]
    out_small = model.predict(rows[:16].reshape(1, -1), deterministic=True)[0][0]
    np.testing.assert_allclose(out_large[:16], out_small, rtol=1e-5, atol=1e-6)  # the same per-event rule
    assert transfer(model, small) is model


def test_diagnostic_rules_read_the_event_rows():
    from eval.experiments.synapse_learning import reference_rule

    env = make("semi", third_factor="teacher")
    obs, _ = env.reset(seed=2)
    rows = as_rows(obs, 32)
    k = env.unwrapped.config.history
    mask, pre_event = rows[:, column(k, "mask")], rows[:, column(k, "pre_event")]
    factor = rows[:, column(k, "third_factor")]
    assert mask.sum() > 0 and np.abs(factor[mask > 0]).max() > 0
    bias = reference_rule("label_bias", env, 0).predict(obs[None])[0][0]
    np.testing.assert_allclose(bias, np.clip(factor, -1, 1) * mask)
    np.testing.assert_allclose(reference_rule("depress", env, 0).predict(obs[None])[0][0], -pre_event * mask)
    assert isinstance(reference_rule("zero", env, 0), ZeroAgent)


def test_local_term_fit_tells_a_learning_rule_from_a_label_bias():
    import re

    from eval.experiments.synapse_learning import fit_local_terms, reference_rule

    def correlations(rule: str) -> tuple[float, float]:
        env = make("semi", third_factor="teacher")
        text = fit_local_terms(reference_rule(rule, env, 0), env, seed=0, images=4)
        with_m, with_pre_m = re.search(r"corr\(Δd, m\) (\S+), corr\(Δd, s_pre·m\) (\S+)", text).groups()
        return float(with_m), float(with_pre_m)

    bias_m, bias_pre_m = correlations("label_bias")
    learn_m, learn_pre_m = correlations("three_factor")
    assert bias_m > 0.9 > bias_pre_m
    assert learn_pre_m > 0.9 > learn_m


def test_learning_protocol_evaluates_saved_rules_without_training(tmp_path, monkeypatch):
    from stable_baselines3 import PPO

    import eval.experiments.synapse_learning as protocol

    env = protocol.make_env("semi", "small", "teacher", {})
    model = PPO(SynapsePolicy, env, n_steps=16, batch_size=16, n_epochs=1, seed=0)
    model.learn(16)
    model.save(tmp_path / "rule_seed3.zip")
    monkeypatch.setattr(protocol, "build_rule", lambda *a, **k: pytest.fail("a saved rule must not be retrained"))
    args = protocol.parse_args(
        ["--scenario", "semi", "--size", "small", "--load-models", str(tmp_path / "rule_seed{seed}.zip"),
         "--plast-images", "2", "--test-images", "20"]
    )  # fmt: skip
    row = protocol.evaluate(args, "ppo", "teacher", seed=3)
    assert row["train_steps"] == 0 and row["rule"] == "ppo" and 0.0 <= row["accuracy"] <= 1.0
    args.load_models = str(tmp_path / "missing_{seed}.zip")
    with pytest.raises(FileNotFoundError):
        protocol.evaluate(args, "ppo", "teacher", seed=3)


def test_learning_rows_of_parallel_runs_share_one_header(tmp_path):
    import eval.experiments.synapse_learning as protocol

    out = tmp_path / "results.csv"
    rows = [{name: f"{name}{i}" for name in protocol.FIELDS} for i in range(3)]
    for row in rows:  # as separate processes would, each opening the file anew
        protocol.append_row(out, row)
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(protocol.FIELDS)
    assert len(lines) == 4 and lines.count(lines[0]) == 1
    assert list(csv.DictReader(out.open())) == rows


def test_learning_protocol_rejects_per_event_credit_where_no_per_event_env_exists(capsys):
    import eval.experiments.synapse_learning as protocol

    with pytest.raises(SystemExit) as exit_info:
        protocol.parse_args(["--scenario", "unsup_single", "--credit", "per_event"])
    assert exit_info.value.code == 2
    assert "--credit per_event needs --scenario in grad_mimicry, semi" in capsys.readouterr().err
