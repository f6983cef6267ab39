"""Stateful spiking perception: membranes carried across env steps, reset at episode start, replayed in training,
saved with the model and resumed exactly."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure

import envs  # noqa: F401
from agents.hyperparams import load_hyperparams, resolve_hyperparams
from agents.registry import make_agent
from agents.scal.callbacks import SCALCallback
from agents.scal.stateful import SCALRecurrentPolicy, SCALRecurrentPPO, StatefulSCALPerception
from train.run import main

ENV_KWARGS = {"bits_per_variable": 16, "flip_prob": 0.2}  # 64 bits


def make_model(seed: int = 0) -> SCALRecurrentPPO:
    """scal_rl_stateful's NoisyCartPole values on 2 small envs, 16-step rollouts."""
    hyperparams = resolve_hyperparams(load_hyperparams("scal_rl_stateful", "NoisyCartPole-v0"))
    for key in ("n_timesteps", "n_envs", "callback", "env_wrapper"):
        hyperparams.pop(key)
    hyperparams.update(n_steps=16, batch_size=32, n_epochs=2)
    env = make_vec_env("NoisyCartPole-v0", n_envs=2, seed=seed, env_kwargs=ENV_KWARGS)
    return make_agent("scal_rl_stateful", env, hyperparams, seed=seed)


def observation_sequence(n: int = 6) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 2, (n, 2, 64), dtype=np.int8)


def test_the_membrane_carries_over_steps_and_episode_start_resets_it():
    model = make_model()
    first, second = observation_sequence(2)
    _, state = model.predict(first, episode_start=np.ones(2, bool))
    assert np.abs(state[0]).sum() > 0  # the membranes charged
    _, carried = model.predict(second, state=state, episode_start=np.zeros(2, bool))
    _, fresh = model.predict(second, episode_start=np.ones(2, bool))
    _, restarted = model.predict(second, state=state, episode_start=np.ones(2, bool))
    assert not np.allclose(carried[0], fresh[0])  # what came before changes the membrane now
    np.testing.assert_array_equal(restarted[0], fresh[0])
    np.testing.assert_array_equal(restarted[1], fresh[1])


def test_the_membrane_is_a_leaky_integrator_of_the_currents():
    perception = StatefulSCALPerception(gym.spaces.MultiBinary(64), n_frames=1, n_steps=1, n_components=0,
                                        projection_dim=8, n_prototypes=4, decay=0.8, trace_decay=0.5).eval()
    perception.running_thresholds.fill_(100.0)  # no spikes: v is the leaky sum of the currents
    state = perception.initial_state(1)
    currents = [torch.full((1, 4), value) for value in (1.0, 2.0, 0.0)]
    expected_v = 0.0
    for current in currents:
        features, state = perception.integrate(current, state)
        expected_v = 0.8 * expected_v + 0.2 * current
        torch.testing.assert_close(state.v, expected_v)
    torch.testing.assert_close(features[:, 4:8], expected_v / perception.gain)  # the mean potential feature


def collect_one_rollout(model: SCALRecurrentPPO) -> None:
    _, callback = model._setup_learn(model.n_steps * model.n_envs, callback=None)
    callback.on_training_start(locals(), globals())
    model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)


def test_training_replays_the_stored_states_over_each_sequence():
    model = make_model()
    collect_one_rollout(model)
    buffer = model.rollout_buffer
    assert np.abs(buffer.hidden_states_pi).sum() > 0 and buffer.episode_starts.sum() > 0
    model.policy.set_training_mode(False)  # no adaptation: the replay must give the rollout's probabilities
    replayed = 0
    with torch.no_grad():
        for data in buffer.get(batch_size=32):
            _, log_prob, _ = model.policy.evaluate_actions(
                data.observations, data.actions.long().flatten(), data.lstm_states, data.episode_starts
            )
            mask = data.mask > 1e-8
            torch.testing.assert_close(log_prob[mask], data.old_log_prob[mask], atol=1e-5, rtol=1e-5)
            replayed += int(mask.sum())
    assert replayed == 32


