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


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model.zip"):
        reevaluate.reevaluate(Path(tmp_path), 5)


def test_episodes_below_one_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        reevaluate.main([str(tmp_path), "--episodes", "0"])
    assert "--episodes 0: must be >= 1" in capsys.readouterr().err
