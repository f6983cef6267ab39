"""The label-free reward validation (eval/experiments/synapse_reward_validation.py) at the tests' size."""

from __future__ import annotations

import csv
import sys

import pytest
import torch

from envs.synapse.config import make_config, tiny_kwargs
from envs.synapse.data import load_digits_split
from eval.experiments import synapse_reward_validation as validation

TINY = {k: v for k, v in tiny_kwargs("unsup_single").items() if k != "scenario"}


def run_main(tmp_path, monkeypatch, *env_kwargs: str) -> dict:
    out = tmp_path / "validation.csv"
    kwargs = [f"{k}:{v}" for k, v in TINY.items()] + list(env_kwargs)
    argv = ["validation", "--rules", "stdp", "--seeds", "0", "--plast-images", "6", "--assign-images", "20",
            "--test-images", "20", "--out", str(out), "--env-kwargs", *kwargs]
    monkeypatch.setattr(sys, "argv", argv)
    validation.main(report=lambda line: None)
    return next(csv.DictReader(out.open()))


@pytest.mark.parametrize("asked", ["discrimination", "reconstruction"])
def test_design_column_is_the_design_reward_whatever_reward_the_env_pays(tmp_path, monkeypatch, asked):
    row = run_main(tmp_path, monkeypatch, f"unsup_reward:{asked}")
    config = make_config(scenario="unsup_single", **TINY, unsup_reward="design")
    data = load_digits_split(config.data_source, config.n_train, config.n_test, config.split_seed, config.data_root)
    scenario = validation.UnsupervisedScenario(config, data.train_x.shape[1], torch.Generator().manual_seed(0))
    records = validation.learn(scenario, validation.DenseRule("stdp", scenario.network, 0), data, 6, 0)
    expected = sum(r["reward"] for r in records) / len(records)  # the design pays here
    assert float(row["design"]) == pytest.approx(expected)
    assert float(row["design"]) != pytest.approx(float(row[asked]))
