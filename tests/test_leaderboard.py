"""End-to-end leaderboards on tiny budgets: tables, CSV, plots, --reuse, stability mode, sweeps and Ray."""

import io
import json
import re
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import yaml

from eval.jobs import Progress
from eval.leaderboard import build_specs, main, parse_args
from eval.runs import RunRecord, find_finished, setup_digest

TINY = ["--seeds", "0", "1", "-n", "256", "--eval-points", "4", "--eval-episodes", "2", "--final-eval-episodes", "3"]


def _run_folders(log_folder: Path) -> set[str]:
    return {p.name for p in log_folder.iterdir() if p.is_dir()}


def _assert_png(path: Path) -> None:
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


@pytest.fixture(scope="module")
def leaderboard(tmp_path_factory):
    out = tmp_path_factory.mktemp("leaderboard")
    result = main(["--agents", "random", "ppo", *TINY, "--jobs", "2", "-o", str(out)])
    return out, result


def test_leaderboard_table_rows(leaderboard):
    out, result = leaderboard
    assert result["failures"] == [] and len(result["records"]) == 4
    table = pd.read_csv(out / "leaderboard.csv")
    assert list(table["agent"]) == ["random", "ppo"]  # the order asked for
    assert list(table["seeds"]) == [2, 2] and list(table["timesteps"]) == [0, 256]  # reference agents train 0 steps
    assert list(table["threshold"]) == [195.0, 195.0]  # NoisyCartPole-v0's reward_threshold
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 4 and set(runs["seed"]) == {0, 1}
    for row in runs.itertuples():
        summary = json.loads((out / row.run_dir / "summary.json").read_text())
        assert row.eval_mean == pytest.approx(summary["eval_mean"]) and summary["eval_episodes"] == 3
    for agent, group in runs.groupby("agent"):
        line = table[table["agent"] == agent].iloc[0]
        assert line["mean"] == pytest.approx(group["eval_mean"].mean(), abs=1e-4)
        assert line["iqm_ci_low"] <= line["iqm"] <= line["iqm_ci_high"]
        assert line["success_rate"] == pytest.approx((group["eval_mean"] >= 195).mean())


def test_leaderboard_markdown_readme_and_plots(leaderboard):
    out, _ = leaderboard
    markdown = (out / "leaderboard.md").read_text()
    assert "IQM [95% CI]" in markdown and "median steps to threshold" in markdown
    assert re.search(r"^\| NoisyCartPole-v0 \| random \| 2 \| 0 \|", markdown, re.M)
    assert re.search(r"^\| NoisyCartPole-v0 \| ppo \| 2 \| 256 \|", markdown, re.M)
    readme = (out / "README.md").read_text()
    assert "python eval/leaderboard.py --agents random ppo" in readme and markdown in readme
    _assert_png(out / "learning_curves.png")
    curves = pd.read_csv(out / "curves.csv")
    ppo = curves[(curves["agent"] == "ppo") & (curves["seed"] == 0)]
    assert list(ppo["timesteps"]) == [64, 128, 192, 256]  # 4 evaluation points, the last one the final evaluation
    assert list(curves[curves["agent"] == "random"]["timesteps"]) == [0, 0]


def test_reuse_does_not_retrain(leaderboard):
    out, first = leaderboard
    before = _run_folders(out / "runs")
    second = main(["--agents", "random", "ppo", *TINY, "--reuse", "-o", str(out)])
    assert _run_folders(out / "runs") == before  # no new run folder
    assert len(second["reused"]) == 4 and second["failures"] == []
    pd.testing.assert_frame_equal(second["table"], first["table"])


def test_reuse_only_trains_nothing_and_lists_missing_runs(leaderboard):
    out, _ = leaderboard
    before = _run_folders(out / "runs")
    seeds = ["--seeds", "0", "1", "2", *TINY[3:]]  # seed 2 was never trained
    result = main(
        ["--agents", "random", "ppo", *seeds, "--reuse-only", "-o", str(out / "partial"), "-f", str(out / "runs")]
    )
    assert _run_folders(out / "runs") == before
    assert list(result["table"]["seeds"]) == [2, 2]
    readme = (out / "partial" / "README.md").read_text()
    assert "Missing from the table (2 of 6 runs)" in readme and "| ppo | seed 2 (256 steps)" in readme


