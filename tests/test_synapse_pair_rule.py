"""The pair rule (agents/synapse/pair_rule.py), its label-free search (agents/synapse/rule_search.py) and the script."""

from __future__ import annotations

import csv
import dataclasses
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents.registry import make_agent
from agents.synapse.pair_rule import (
    PairRuleAgent,
    PairRuleParameters,
    dense_pair_rules,
    load_parameters,
    save_parameters,
)
from agents.synapse.reference import STDPAgent
from agents.synapse.rule_search import SearchSettings, fitness, search, select
from envs.synapse import SCENARIO_IDS
from envs.synapse.config import make_config, tiny_kwargs
from envs.synapse.data import load_digits_split
from eval.experiments import synapse_rule_search as script

TINY = {k: v for k, v in tiny_kwargs("unsup_single").items() if k != "scenario"}
STRONG = PairRuleParameters(a_post=3.0, a_pre=0.2, tau_pre=5.0, tau_post=8.0, x_tar=0.3, mu=0.5)  # Δd reaches ±1
INHIBITORY = PairRuleParameters(a_post=0.5, a_pre=2.0, tau_pre=4.0, tau_post=6.0, x_tar=0.1, mu=0.3)


def tiny_setup(**overrides):
    config = make_config(scenario="unsup_single", **TINY, **overrides)
    return config, load_digits_split(config.data_source, config.n_train, config.n_test, config.split_seed,
                                     config.data_root)


def test_parameters_reject_negative_amplitudes_and_non_positive_time_constants():
    with pytest.raises(ValueError, match="x_tar=nan is not allowed"):
        PairRuleParameters(x_tar=float("nan"))
    with pytest.raises(ValueError, match="a_pre=-0.1 is not allowed: a finite number >= 0"):
        PairRuleParameters(a_pre=-0.1)
    with pytest.raises(ValueError, match="tau_post=0.0 is not allowed: a finite number > 0"):
        PairRuleParameters(tau_post=0.0)


def test_default_parameters_act_as_the_stdp_agent():
    env = gym.make("SynapseUnsupSingle-v0", **TINY)
    obs, _ = env.reset(seed=0)
    pair, stdp = make_agent("pair_rule", env, seed=0), STDPAgent(env, seed=0)
    for _ in range(6):
        action, _ = pair.predict(obs)
        np.testing.assert_array_equal(action, stdp.predict(obs)[0])
        obs, *_ = env.step(action)
    assert np.abs(action).sum() > 0


@pytest.mark.parametrize("scenario, inhibitory", [("unsup_single", None), ("unsup_dual", INHIBITORY)])
def test_dense_rules_change_the_weights_as_the_agent_does_through_the_env(scenario, inhibitory):
    kwargs = {**tiny_kwargs(scenario), "capacity": 4000, "alpha_unsup": 0.5}  # every event of a step fits
    env = gym.make(SCENARIO_IDS[scenario], **kwargs)
    agent = PairRuleAgent(env, params=STRONG, inhibitory=inhibitory)
    obs, _ = env.reset(seed=0)
    net = env.unwrapped.network
    twins = [dataclasses.replace(group, weight=group.weight.clone()) for group in net.groups]
    dense = dense_pair_rules(twins, STRONG, inhibitory, scale=0.5 if scenario == "unsup_dual" else 1.0)
    start, clipped = [g.weight.clone() for g in net.groups], False
    for episode in range(2):  # two images: the traces restart
        if episode:
            obs, _ = env.reset()
            for twin, group in zip(twins, net.groups, strict=True):
                twin.weight.copy_(group.weight)  # the network normalises its input weights at each image (Diehl–Cook)
        dense.begin_image()
        done = False
        while not done:
            dense.step({name: net.history.latest(name) for name in ("input", "exc", "inh")})
            action, _ = agent.predict(obs)
            clipped |= bool((np.abs(action) == 1.0).any())
            obs, _, done, _, info = env.step(action)
            assert info["n_events"] == info["n_events_total"]
            for twin, group in zip(twins, net.groups, strict=True):
                torch.testing.assert_close(group.weight, twin.weight)
    assert clipped and env.unwrapped.episodes == 2
    changed = [not torch.equal(g.weight, s) for g, s in zip(net.groups, start, strict=True)]
    assert changed == [True, inhibitory is not None]


