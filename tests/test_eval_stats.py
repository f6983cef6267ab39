"""IQM, bootstrap CI, success rate and steps to threshold against hand-computed cases and synthetic logs."""

import doctest
import itertools
import json
import math

import numpy as np
import pytest
import yaml

import eval.stats
from eval.runs import find_finished, load_run
from eval.stats import bootstrap_ci, iqm, median_steps, steps_to_threshold, success_rate


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 100], 4.5),  # n=8: drop 2 at each end, mean of 3, 4, 5, 6
        ([0, 10, 20, 1000], 15.0),  # n=4: drop 1 at each end
        ([0, 1, 2, 4, 8], 7 / 3),  # n=5: drop 1 at each end, mean of 1, 2, 4
        ([3, 9, 30], 14.0),  # n=3: floor(3/4) = 0 dropped, the plain mean
        ([5.0], 5.0),
    ],
)
def test_iqm_hand_computed(scores, expected):
    assert iqm(scores) == pytest.approx(expected)
    assert iqm(np.random.default_rng(0).permutation(scores)) == pytest.approx(expected)  # order does not matter


def test_iqm_along_an_axis():
    scores = np.array([[1, 2, 3, 4, 5, 6, 7, 100], [0, 0, 1, 1, 1, 1, 9, 9]], dtype=float)
    np.testing.assert_allclose(iqm(scores, axis=-1), [4.5, 1.0])
    np.testing.assert_allclose(iqm(scores.T, axis=0), [4.5, 1.0])


def test_bootstrap_ci_of_constant_scores_is_a_point():
    assert bootstrap_ci([7.0, 7.0, 7.0]) == (7.0, 7.0)


def test_bootstrap_ci_two_runs_covers_both_extremes():
    # n=2: IQM = mean; resample means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4, so the
    # 2.5% and 97.5% percentiles are exactly 0 and 1.
    assert bootstrap_ci([0.0, 1.0], reps=4000) == (0.0, 1.0)


def test_bootstrap_ci_matches_the_exact_bootstrap_distribution():
    scores = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
    exact = np.array([iqm(np.array(resample)) for resample in itertools.product(scores, repeat=len(scores))])
    low, high = np.percentile(exact, [2.5, 97.5])  # 1/3 and 20/3
    assert (low, high) == pytest.approx((1 / 3, 20 / 3))
    assert bootstrap_ci(scores, reps=20000, seed=1) == pytest.approx((low, high), abs=0.2)
    # a 50% interval is narrower and inside the 95% one
    narrow = bootstrap_ci(scores, confidence=0.5, reps=20000)
    assert low < narrow[0] < narrow[1] < high


def test_bootstrap_ci_is_seeded_and_validates():
    scores = np.random.default_rng(3).normal(size=10)
    assert bootstrap_ci(scores, seed=5) == bootstrap_ci(scores, seed=5)
    assert bootstrap_ci(scores, seed=5) != bootstrap_ci(scores, seed=6)
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(scores, confidence=1.5)
    with pytest.raises(ValueError, match="reps"):
        bootstrap_ci(scores, reps=0)


def test_success_rate():
    assert success_rate([200.0, 150.0, 195.0], 195.0) == pytest.approx(2 / 3)  # reaching counts
    assert success_rate([10.0, 20.0], 195.0) == 0.0
    assert math.isnan(success_rate([10.0], None))
    assert math.isnan(success_rate([], 195.0))


def test_steps_to_threshold_and_median():
    steps = [1000, 2000, 3000, 4000]
    assert steps_to_threshold(steps, [50.0, 196.0, 150.0, 200.0], 195.0) == 2000  # first crossing, not last
    assert steps_to_threshold(steps, [50.0, 60.0, 70.0, 80.0], 195.0) is None
    assert steps_to_threshold(steps, [50.0, 60.0, 70.0, 80.0], None) is None
    assert median_steps([2000, None, 4000, 1000]) == (2000.0, 3)
    median, reached = median_steps([None, None])
    assert math.isnan(median) and reached == 0


def _write_run(run_dir, timesteps, results, final_timesteps, final_mean):
    """A run folder as train/run.py writes it (config.yml, summary.json, EvalCallback's evaluations.npz)."""
    run_dir.mkdir()
    config = {"env_id": "NoisyCartPole-v0", "agent": "ppo", "seed": 3, "n_timesteps": final_timesteps,
              "env_kwargs": {"flip_prob": 0.2}}  # fmt: skip
    (run_dir / "config.yml").write_text(yaml.safe_dump(config))
    summary = {"timesteps": final_timesteps, "eval_mean": final_mean, "eval_std": 1.0, "eval_episodes": 20,
               "train_seconds": 10.0, "fps": final_timesteps / 10.0}  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps(summary))
    results = np.asarray(results, dtype=float)
    np.savez(run_dir / "evaluations.npz", timesteps=np.asarray(timesteps), results=results,
             ep_lengths=np.ones_like(results, dtype=int))  # fmt: skip


def test_steps_to_threshold_from_a_synthetic_evaluation_log(tmp_path):
    # per-evaluation means 20, 100, 197 (crossing at 3000), 190; the log point at the final step is
    # replaced by the final evaluation
    results = [[10, 30], [100, 100], [195, 199], [180, 200], [0, 0]]
    _write_run(tmp_path / "run", [1000, 2000, 3000, 4000, 5000], results, 5000, 198.0)
    record = load_run(tmp_path / "run")
    assert record.curve_timesteps == [1000, 2000, 3000, 4000, 5000]
    assert record.curve_returns == [20.0, 100.0, 197.0, 190.0, 198.0]
    assert record.env_kwargs == (("flip_prob", 0.2),) and record.seed == 3
    assert steps_to_threshold(record.curve_timesteps, record.curve_returns, 195.0) == 3000
    assert steps_to_threshold(record.curve_timesteps, record.curve_returns, 199.0) is None


def test_final_evaluation_counts_when_the_log_never_crossed(tmp_path):
    _write_run(tmp_path / "run", [1000, 2000], [[10, 10], [50, 70]], 2500, 196.0)
    record = load_run(tmp_path / "run")
    assert steps_to_threshold(record.curve_timesteps, record.curve_returns, 195.0) == 2500


def test_docstring_examples():
    assert doctest.testmod(eval.stats).failed == 0


def test_find_finished_skips_unfinished_and_unreadable_folders(tmp_path):
    _write_run(tmp_path / "done", [1000], [[10, 10]], 2000, 50.0)
    (tmp_path / "running").mkdir()  # no summary.json yet
    (tmp_path / "running" / "config.yml").write_text("env_id: NoisyCartPole-v0\n")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{not json")
    _write_run(tmp_path / "stopped", [1000], [[10, 10]], 2000, 50.0)
    stopped_summary = json.loads((tmp_path / "stopped" / "summary.json").read_text())
    del stopped_summary["eval_mean"]  # a stop's summary: no final evaluation
    (tmp_path / "stopped" / "summary.json").write_text(json.dumps({**stopped_summary, "stop_reason": "hours"}))
    finished = find_finished(tmp_path)
    assert [record.run_dir for record in finished.values()] == [str(tmp_path / "done")]
    with pytest.raises(ValueError, match=r"unfinished run, stopped \(hours\).*--resume .*stopped"):
        load_run(tmp_path / "stopped")
    (tmp_path / "stopped" / "summary.json").write_text(json.dumps({**stopped_summary, "run_dir": "/exp/the_run"}))
    with pytest.raises(ValueError, match=r"--resume /exp/the_run$"):  # a copied record points at where it trained
        load_run(tmp_path / "stopped")
