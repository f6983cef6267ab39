"""The NoisyCartPole sweep behind eval/results/scal_rl: records finished runs, resumes, never records cut runs."""

from __future__ import annotations

import json

from eval.experiments import scal_sweep


def sweep(tmp_path, *extra: str) -> list[dict]:
    out = tmp_path / "runs.jsonl"
    argv = ["--agents", "random", "--flips", "0.45", "--seeds", "0", "1", "-n", "200", "--eval-freq", "0",
            "--final-eval-episodes", "2", "-f", str(tmp_path / "logs"), "--out", str(out), *extra]  # fmt: skip
    scal_sweep.main(argv)
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_sweep_records_each_run_once_and_resumes(tmp_path):
    records = sweep(tmp_path)
    assert [(r["agent"], r["flip_prob"], r["seed"]) for r in records] == [("random", 0.45, 0), ("random", 0.45, 1)]
    assert all(r["stop_reason"] == "final" and r["command"].startswith("python train/run.py") for r in records)
    assert len(sweep(tmp_path)) == 2  # a second call skips what is done


def test_run_ended_by_a_signal_is_not_recorded_and_stops_the_sweep(tmp_path, monkeypatch):
    calls = []

    def interrupted(argv):
        calls.append(argv)
        return {"stop_reason": "signal", "run_dir": str(tmp_path), "agent": "random", "seed": 0}

    monkeypatch.setattr(scal_sweep, "train_main", interrupted)
    assert sweep(tmp_path) == []
    assert len(calls) == 1  # seed 1 never started


def test_a_tagged_variant_passes_its_params_and_is_recorded_as_its_own_agent(tmp_path):
    plain = sweep(tmp_path)
    tagged = sweep(tmp_path, "--params", "callback:[{agents.scal.callbacks.SCALCallback: {anneal_plasticity: true}}]",
                   "--tag", "+anneal")  # fmt: skip
    assert [r["agent"] for r in tagged] == ["random", "random", "random+anneal", "random+anneal"]
    assert tagged[:2] == plain  # the variant did not count as done because the plain agent was
    assert "'callback:[{agents.scal.callbacks.SCALCallback: {anneal_plasticity: true}}]'" in tagged[-1]["command"]


def test_each_record_keeps_its_learning_curve_ending_at_the_final_evaluation(tmp_path):
    for record in sweep(tmp_path):
        assert record["curve_timesteps"][-1] == record["timesteps"]
        assert record["curve_returns"][-1] == record["eval_mean"]