def test_parameters_round_trip_through_json_and_other_files_are_refused(tmp_path):
    env = gym.make("SynapseUnsupSingle-v0", **TINY)
    PairRuleAgent(env, seed=3, params=STRONG).save(tmp_path / "rule")
    loaded = PairRuleAgent.load(tmp_path / "rule.json", env)
    assert loaded.params == STRONG and loaded.seed == 3
    STDPAgent(env, seed=0).save(tmp_path / "stdp")
    with pytest.raises(ValueError, match="does not hold a pair_rule agent"):
        load_parameters(tmp_path / "stdp.json")
    assert save_parameters(tmp_path / "x", STRONG).suffix == ".json"


def test_fitness_reads_no_labels():
    config, data = tiny_setup()
    shuffled = dataclasses.replace(data, train_y=np.random.default_rng(0).permutation(data.train_y))
    value = fitness(STRONG, config, data, 30, seed=5)
    assert np.isfinite(value)
    assert fitness(STRONG, config, shuffled, 30, seed=5) == value


def test_search_starts_at_stdp_scores_every_candidate_and_is_deterministic():
    config, data = tiny_setup()
    settings = SearchSettings(generations=2, population=3, elite=2, images=20, finalists=2, rescore_seeds=1)
    chosen, rows = search(config, data, settings, seed=0)
    assert [r["phase"] for r in rows] == ["search"] * 6 + ["rescore"] * 2
    assert dataclasses.asdict(PairRuleParameters()).items() <= {k: pytest.approx(v) for k, v in rows[0].items()}.items()
    assert rows[3]["network_seed"] == rows[0]["network_seed"] + 1  # a new network every generation
    finals = rows[-2:]
    best = max(finals, key=lambda r: r["fitness"])
    assert dataclasses.asdict(chosen) == pytest.approx({k: best[k] for k in dataclasses.asdict(chosen)})
    assert search(config, data, settings, seed=0) == (chosen, rows)


@pytest.mark.parametrize("bad, message", [
    (dict(elite=9), "elite=9 is not allowed: at most population=8"),
    (dict(images=0), "images=0 is not allowed: an integer >= 1"),
    (dict(min_sigma=2.0), "min_sigma=2.0 is not allowed"),
])
def test_search_settings_name_the_bad_argument(bad, message):
    with pytest.raises(ValueError, match=message):
        SearchSettings(**bad)


def test_script_searches_evaluates_and_summarises(tmp_path):
    kwargs = ["--env-kwargs", *[f"{k}:{v}" for k, v in TINY.items()], "--out", str(tmp_path), "--seeds", "0"]
    lines: list[str] = []
    script.main(["search", "--generations", "1", "--population", "3", "--images", "10", *kwargs], lines.append)
    saved = load_parameters(tmp_path / "pair_rule__0.json")
    assert saved.seed == 0 and saved.inhibitory is None and (tmp_path / "search_0.csv").exists()
    first = next(csv.DictReader((tmp_path / "search_0.csv").open()))
    assert float(first["a_post"]) == pytest.approx(1.0)  # Diehl–Cook STDP at η = 0.01
    script.main(["search", "--generations", "1", "--population", "3", "--images", "10", *kwargs,
                 "--start", "a_post=0.1,a_pre=0.001"], lines.append)
    first = next(csv.DictReader((tmp_path / "search_0.csv").open()))
    assert (float(first["a_post"]), float(first["a_pre"])) == pytest.approx((0.1, 0.001))
    assert float(first["tau_pre"]) == pytest.approx(20.0)  # the parameters not named keep Diehl–Cook's values
    sizes = ["--plast-images", "10", "--assign-images", "20", "--test-images", "20"]
    script.main(["evaluate", *sizes, *kwargs, "--fixed", "a_post=3,mu=0.5"], lines.append)
    script.main(["summary", "--out", str(tmp_path)], lines.append)
    for rule in ("pair_rule", "zero", "fixed:a_post=3,mu=0.5"):
        assert f"| {rule} |" in lines[-1]
    assert "≥ STDP on" in lines[-1]


