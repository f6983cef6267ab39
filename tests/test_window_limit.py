"""The imitation study of an agent's frame window (eval/experiments/noisy_cartpole_window_limit.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents.oracle import CartPoleOracle, WindowedCartPoleOracle
from eval.experiments import noisy_cartpole_window_limit as study


def test_the_oracle_keeps_the_estimate_it_acted_on() -> None:
    env = gym.make("NoisyCartPole-v0")
    observation, _ = env.reset(seed=0)
    oracle, state = CartPoleOracle(env), None
    for _ in range(5):
        action, state = oracle.predict(observation, state)
        np.testing.assert_array_equal(state["estimate"], state["mean"])
        assert (-state["estimate"] @ oracle.gain > 0).astype(int)[0] == action
        observation, *_ = env.step(action)


def test_recorded_windows_hold_the_frames_and_actions_the_agent_would_see() -> None:
    data, returns = study.run_episodes(window=3, seeds=[0, 1])
    assert len(returns) == 2 and len(data.states) == returns.sum()
    assert data.frames.shape == (len(data.states), 3, 256) and data.inputs().shape == (len(data.states), 3 * 256 + 3)
    first = int(returns[0])
    # without exploration the oracle's action is the one taken: it appears as the newest past action next step
    np.testing.assert_array_equal(data.past_actions[1:first, -1], data.oracle_actions[: first - 1])
    np.testing.assert_array_equal(data.frames[1:first, :-1], data.frames[: first - 1, 1:])  # the window slides
    assert not data.past_actions[first].any()  # a new episode starts with no past actions


def test_exploration_replaces_some_oracle_actions() -> None:
    data, _ = study.run_episodes(window=2, seeds=[0], explore=0.5, rng=np.random.default_rng(1))
    taken = data.past_actions[1:, -1]
    assert 0 < (taken != data.oracle_actions[:-1]).mean() < 0.5


def test_normalised_errors_are_zero_for_the_truth_and_one_for_the_mean() -> None:
    states = np.random.default_rng(0).normal(size=(500, 4)) * [1.0, 2.0, 0.1, 3.0]
    np.testing.assert_allclose(study.normalised_errors(states, states), 0.0)
    np.testing.assert_allclose(study.normalised_errors(np.broadcast_to(states.mean(0), states.shape), states), 1.0)


def test_an_imitating_policy_acts_like_the_oracle_it_learned_from() -> None:
    data, _ = study.run_episodes(window=2, seeds=range(4))
    policy = study.fit_imitation(data, hidden=0, epochs=20)
    agreement = np.mean([policy(x) == a for x, a in zip(data.inputs(), data.oracle_actions, strict=True)])
    assert agreement > 0.8


@pytest.mark.parametrize(("argv", "flag"), [(["--explore", "1.5"], "--explore"), (["--window", "0"], "--window"),
                                            (["--eval-episodes", "-1"], "--eval-episodes")])
def test_bad_arguments_name_the_flag(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        study.main(argv)
    assert flag in capsys.readouterr().err


def test_the_study_prints_one_row_per_method(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "limit.csv"
    table = study.main(["--window", "2", "--episodes", "2", "--eval-episodes", "1", "--out", str(out)])
    assert [row["method"] for row in table] == ["windowed oracle (W=2)", "ridge read-out of the window",
                                                 "logistic imitation", "MLP-64 imitation"]
    assert table[0]["return"].startswith("200.0") and table[1]["return"] == ""
    assert out.read_text().splitlines()[0].startswith("method,nrmse_x")
    assert "| windowed oracle (W=2) |" in capsys.readouterr().out


def test_the_windowed_oracle_is_what_records_the_steps() -> None:
    env = gym.make("NoisyCartPole-v0")
    data, returns = study.run_episodes(window=2, seeds=[5])
    oracle = WindowedCartPoleOracle(env, window=2)
    observation, _ = env.reset(seed=5)
    state = None
    for step in range(10):
        action, state = oracle.predict(observation, state)
        assert int(action) == data.oracle_actions[step]
        observation, *_ = env.step(action)


def test_the_population_code_appends_every_frames_per_variable_posterior() -> None:
    data, _ = study.run_episodes(window=2, seeds=[0])
    features = study.population_code(data, n_prototypes=5, gain=10.0)
    inputs = torch.as_tensor(data.inputs()[:7], dtype=torch.float32)
    out = features(inputs)
    assert out.shape == (7, inputs.shape[1] + 2 * 4 * 5)
    np.testing.assert_array_equal(out[:, : inputs.shape[1]].numpy(), inputs.numpy())
    np.testing.assert_allclose(out[:, inputs.shape[1]:].reshape(7, 2, 4, 5).sum(-1).numpy(), 1.0, rtol=1e-5)
