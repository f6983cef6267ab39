"""eval/experiments/scal_report.py: the committed sweep records alone reproduce the tables once the run folders are gone."""

from __future__ import annotations

import shutil

import pytest

from eval.experiments import scal_report, scal_sweep
from eval.tables import summarize


@pytest.fixture
def runs(tmp_path):
    out = tmp_path / "runs.jsonl"
    scal_sweep.main(["--agents", "random", "--flips", "0.45", "0.0", "--seeds", "0", "1", "-n", "200",
                     "--eval-freq", "0", "--final-eval-episodes", "2", "-f", str(tmp_path / "logs"), "--out", str(out)])  # fmt: skip
    return out


def test_records_without_their_run_folders_give_the_same_tables(runs, tmp_path):
    from_folders = scal_report.load_records(runs)
    shutil.rmtree(tmp_path / "logs")
    from_lines = scal_report.load_records(runs)
    assert from_lines == from_folders
    assert len(from_lines) == 4
    assert summarize(from_lines, threshold=195).equals(summarize(from_folders, threshold=195))


def test_an_older_record_without_a_curve_keeps_its_steps_to_threshold():
    line = {"env": "NoisyCartPole-v0", "agent": "scal_rl", "seed": 0, "n_timesteps": 20000, "flip_prob": 0.4,
            "timesteps": 20224, "eval_mean": 190.0, "eval_std": 5.0, "eval_episodes": 10, "train_seconds": 60.0,
            "fps": 337.0, "run_dir": "logs/gone", "steps_to_threshold": 12000}  # fmt: skip
    reached = summarize([scal_report.record_from_line(line)], threshold=195).iloc[0]
    assert (reached["seeds_reaching_threshold"], reached["median_steps_to_threshold"]) == (1, 12000)
    never = summarize([scal_report.record_from_line({**line, "steps_to_threshold": None})], threshold=195).iloc[0]
    assert never["seeds_reaching_threshold"] == 0