def test_reuse_matches_steps_and_env_kwargs(leaderboard):
    out, _ = leaderboard
    finished = find_finished(out / "runs")

    def keys(*argv):
        return {spec.key for spec in build_specs(parse_args([*argv, "-o", str(out)]))}

    assert keys("--agents", "random", "ppo", *TINY) <= finished.keys()
    assert not keys("--agents", "ppo", "--seeds", "0", "-n", "512") & finished.keys()  # other budget
    assert not keys("--agents", "ppo", "--seeds", "0", "-n", "256", "--env-kwargs", "flip_prob:0.2") & finished.keys()
    assert keys("--agents", "random", "--seeds", "0", "-n", "999") <= finished.keys()  # random always trains 0 steps


def test_reuse_skips_a_run_trained_with_other_hyperparameters(tmp_path, leaderboard):
    out, _ = leaderboard
    (tmp_path / "runs").mkdir()
    for run in (out / "runs").iterdir():
        shutil.copytree(run, tmp_path / "runs" / run.name)
    stale = next((tmp_path / "runs").glob("*__ppo__0__*"))
    config = yaml.safe_load((stale / "config.yml").read_text())
    config["hyperparams"]["learning_rate"] = 0.123  # as if ppo.yml had been edited since this run
    (stale / "config.yml").write_text(yaml.safe_dump(config))
    result = main(["--agents", "ppo", *TINY, "--reuse-only", "-o", str(tmp_path / "table"), "-f", str(tmp_path / "runs")])
    assert [record.seed for record in result["reused"]] == [1]


def test_run_identity_is_the_setup_not_the_agent_name():
    def keys(agent):
        return {spec.key for spec in build_specs(parse_args(["--agents", agent, "--seeds", "0", "-n", "256"]))}

    assert keys("scal_rl") != keys("scal_rl_history")  # scal_rl's NoisyCartPole entry widens the window
    assert keys("scal_rl_history") != keys("scal_rl_no_history")
    config = {"n_envs": 1, "hyperparams": {}, "normalize": False, "env_wrapper": None, "callback": None}
    assert setup_digest("scal_rl", config) == setup_digest("scal_rl_history", config)  # same class, same values
    assert setup_digest("random", config) != setup_digest("oracle", config)  # same values, other agent class
    assert setup_digest("ppo", config) != setup_digest("ppo", {**config, "n_envs": 8})