def test_script_evaluates_every_seeds_rule_on_other_networks_paired_with_stdp(tmp_path):
    kwargs = ["--env-kwargs", *[f"{k}:{v}" for k, v in TINY.items()], "--out", str(tmp_path)]
    save_parameters(tmp_path / "pair_rule__0", STRONG, seed=0)
    save_parameters(tmp_path / "pair_rule__1", PairRuleParameters(), seed=1)  # STDP's values
    sizes = ["--plast-images", "10", "--assign-images", "20", "--test-images", "20"]
    lines: list[str] = []
    script.main(["evaluate", "--seeds", "0", "1", "--networks", "7", "8", "--rules", "pair_rule", "stdp", *sizes,
                 *kwargs], lines.append)
    rows = list(csv.DictReader((tmp_path / "evaluation_networks.csv").open()))
    assert [(r["rule"], r["seed"], r["network"]) for r in rows[:3]] == [
        ("pair_rule", "0", "7"), ("pair_rule", "1", "7"), ("stdp", "-", "7")]
    assert rows[1]["accuracy"] == rows[2]["accuracy"] != rows[0]["accuracy"]  # STDP's values on the same network
    assert len(rows) == 6 and not (tmp_path / "evaluation.csv").exists()
    script.main(["summary", "--out", str(tmp_path)], lines.append)
    assert "| pair_rule of seed 1 | 2 |" in lines[-1] and "+0.000, ≥ STDP on 2/2" in lines[-1]
    assert "| pair_rule, every seed | 4 |" in lines[-1]


def test_script_selects_the_best_search_candidates_on_fresh_networks(tmp_path):
    kwargs = ["--env-kwargs", *[f"{k}:{v}" for k, v in TINY.items()], "--out", str(tmp_path), "--seeds", "0"]
    lines: list[str] = []
    script.main(["search", "--generations", "1", "--population", "3", "--images", "10", *kwargs], lines.append)
    searched = [r for r in csv.DictReader((tmp_path / "search_0.csv").open()) if r["phase"] == "search"]
    script.main(["select", "--finalists", "2", "--select-networks", "2", "--images", "10", *kwargs], lines.append)
    rows = list(csv.DictReader((tmp_path / "select_0.csv").open()))
    best_two = sorted(searched, key=lambda r: -float(r["fitness"]))[:2]
    assert [float(r["a_post"]) for r in rows] == pytest.approx([float(r["a_post"]) for r in best_two])
    assert all(r["networks"] == "1200 1201" and len(r["per_network"].split()) == 2 for r in rows)
    chosen = max(rows, key=lambda r: float(r["fitness"]))
    saved = load_parameters(tmp_path / "pair_rule_selected__0.json")
    assert dataclasses.asdict(saved.params) == pytest.approx({k: float(chosen[k]) for k in dataclasses.asdict(saved.params)})
    assert load_parameters(tmp_path / "pair_rule__0.json").seed == 0  # the search's own choice stays
    sizes = ["--plast-images", "10", "--assign-images", "20", "--test-images", "20"]
    script.main(["evaluate", "--networks", "7", "--rules", "pair_rule", "pair_rule_selected", "stdp", *sizes, *kwargs],
                lines.append)
    script.main(["summary", "--out", str(tmp_path)], lines.append)
    assert "| pair_rule_selected of seed 0 | 1 |" in lines[-1] and "| pair_rule of seed 0 | 1 |" in lines[-1]
    with pytest.raises(FileNotFoundError, match="search_1.csv"):
        script.main(["select", *kwargs[:-1], "1"], lines.append)


def test_select_scores_every_candidate_on_the_same_networks_and_needs_some():
    config, data = tiny_setup()
    chosen, rows = select([PairRuleParameters(), STRONG], config, data, 20, [3, 4])
    assert [len(r["per_network"].split()) for r in rows] == [2, 2]
    assert rows[1]["per_network"].split()[0] == f"{fitness(STRONG, config, data, 20, seed=3):.4f}"
    assert chosen == (STRONG if rows[1]["fitness"] > rows[0]["fitness"] else PairRuleParameters())
    with pytest.raises(ValueError, match="at least one candidate and one network"):
        select([STRONG], config, data, 20, [])


def test_script_ranks_label_free_statistics_against_accuracy_on_the_same_runs(tmp_path):
    kwargs = ["--env-kwargs", *[f"{k}:{v}" for k, v in TINY.items()], "--out", str(tmp_path), "--seeds", "0"]
    save_parameters(tmp_path / "pair_rule__0", STRONG, seed=0)
    save_parameters(tmp_path / "pair_rule_selected__0", STRONG, seed=0)  # the same rule under a second name
    sizes = ["--plast-images", "12", "--assign-images", "20", "--test-images", "20"]
    lines: list[str] = []
    rules = ["pair_rule", "pair_rule_selected", "stdp", "zero"]
    script.main(["evaluate", "--networks", "7", "8", "--rules", *rules, *sizes, *kwargs], lines.append)
    script.main(["rank", "--networks", "8", *sizes, *kwargs], lines.append)
    rows = list(csv.DictReader((tmp_path / "candidates_networks.csv").open()))
    assert [(r["rule"], r["network"]) for r in rows] == [("pair_rule", "8"), ("stdp", "8"), ("zero", "8")]
    assert all(r["accuracy"] == r["accuracy_earlier"] for r in rows)  # the same runs, repeated exactly
    assert float(rows[2]["diversity"]) >= 0 and rows[0]["discrimination_late"] != ""
    assert "| `discrimination` |" in lines[-1] and "3 runs on networks 8" in lines[-1]
    script.main(["summary", "--out", str(tmp_path)], lines.append)
    assert "ρ within a network (mean)" in lines[-1]


