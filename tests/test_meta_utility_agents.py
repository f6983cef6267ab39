"""MetaUtility baselines: behaviour on the env, matched budgets, registry and train/run.py integration."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

from agents.meta_utility import AllBlocksAgent, ConfidenceExitAgent, RandomSkipAgent
from agents.registry import get_entry, load_agent, make_agent
from envs.meta_utility.env import MetaUtilityEnv
from eval.experiments.meta_utility_evaluate import evaluate, oracle_cheapest_correct


@pytest.fixture(scope="module")
def env() -> MetaUtilityEnv:
    return MetaUtilityEnv(eta=0.1, split="test")


def test_all_blocks_is_the_full_model(env):
    from envs.meta_utility.training import read_record

    row = evaluate(AllBlocksAgent(env), env)
    assert row["blocks_run"] == env.n_blocks and row["block_share"] == 1.0
    assert row["accuracy"] == pytest.approx(read_record()["accuracy"]["test"])


def test_random_skip_spends_the_budget_it_is_given(env):
    row = evaluate(RandomSkipAgent(env, seed=0, keep_prob=0.5), env, n_inputs=400)
    assert row["block_share"] == pytest.approx(0.5, abs=0.03)
    again = evaluate(RandomSkipAgent(env, seed=0, keep_prob=0.5), env, n_inputs=400)
    assert again == row  # same seed, same coin flips
    assert evaluate(RandomSkipAgent(env, seed=0, keep_prob=0.0), env, n_inputs=50)["blocks_run"] == 0


def test_confidence_exit_trades_accuracy_for_flops_monotonically(env):
    rows = [evaluate(ConfidenceExitAgent(env, threshold=t), env, n_inputs=300) for t in (0.0, 0.9, 0.999, 1.0)]
    saved = [r["flops_saved"] for r in rows]
    assert saved == sorted(saved, reverse=True)
    assert rows[0]["blocks_run"] == 0
    assert rows[2]["accuracy"] > rows[0]["accuracy"] + 0.3  # the stem alone is far worse


def test_confidence_exit_never_runs_a_block_after_exiting(env):
    agent = ConfidenceExitAgent(env, threshold=0.95)
    for index in range(50):
        obs, _ = env.reset(options={"index": index})
        actions, terminated = [], False
        while not terminated:
            action, _ = agent.predict(obs)
            actions.append(int(action))
            obs, _, terminated, _, _ = env.step(action)
        assert actions == sorted(actions, reverse=True)  # 1…1 0…0: run until confident, then exit


def test_baselines_act_on_batched_vecenv_observations():
    vec = make_vec_env("MetaUtility-v0", n_envs=3, seed=0)
    obs = vec.reset()
    for agent in (AllBlocksAgent(vec), RandomSkipAgent(vec, seed=1), ConfidenceExitAgent(vec, threshold=0.5)):
        actions, _ = agent.predict(obs)
        assert actions.shape == (3,) and set(actions.tolist()) <= {0, 1}


def test_oracle_is_at_least_as_accurate_and_cheaper_than_every_static_policy(env):
    oracle = oracle_cheapest_correct(env)
    for agent in (AllBlocksAgent(env), ConfidenceExitAgent(env, threshold=0.99)):
        row = evaluate(agent, env)
        assert oracle["accuracy"] >= row["accuracy"] and oracle["flops_saved"] > row["flops_saved"]


@pytest.mark.parametrize(
    ("name", "kwargs"), [("random_skip", {"keep_prob": 1.5}), ("confidence_exit", {"threshold": -0.1})]
)
def test_invalid_parameters_raise_value_error(env, name, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        get_entry(name).resolve()(env, seed=0, **kwargs)


def test_confidence_exit_refuses_an_env_without_a_confidence_feature():
    import gymnasium as gym

    with pytest.raises(ValueError, match="feature_index"):
        ConfidenceExitAgent(gym.make("CartPole-v1"))


def test_registry_builds_saves_and_loads_the_baselines(env, tmp_path):
    agent = make_agent("confidence_exit", env, seed=0)
    agent.threshold = 0.97
    agent.save(tmp_path / "model")
    loaded = load_agent("confidence_exit", str(tmp_path / "model.zip"), env=env)
    assert isinstance(loaded, ConfidenceExitAgent) and loaded.threshold == 0.97


def test_train_run_trains_ppo_on_meta_utility(log_folder):
    from train.run import main

    summary = main(
        ["--env", "MetaUtility-v0", "--agent", "ppo", "-n", "512", "--n-envs", "2", "--eval-freq", "0"]
        + ["--save-freq", "0", "--final-eval-episodes", "5", "--no-tensorboard", "--verbose", "0", "-f", log_folder]
        + ["--env-kwargs", "eta:0.2"]
    )
    assert summary["timesteps"] >= 512
    assert np.isfinite(summary["eval_mean"]) and summary["eval_mean"] <= 0  # R = -L_task - η·cost ≤ 0