def test_ray_stability_and_sweep(tmp_path, leaderboard):
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[eval-ray]'")
    argv = ["--agents", "random", "oracle", "--runs", "2", "--sweep", "flip_prob=0.0,0.45", "--final-eval-episodes",
            "3", "--ray", "local", "--jobs", "2", "-o", str(tmp_path)]  # fmt: skip
    result = main(argv)
    assert result["failures"] == [] and len(result["records"]) == 8
    stability = pd.read_csv(tmp_path / "stability.csv")
    assert list(stability["agent"]) == ["random", "oracle", "random", "oracle"]
    assert list(stability["env_kwargs"]) == ["flip_prob=0.0"] * 2 + ["flip_prob=0.45"] * 2
    assert list(stability["seeds"]) == [2] * 4
    assert list(stability["success_rate"]) == [0.0, 1.0, 0.0, 1.0]  # chance never holds the pole; the oracle does
    assert (
        "| NoisyCartPole-v0 [flip_prob=0.45] | oracle | 2 | 195.0 | 2/2 (100%) |"
        in (tmp_path / "stability.md").read_text()
    )
    _assert_png(tmp_path / "sweep_flip_prob.png")
    _assert_png(tmp_path / "learning_curves.png")
    # same seed, same episodes: Ray reproduces the local runs (flip_prob 0.45 is NoisyCartPole-v0's default)
    local = {r.seed: r.eval_returns for r in leaderboard[1]["records"] if r.agent == "random"}
    on_ray = {r.seed: r.eval_returns for r in result["records"] if r.agent == "random" and r.env_kwargs[0][1] == 0.45}
    assert on_ray == local


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0", "--runs", "2"], "either --seeds or --runs"),
        (["--runs", "0"], "--runs must be >= 1"),
        (["--jobs", "0"], "--jobs must be >= 1"),
        (["--n-eval-envs", "0"], "--n-eval-envs must be >= 1"),
        (["--seeds", "1", "1"], "distinct non-negative"),
        (["--sweep", "flip_prob"], "--sweep expects KEY=V1,V2"),
        (["--agents", "nope"], "allowed: "),
        (["--agents", "ppo", "ppo"], "--agents must not repeat"),
        (["-n", "-5"], "-n/--n-timesteps -5: must be > 0"),
        (["-n", "0"], "-n/--n-timesteps 0: must be > 0"),
        (["--envs", "Nope-v0"], "not a registered environment id"),
    ],
)
def test_invalid_arguments_raise_value_error(argv, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_args(argv)


def test_evaluation_envs_reach_each_run_and_leave_its_key_alone():
    one, three = (build_specs(parse_args(["--agents", "ppo", "--seeds", "0", "-n", "256", *extra]))[0]
                  for extra in ([], ["--n-eval-envs", "3"]))
    argv = three.argv("logs")
    assert argv[argv.index("--n-eval-envs") + 1] == "3"
    assert one.key == three.key  # how a run is evaluated is not what it trains: --reuse still finds it


def test_progress_line_counts_and_eta():
    stream = io.StringIO()
    progress = Progress(total=3, workers=2, stream=stream)
    specs = build_specs(parse_args(["--agents", "random", "--seeds", "0", "1"]))
    record = RunRecord("NoisyCartPole-v0", "random", 0, 0, (), 0, 21.5, 3.0, 20, 0.0, None, "run", [18.5, 24.5])
    progress.report(specs[0], record)
    progress.report(specs[1], error="ValueError: boom")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[1/3 done | 2 running | 0 failed |") and "return 21.5 ± 3.0" in lines[0]
    assert lines[1].startswith("[1/3 done | 1 running | 1 failed |") and "FAILED: ValueError: boom" in lines[1]
    assert "ETA ?" not in lines[1]


def test_iqm_and_its_bootstrap_interval_over_eight_seeds():
    """Eight synthetic seeds where the IQM (8.75), the median (10.5) and the mean (18.625) all differ; the
    interval is the 2.5/97.5 percentiles of the 25%-trimmed mean over resamples (rliable's recipe)."""
    from scipy.stats import trim_mean

    from eval.tables import leaderboard_markdown, summarize

    scores = [12.0, 0.0, 100.0, 2.0, 11.0, 1.0, 13.0, 10.0]
    records = [RunRecord("NoisyCartPole-v0", "ppo", seed, 256, (), 256, score, 1.0, 20, 1.0, 100.0, f"run{seed}")
               for seed, score in enumerate(scores)]
    row = summarize(records, reps=500).iloc[0]
    assert row["seeds"] == 8 and row["mean"] == pytest.approx(18.625)
    assert row["iqm"] == pytest.approx(8.75)  # mean of 2, 10, 11, 12 after dropping two scores at each end
    ordered = np.array(scores)  # the bootstrap resamples seeds in seed order, with seed 0
    resamples = ordered[np.random.default_rng(0).integers(0, 8, size=(500, 8))]
    low, high = np.percentile(trim_mean(resamples, 0.25, axis=1), [2.5, 97.5])
    assert (row["iqm_ci_low"], row["iqm_ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert low < 8.75 < high and high < 100
    assert f"8.8 [{low:.1f}, {high:.1f}]" in leaderboard_markdown(summarize(records, reps=500))


def test_leaderboard_records_package_versions(leaderboard):
    out, _ = leaderboard
    versions = json.loads((out / "versions.json").read_text())
    assert {"python", "torch", "numpy", "gymnasium", "stable-baselines3", "ale-py"} <= set(versions)
    assert f"Packages: python {versions['python']}, torch {versions['torch']}" in (out / "README.md").read_text()