def test_rank_summary_marks_undefined_correlations_instead_of_warning(tmp_path):
    names = [f"{n}{ending}" for n in script.RANKED for ending in ("", "_late")]
    rows = [dict(network=network, accuracy=accuracy, **{n: value for n in names})
            for network, accuracy, value in [("1", 0.3, 1.0), ("1", 0.4, 2.0), ("2", 0.5, 5.0), ("2", 0.6, 5.0)]]
    with (tmp_path / "candidates.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert np.isnan(script.rank_correlation(np.array([5.0, 5.0]), np.array([0.5, 0.6])))
    assert script.rank_correlation(np.array([1.0, 2.0, 5.0]), np.array([0.3, 0.4, 0.5])) == pytest.approx(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SciPy's constant-input warning would fail here
        table = script.rank_summary(tmp_path / "candidates.csv")
    assert "| `discrimination` | +0.95 | +1.00 |" in table  # network 2 (constant) left out of the mean
    assert "nan" not in table


def test_script_searches_the_inhibitory_rule_beside_the_seeds_input_rule(tmp_path):
    kwargs = ["--env-kwargs", *[f"{k}:{v}" for k, v in TINY.items()], "--out", str(tmp_path), "--seeds", "1"]
    save_parameters(tmp_path / "pair_rule__1", STRONG, seed=1)
    lines: list[str] = []
    search = ["search", "--generations", "1", "--population", "2", "--images", "10"]
    script.main([*search, "--scenario", "unsup_dual", *kwargs], lines.append)
    saved = load_parameters(tmp_path / "pair_rule_dual__1.json")
    assert saved.params == STRONG and isinstance(saved.inhibitory, PairRuleParameters)
    first = next(csv.DictReader((tmp_path / "search_dual_1.csv").open()))
    assert float(first["a_post"]) == pytest.approx(1.0) and float(first["tau_pre"]) == pytest.approx(20.0)  # STDP's
    assert not (tmp_path / "search_1.csv").exists()
    sizes = ["--plast-images", "10", "--assign-images", "20", "--test-images", "20"]
    script.main(["evaluate", "--scenario", "unsup_dual", "--rules", "pair_rule", "stdp", *sizes, *kwargs], lines.append)
    rows = list(csv.DictReader((tmp_path / "evaluation_dual.csv").open()))
    assert [r["rule"] for r in rows] == ["pair_rule", "stdp"]
    with pytest.raises(FileNotFoundError):  # no input→E rule for seed 2
        script.main([*search, "--scenario", "unsup_dual", *kwargs[:-1], "2"], lines.append)


def test_fitness_of_an_inhibitory_rule_depends_on_it():
    config, data = tiny_setup(w_inh_init=-3.0, w_min_inh=-6.0)  # inhibition weak enough for I→E changes to matter
    frozen = fitness(STRONG, config, data, 30, seed=5)
    assert fitness(PairRuleParameters(a_post=1e-3, a_pre=1e-4), config, data, 30, seed=5, excitatory=STRONG) == (
        pytest.approx(frozen, abs=0.05)
    )
    assert fitness(INHIBITORY, config, data, 30, seed=5, excitatory=STRONG) != frozen


@pytest.mark.parametrize("argv, message", [
    (["search", "--images", "0"], "--images"),
    (["rank"], "rank needs --networks"),
    (["select", "--finalists", "0"], "--finalists"),
    (["select", "--select-networks", "-1"], "--select-networks"),
    (["evaluate", "--fixed", "a_post=3,speed=2"], "--fixed 'a_post=3,speed=2' is not valid"),
    (["evaluate", "--fixed", "a_pre=-1"], "a_pre=-1.0 is not allowed"),
    (["search", "--start", "a_post=fast"], "--start 'a_post=fast' is not valid"),
])
def test_script_rejects_bad_arguments_naming_them(argv, message, capsys):
    with pytest.raises(SystemExit):
        script.main(argv)
    assert message in capsys.readouterr().err


def test_learning_protocol_loads_the_pair_rule_of_each_seed(tmp_path):
    from eval.experiments.synapse_learning import parse_args, reference_rule

    env = gym.make("SynapseUnsupSingle-v0", **TINY)
    save_parameters(tmp_path / "pair_rule__4", STRONG, seed=4)
    args = parse_args(["--scenario", "unsup_single", "--rules", "pair_rule", "--rule-params",
                       str(tmp_path / "pair_rule__{seed}.json")])
    assert reference_rule("pair_rule", env, 4, args.rule_params).params == STRONG
    assert reference_rule("pair_rule", env, 4).params == PairRuleParameters()  # no file: Diehl–Cook's values
    with pytest.raises(FileNotFoundError):
        reference_rule("pair_rule", env, 5, args.rule_params)


def test_multi_agent_experiment_shares_the_pair_rule_of_each_seed(tmp_path, capsys):
    from eval.experiments import synapse_multi

    save_parameters(tmp_path / "pair_rule__2", STRONG, seed=2)
    args = synapse_multi.parse_args(["--size", "tiny", "--rules", "pair_rule", "zero", "--rule-params",
                                     str(tmp_path / "pair_rule__{seed}.json")])
    assert synapse_multi.build_rule("pair_rule", 2, args).params == STRONG
    with pytest.raises(SystemExit):
        synapse_multi.parse_args(["--rules", "hebb"])
    assert "allowed: shared, per_group, stdp, pair_rule, zero, random" in capsys.readouterr().err


def test_multi_agent_experiment_gives_each_group_agent_its_own_rule_from_a_two_rule_file(tmp_path):
    from envs.synapse_multi.env import parallel_env
    from envs.synapse_multi.vec_adapter import make_parallel_vec_env
    from eval.experiments import synapse_multi

    save_parameters(tmp_path / "pair_rule__0", STRONG, seed=0, inhibitory=INHIBITORY)
    args = synapse_multi.parse_args(["--size", "tiny", "--rules", "pair_rule", "--rule-params",
                                     str(tmp_path / "pair_rule__{seed}.json")])
    agent = synapse_multi.build_rule("pair_rule", 0, args)
    assert (agent.params, agent.inhibitory) == (STRONG, INHIBITORY)
    vec_env = make_parallel_vec_env(parallel_env, 1, 0, **synapse_multi.env_kwargs(args))
    excitatory_only = PairRuleAgent(vec_env, params=STRONG)
    inhibitory_everywhere = PairRuleAgent(vec_env, params=INHIBITORY, inhibitory=INHIBITORY)
    groups = [name.startswith("inh") for name in vec_env.agents]
    assert any(groups) and not all(groups)
    obs, inhibitory_acted = vec_env.reset(), False
    for _ in range(100):  # steps of the network until the I→E agent's rows hold events
        actions, _ = agent.predict(obs, deterministic=True)
        for i, inhibitory in enumerate(groups):
            reference = (inhibitory_everywhere if inhibitory else excitatory_only).predict(obs[i : i + 1])[0][0]
            np.testing.assert_allclose(actions[i], reference)
        inhibitory_acted = np.abs(actions[groups.index(True)]).max() > 0
        if inhibitory_acted:
            break
        obs, *_ = vec_env.step(np.zeros_like(actions))
    assert inhibitory_acted  # the I→E agent's own rule acts (a one-rule file keeps I→E fixed)


def test_stdp_changes_the_same_weights_through_unsup_single_and_unsup_dual():
    """STDP keeps I→E fixed, so the second policy's scenario changes nothing: one STDP run serves both."""
    weights, initial = {}, {}
    for scenario in ("unsup_single", "unsup_dual"):
        env = gym.make(SCENARIO_IDS[scenario], **{k: v for k, v in tiny_kwargs(scenario).items() if k != "scenario"})
        agent, (obs, _) = make_agent("stdp", env, seed=0), env.reset(seed=3)
        groups = env.unwrapped.scenario.network.groups
        initial[scenario] = [group.weight.clone() for group in groups]
        for _ in range(60):
            action, _ = agent.predict(obs, deterministic=True)
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
        weights[scenario] = [group.weight.clone() for group in env.unwrapped.scenario.network.groups]
    changed = [not torch.equal(w, w0) for w, w0 in zip(weights["unsup_dual"], initial["unsup_dual"], strict=True)]
    assert changed == [True, False]  # input→E learns, I→E stays
    for single, dual in zip(weights["unsup_single"], weights["unsup_dual"], strict=True):
        assert torch.equal(single, dual)
