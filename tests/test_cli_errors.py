"""Command-line mistakes: one line on stderr naming the flag, the value and what is allowed; exit code 2;
no traceback; nothing left on disk. Ray addresses without a cluster give up within a bounded time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eval.leaderboard import cli as leaderboard_cli
from train.run import cli as train_cli

REPO = Path(__file__).resolve().parents[1]
QUIET = ["--verbose", "0", "--no-tensorboard", "--eval-freq", "0", "--final-eval-episodes", "1"]

TRAIN_MISTAKES = [  # (argv, fragments the one line must contain)
    (["-params", "learning_rate:abc"], ["-params learning_rate:'abc'", "must be a float", "lin_0.001"]),
    (["-params", "foo:1"], ["-params foo", "not a hyperparameter of ppo", "allowed: batch_size"]),
    (["-params", "seed:3"], ["-params seed", "set by --seed"]),
    (["-params", "normalize_advantage:2"], ["-params normalize_advantage:2", "must be a bool"]),
    (["-params", "n_steps:[1,"], ["-params n_steps:[1,", "not valid YAML"]),
    (["-params", "n_steps"], ["-params n_steps", "key:value"]),
    (["-params", "n_envs:two"], ["-params n_envs:'two'", "must be a whole number"]),
    (["--agent", "random", "-params", "gamma:0.9"], ["-params gamma", "random does not learn"]),
    (["--env-kwargs", "foo:1"], ["--env-kwargs foo", "not an argument of NoisyCartPole-v0", "allowed: bits_per_variable"]),
    (["--env-kwargs", "flip_prob:1.5"], ["--env-kwargs flip_prob:1.5", "flip_prob=1.5 must be in [0, 1]"]),
    (["--env-kwargs", "encoding:gray"], ["encoding='gray'", "allowed: sign, thermometer, population"]),
    (["--agent", "stdp"], ["--agent stdp does not fit --env NoisyCartPole-v0", "agents that fit it:", " oracle,"]),
    (["--agent", "dqn", "--env", "Pendulum-v1"], ["--agent dqn does not fit --env Pendulum-v1", "Discrete"]),
    (["--agent", "sac"], ["--agent", "invalid choice: 'sac'", "'ppo'"]),
    (["--env", "NoSuchEnv-v0"], ["--env='NoSuchEnv-v0' is not a registered", "NoisyCartPole-v0"]),
    (["-n", "-5"], ["-n/--n-timesteps -5", "must be > 0", "-1"]),
    (["-n", "0"], ["-n/--n-timesteps 0", "must be > 0"]),
    (["-n", "ten"], ["-n/--n-timesteps", "invalid int value: 'ten'"]),
    (["--seed", "-1"], ["--seed -1", "[0, 2**31)"]),
    (["--n-envs", "0"], ["--n-envs 0", ">= 1"]),
    (["--eval-episodes", "0"], ["--eval-episodes 0", ">= 1"]),
    (["--steps", "0"], ["--steps 0", "> 0"]),
    (["--hours", "-1"], ["--hours -1.0", "> 0"]),
    (["--keep-checkpoints", "0"], ["--keep-checkpoints 0", ">= 1"]),
    (["--device", "gpu"], ["--device gpu", "allowed: auto, cpu, cuda"]),
    (["--num-threads", "0"], ["--num-threads 0", ">= 1"]),
    (["-conf", "/no/such/file.yml"], ["-conf/--conf-file /no/such/file.yml", "no such file"]),
    (["--gym-packages", "no_such_module"], ["--gym-packages no_such_module", "No module named 'no_such_module'"]),
    (["--resume", "/no/such/run"], ["--resume /no/such/run", "no such file or folder", "allowed: a run folder"]),
    (["--no-such-flag"], ["unrecognized arguments: --no-such-flag"]),
]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv, fragments", TRAIN_MISTAKES, ids=[" ".join(a) for a, _ in TRAIN_MISTAKES])
def test_training_mistakes_end_in_one_line_and_exit_2(argv, fragments, tmp_path, capsys):
    logs = tmp_path / "logs"
    with pytest.raises(SystemExit) as exit_info:
        train_cli([*QUIET, "-n", "64", *argv, "-f", str(logs)] if argv[0] != "-n" else [*QUIET, *argv, "-f", str(logs)])
    assert exit_info.value.code == 2
    line = _one_error_line(capsys)
    assert ": error: " in line and line.endswith("(see --help)")
    for fragment in fragments:
        assert fragment in line
    assert not logs.exists() or not any(logs.iterdir()), "a failed start left a run folder behind"


def test_resume_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_cli(["--resume", str(tmp_path)])
    assert exit_info.value.code == 2
    assert f"--resume {tmp_path}: not a run folder (no args.yml" in _one_error_line(capsys)


LEADERBOARD_MISTAKES = [
    (["--runs", "0"], ["--runs must be >= 1"]),
    (["--seeds", "0", "--runs", "2"], ["either --seeds or --runs"]),
    (["--jobs", "0"], ["--jobs must be >= 1"]),
    (["-n", "0"], ["-n/--n-timesteps 0", "must be > 0"]),
    (["--sweep", "flip_prob"], ["--sweep expects KEY=V1,V2"]),
    (["--agents", "nope"], ["agent='nope' is not registered", "allowed: "]),
    (["--envs", "Nope-v0"], ["--env='Nope-v0' is not a registered"]),
    (["--env-kwargs", "foo:1"], ["--env-kwargs foo", "allowed: bits_per_variable"]),
    (["--sweep", "flip_prob=0.1,2.0"], ["flip_prob=2.0 must be in [0, 1]"]),
    (["--agents", "random", "stdp"], ["--agents stdp does not fit --envs NoisyCartPole-v0"]),
    (["--ray", "nonsense"], ["--ray nonsense", "expected auto, local or HOST:PORT"]),
    (["--ray", "127.0.0.1:1"], ["--ray 127.0.0.1:1", "ray start --head", "--ray local"]),
    (["--bogus"], ["unrecognized arguments: --bogus"]),
]


@pytest.mark.parametrize("argv, fragments", LEADERBOARD_MISTAKES, ids=[" ".join(a) for a, _ in LEADERBOARD_MISTAKES])
def test_leaderboard_mistakes_end_in_one_line_and_exit_2(argv, fragments, tmp_path, capsys):
    out = tmp_path / "board"
    with pytest.raises(SystemExit) as exit_info:
        leaderboard_cli([*argv, "-o", str(out)])
    assert exit_info.value.code == 2
    line = _one_error_line(capsys)
    assert ": error: " in line and line.endswith("(see --help)")
    for fragment in fragments:
        assert fragment in line
    assert not out.exists(), "a rejected leaderboard wrote its output folder"


def _run_script(argv: list[str], tmp_path: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = str(tmp_path / "ray")  # no cluster file from another Ray instance on this machine
    return subprocess.run([sys.executable, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_scripts_print_no_traceback(tmp_path):
    """The real entry points, as a user runs them."""
    train = _run_script([str(REPO / "train" / "run.py"), "--env-kwargs", "foo:1", "-f", "logs"], tmp_path, 300)
    board = _run_script([str(REPO / "eval" / "leaderboard.py"), "-n", "-5", "-o", "board"], tmp_path, 300)
    for done in (train, board):
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "--env-kwargs foo: not an argument of NoisyCartPole-v0" in train.stderr
    assert not (tmp_path / "logs").exists() and not (tmp_path / "board").exists()


def test_ray_auto_without_a_cluster_gives_up_quickly_with_a_hint(tmp_path):
    start = time.monotonic()
    done = _run_script([str(REPO / "eval" / "leaderboard.py"), "--agents", "random", "--seeds", "0", "--ray", "auto",
                        "-o", "board"], tmp_path, 120)
    assert time.monotonic() - start < 60  # the probe's own limit is 30 s, plus start-up
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "--ray auto: cannot connect" in done.stderr and "ray start --head" in done.stderr
    assert "--ray local" in done.stderr


DRIVER_MISTAKES = [  # (module, argv, fragment)
    ("eval.experiments.scal_sweep", ["--seeds", "0", "-1"], "--seeds -1: must be >= 0"),
    ("eval.experiments.synapse_multi", ["--train-steps", "0"], "--train-steps 0: must be > 0"),
    ("eval.experiments.synapse_learning", ["--plast-images", "0"], "--plast-images 0: must be > 0"),
    ("eval.experiments.meta_utility_train", ["--etas", "0.1", "0"], "--etas 0.0: must be > 0"),
    ("eval.experiments.noisy_cartpole_oracle", ["--episodes", "0"], "--episodes 0: must be > 0"),
    ("eval.experiments.synapse_progress", ["--probes", "0"], "--probes 0: must be > 0"),
    ("eval.experiments.noisy_pong.patch_denoising", ["--steps", "0"], "--steps 0: must be > 0"),
    ("eval.experiments.noisy_pong.centring_check", ["--steps", "-3"], "--steps -3: must be > 0"),
    ("eval.experiments.synapse_kernel", ["--weight", "heavy"], "argument --weight: invalid float value: 'heavy'"),
    ("eval.experiments.scal_report", ["--bogus"], "unrecognized arguments: --bogus"),
    ("eval.experiments.meta_utility_curves", ["--bogus"], "unrecognized arguments: --bogus"),
    ("eval.reevaluate", ["some_run", "--episodes", "0"], "--episodes 0: must be >= 1"),
]


@pytest.mark.parametrize("module, argv, fragment", DRIVER_MISTAKES, ids=[m for m, _, _ in DRIVER_MISTAKES])
def test_eval_driver_mistakes_end_in_one_line_and_exit_2(module, argv, fragment, monkeypatch, capsys):
    import importlib

    driver = importlib.import_module(module)
    monkeypatch.setattr(sys, "argv", [f"{module}.py", *argv])  # drivers without an argv parameter read sys.argv
    entry = getattr(driver, "parse_args", None) or driver.main
    with pytest.raises(SystemExit) as exit_info:
        entry(argv) if "argv" in entry.__code__.co_varnames else entry()
    assert exit_info.value.code == 2
    assert fragment in _one_error_line(capsys)


def test_a_ray_address_that_answers_but_is_not_ray_gives_up_within_the_bound():
    """ray.init retries such an address for minutes; the check gives up after its timeout with the hint."""
    import socket

    from eval.jobs import check_ray_address
    from train.checks import UsageError

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never speaks
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(UsageError, match=r"no Ray cluster answered within 5 s; start a local cluster with `ray start"):
            check_ray_address(address, timeout=5)
        assert time.monotonic() - start < 15
