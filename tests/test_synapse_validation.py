"""Validation of learned plasticity rules on a split of the training images (agents/synapse/validation.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

import envs  # noqa: F401
from agents.synapse.policy import SynapsePolicy
from agents.synapse.validation import SynapseValidationCallback, run_rule, transfer, validation_env
from envs.synapse.config import tiny_kwargs

KWARGS = {**tiny_kwargs("semi"), "third_factor": "teacher"}  # 300 training and 100 test images


def test_validation_images_are_the_last_training_images_and_never_test_images():
    data = gym.make("SynapseSemi-v0", **KWARGS).unwrapped.data
    val = validation_env("SynapseSemi-v0", KWARGS, n_val=50).unwrapped.data
    np.testing.assert_array_equal(val.train_x, data.train_x[:250])
    np.testing.assert_array_equal(val.test_x, data.train_x[250:])
    np.testing.assert_array_equal(val.test_y, data.train_y[250:])
    with pytest.raises(ValueError, match="n_val=300 is invalid; allowed: 1..299"):
        validation_env("SynapseSemi-v0", KWARGS, n_val=300)


def test_callback_validates_every_eval_freq_and_keeps_the_best_rule(tmp_path):
    env = gym.make("SynapseSemi-v0", **KWARGS)
    model = PPO(SynapsePolicy, env, n_steps=32, batch_size=32, n_epochs=1, learning_rate=3e-3, seed=0)
    callback = SynapseValidationCallback(
        "SynapseSemi-v0", KWARGS, eval_freq=64, plast_images=3, n_val=40, seed=5, best_model_path=tmp_path / "best.zip"
    )
    model.learn(192, callback=callback)
    assert [steps for steps, _ in callback.history] == [64, 128, 192]
    accuracies = [accuracy for _, accuracy in callback.history]
    assert callback.best_accuracy == max(accuracies) > accuracies[-1]  # in this run the best rule is not the last
    # the saved rule is the first with the best accuracy, and the protocol reproduces that accuracy exactly
    best = PPO.load(tmp_path / "best.zip", device="cpu")
    again = validation_env("SynapseSemi-v0", KWARGS, n_val=40)
    run_rule(transfer(best, again), again, seed=5, images=3)
    assert again.unwrapped.evaluate(40) == callback.best_accuracy
    with pytest.raises(ValueError, match="eval_freq=0 is invalid"):
        SynapseValidationCallback("SynapseSemi-v0", KWARGS, 0, 3, 40, 5, tmp_path / "x.zip")


def test_learning_protocol_tests_the_rule_with_the_best_validation_accuracy(tmp_path, monkeypatch):
    import eval.experiments.synapse_learning as protocol

    chosen = []
    real_load = protocol.load_agent
    monkeypatch.setattr(protocol, "load_agent", lambda *a, **k: chosen.append(a[1]) or real_load(*a, **k))
    args = protocol.parse_args(
        ["--scenario", "semi", "--size", "small", "--validate-every", "256", "--val-images", "20",
         "--train-steps", "256", "-params", "n_epochs:1", "--plast-images", "2", "--test-images", "20",
         "--save-models", str(tmp_path)]
    )  # fmt: skip
    row = protocol.evaluate(args, "ppo", "teacher", seed=0)
    assert chosen == [str(tmp_path / "semi__ppo__teacher__0__best.zip")]
    assert row["train_steps"] == 256 and 0.0 <= row["accuracy"] <= 1.0


def test_learning_protocol_restarts_train_from_other_seeds_and_test_the_best_validated(tmp_path, monkeypatch):
    import eval.experiments.synapse_learning as protocol

    callbacks, chosen = [], []
    real_callback, real_load = protocol.SynapseValidationCallback, protocol.load_agent
    monkeypatch.setattr(
        protocol, "SynapseValidationCallback", lambda *a, **k: callbacks.append(real_callback(*a, **k)) or callbacks[-1]
    )
    monkeypatch.setattr(protocol, "load_agent", lambda *a, **k: chosen.append(a[1]) or real_load(*a, **k))
    argv = ["--scenario", "semi", "--size", "small", "--validate-every", "128", "--val-images", "20",
            "--train-steps", "256", "-params", "n_epochs:1", "--plast-images", "2", "--test-images", "20",
            "--save-models", str(tmp_path)]  # fmt: skip
    protocol.evaluate(protocol.parse_args([*argv, "--restarts", "3"]), "ppo", "teacher", seed=0)
    names = [callback.best_model_path.name for callback in callbacks]
    assert names == [f"semi__ppo__teacher__0{suffix}__best.zip" for suffix in ("", "__r1", "__r2")]
    best = max(callbacks, key=lambda callback: callback.best_accuracy)  # the first of equals, as the protocol
    assert chosen == [str(best.best_model_path)]
    weights = [PPO.load(tmp_path / name, device="cpu").policy.parameters_to_vector() for name in names]
    assert not np.array_equal(weights[0], weights[1]) and not np.array_equal(weights[1], weights[2])
    # a restart run on its own (another process) repeats that restart exactly
    protocol.evaluate(protocol.parse_args([*argv, "--restarts", "1", "--first-restart", "2"]), "ppo", "teacher", 0)
    assert callbacks[-1].history == callbacks[2].history


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--restarts", "0", "--validate-every", "100"], "--restarts 0 / --first-restart 0: allowed >= 1 / >= 0"),
        (["--restarts", "2"], "choose among rules by validation: add --validate-every"),
        (["--first-restart", "1"], "choose among rules by validation: add --validate-every"),
        (["--validate-every", "-5"], "--validate-every -5 / --val-images 200: allowed >= 0 / >= 1"),
        (["--validate-every", "100", "--val-images", "0"], "--validate-every 100 / --val-images 0: allowed"),
        (["--validate-every", "100", "--load-models", "x_{seed}.zip"], "cannot be used with --load-models"),
    ],
)
def test_learning_protocol_rejects_invalid_validation_arguments(argv, message, capsys):
    import eval.experiments.synapse_learning as protocol

    with pytest.raises(SystemExit) as exit_info:
        protocol.parse_args(["--scenario", "semi", *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
