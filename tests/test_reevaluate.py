"""eval/reevaluate.py: a finished run's model played again over more episodes, on seeded evaluation envs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import reevaluate
from train.run import main as train_main


def test_a_run_is_evaluated_over_the_asked_episodes_the_same_way_twice(tmp_path, capsys):
    summary = train_main(["--agent", "ppo", "-n", "128", "--n-envs", "2", "-params", "n_steps:64", "batch_size:64",
                          "n_epochs:1", "--env-kwargs", "bits_per_variable:16", "flip_prob:0.1", "-f", str(tmp_path),
                          "--eval-freq", "0", "--final-eval-episodes", "3", "--no-tensorboard", "--verbose", "0"])  # fmt: skip
    capsys.readouterr()  # training's own output
    reevaluate.main([summary["run_dir"], "--episodes", "5"])
    record = json.loads(capsys.readouterr().out)
    assert len(record["returns"]) == 5 and record["mean"] == pytest.approx(sum(record["returns"]) / 5)
    assert len(set(record["returns"])) > 1  # different episodes, not one replayed
    assert reevaluate.reevaluate(Path(summary["run_dir"]), 5) == record  # seeded: the same episodes again


def test_the_best_model_plays_on_shifted_seeds_and_the_shift_changes_the_episodes(tmp_path, capsys):
    summary = train_main(["--agent", "ppo", "-n", "256", "--n-envs", "2", "-params", "n_steps:64", "batch_size:64",
                          "n_epochs:1", "--env-kwargs", "bits_per_variable:16", "flip_prob:0.1", "-f", str(tmp_path),
                          "--eval-freq", "128", "--eval-episodes", "2", "--final-eval-episodes", "1",
                          "--no-tensorboard", "--verbose", "0"])  # fmt: skip
    run_dir = Path(summary["run_dir"])
    capsys.readouterr()
    reevaluate.main([str(run_dir), "--episodes", "4", "--model", "best_model.zip", "--seed-shift", "500000"])
    record = json.loads(capsys.readouterr().out)
    assert record["model"] == "best_model.zip" and record["seed_shift"] == 500_000 and len(record["returns"]) == 4
    unshifted = reevaluate.reevaluate(run_dir, 4, "best_model.zip")
    assert unshifted["returns"] != record["returns"]  # other episodes


def test_stochastic_play_samples_actions_instead_of_taking_the_most_likely(tmp_path, capsys):
    summary = train_main(["--agent", "ppo", "-n", "128", "--n-envs", "2", "-params", "n_steps:64", "batch_size:64",
                          "n_epochs:1", "-f", str(tmp_path), "--eval-freq", "0", "--final-eval-episodes", "1",
                          "--no-tensorboard", "--verbose", "0"])  # fmt: skip
    capsys.readouterr()
    reevaluate.main([summary["run_dir"], "--episodes", "5", "--stochastic"])
    sampled = json.loads(capsys.readouterr().out)
    greedy = reevaluate.reevaluate(Path(summary["run_dir"]), 5)
    assert sampled["deterministic"] is False and greedy["deterministic"] is True
    # an almost untrained policy: its most likely action is nearly always the same one, sampling is not
    assert sampled["returns"] != greedy["returns"]


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model.zip"):
        reevaluate.reevaluate(Path(tmp_path), 5)


def test_a_negative_seed_shift_and_an_unknown_model_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        reevaluate.main([str(tmp_path), "--seed-shift", "-1"])
    assert "--seed-shift -1: must be >= 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        reevaluate.main([str(tmp_path), "--model", "last.zip"])
    assert "best_model.zip" in capsys.readouterr().err


def test_episodes_below_one_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        reevaluate.main([str(tmp_path), "--episodes", "0"])
    assert "--episodes 0: must be >= 1" in capsys.readouterr().err