def test_training_adapts_the_perception_and_logs_scal_keys(tmp_path):
    model = make_model()
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(64, callback=SCALCallback())
    perception = model.policy.scal_perception
    assert not torch.equal(perception.running_thresholds, torch.ones_like(perception.running_thresholds))
    assert float(perception.running_drift) > 0
    log = pd.read_csv(tmp_path / "progress.csv")
    assert {"scal/spike_rate", "scal/threshold_mean", "scal/memory_size"} <= set(log.columns)
    assert log["scal/memory_size"].iloc[-1] == 64


def test_same_seed_same_training():
    first = make_model(seed=4).learn(64)  # one after the other: SB3 seeds the global generators at construction
    second = make_model(seed=4).learn(64)
    expected, actual = first.policy.state_dict(), second.policy.state_dict()
    assert all(torch.equal(expected[key], actual[key]) for key in expected)


def test_save_and_load_keep_the_perception_and_the_running_states(tmp_path):
    model = make_model()
    model.learn(64)
    model.save(tmp_path / "model")
    loaded = SCALRecurrentPPO.load(tmp_path / "model")
    assert isinstance(loaded.policy, SCALRecurrentPolicy)
    expected, actual = model.policy.state_dict(), loaded.policy.state_dict()
    assert expected.keys() == actual.keys() and all(torch.equal(expected[k], actual[k]) for k in expected)
    for saved, restored in zip(model._last_lstm_states.pi, loaded._last_lstm_states.pi, strict=True):
        assert torch.equal(saved, restored) and saved.abs().sum() > 0
    state, loaded_state = None, None
    for step, obs in enumerate(observation_sequence()):
        starts = np.full(2, step == 0)
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        loaded_action, loaded_state = loaded.predict(obs, state=loaded_state, episode_start=starts, deterministic=True)
        np.testing.assert_array_equal(action, loaded_action)
        np.testing.assert_array_equal(state[0], loaded_state[0])


def test_a_checkpoint_keeps_the_membranes_of_running_episodes(tmp_path):
    """What exact resume needs beyond SB3's save (the resume itself: tests/test_continuous.py)."""
    argv = ["--agent", "scal_rl_stateful", "--verbose", "0", "--no-tensorboard", "--eval-freq", "0",
            "--final-eval-episodes", "1", "--env-kwargs", "bits_per_variable:16", "-n", "256", "--steps", "64",
            "--n-envs", "2", "-params", "n_steps:32", "batch_size:32", "n_epochs:1", "-f", str(tmp_path)]
    checkpoint = Path(main(argv)["checkpoint"])
    loaded = SCALRecurrentPPO.load(checkpoint / "model.zip")
    membranes = loaded._last_lstm_states.pi[0]
    assert membranes.shape == (1, 2, 64) and membranes.abs().sum() > 0


def test_unpooled_inputs_pass_through_the_membrane():
    perception = StatefulSCALPerception(gym.spaces.MultiBinary(68), n_frames=1, n_components=0, projection_dim=8,
                                        n_prototypes=4, n_unpooled=4).eval()
    bits = np.random.default_rng(0).integers(0, 2, (3, 68))
    currents = perception(torch.as_tensor(bits, dtype=torch.int8))
    assert currents.shape == (3, perception.features_dim) == (3, 4 + 4)
    features, _ = perception.integrate(currents, perception.initial_state(3))
    assert features.shape == (3, perception.state_features_dim) == (3, 3 * 4 + 4)
    assert features[:, -4:].tolist() == (2 * bits[:, 64:] - 1).tolist()


@pytest.mark.parametrize(
    "kwargs, match",
    [({"use_lif": False}, "use_lif=False"), ({"trace_decay": 1.0}, "trace_decay=1.0"),
     ({"frame_features": True}, "frame_features=True")],
)
def test_stateful_perception_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StatefulSCALPerception(gym.spaces.MultiBinary(64), **kwargs)


def test_the_policy_rejects_a_shared_or_missing_critic_membrane():
    env = make_vec_env("NoisyCartPole-v0", n_envs=1, env_kwargs=ENV_KWARGS)
    with pytest.raises(ValueError, match="shared_lstm=True"):
        SCALRecurrentPPO(SCALRecurrentPolicy, env, policy_kwargs={"shared_lstm": True})
