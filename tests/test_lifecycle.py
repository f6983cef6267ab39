"""Run lifecycle: stop and resume log every episode once, a kill mid-save keeps the previous checkpoint,
a damaged newest checkpoint names the newest intact one, no stray SB3 log folders, versions recorded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from train.checkpoint import CheckpointError, list_checkpoints, load_checkpoint
from train.run import cli, main

SMALL_ENV = ["--env-kwargs", "bits_per_variable:16", "flip_prob:0.45"]
# 8 envs that end short episodes often: a step past a checkpoint is almost sure to end one
PPO = ["--agent", "ppo", "-n", "512", "--n-envs", "8", "-params", "n_steps:16", "batch_size:64", "n_epochs:1"]
QUIET = ["--verbose", "0", "--eval-freq", "0", "--final-eval-episodes", "2"]


def episode_points(log_folder: Path, run_dir: Path) -> list[tuple[int, float]]:
    """(step, return) of every ``charts/episodic_return`` point a run wrote, across its sessions.

    Each session's event file is read on its own: sessions in one process and one second get file names that
    sort by a writer counter, not by time, which TensorBoard's directory reader may skip.
    """
    (event_dir,) = (log_folder / "tb").glob(f"{run_dir.name}_*")
    points = [
        (event.step, value.simple_value)
        for path in event_dir.glob("events.out.tfevents.*")
        for event in EventFileLoader(str(path)).Load()
        for value in event.summary.value
        if value.tag == "charts/episodic_return"
    ]
    return sorted(points)


def test_stop_and_resume_log_every_episode_exactly_once(tmp_path):
    common = [*PPO, *SMALL_ENV, *QUIET, "--seed", "4"]
    straight = main([*common, "-f", str(tmp_path / "straight")])
    expected = episode_points(tmp_path / "straight", Path(straight["run_dir"]))
    assert 256 + 8 in [step for step, _ in expected]  # seed 4: an episode ends in the first step after the stop
    stopped = main([*common, "-f", str(tmp_path / "stopped"), "--steps", "256"])
    meta = json.loads((Path(stopped["checkpoint"]) / "meta.json").read_text())
    assert (stopped["episodes"], stopped["updates"], stopped["timesteps"]) == (meta["episodes"], meta["updates"], 256)
    first_session = episode_points(tmp_path / "stopped", Path(stopped["run_dir"]))
    assert max(step for step, _ in first_session) <= 256  # nothing logged past the checkpoint
    resumed = main(["--resume", stopped["run_dir"], "--verbose", "0"])
    assert episode_points(tmp_path / "stopped", Path(resumed["run_dir"])) == expected
    assert resumed["episodes"] == straight["episodes"] == len(expected)


def test_no_sb3_temporary_log_folder_without_tensorboard(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where SB3's default logger would make SB3-<time>
    main([*PPO, "-n", "128", *SMALL_ENV, *QUIET, "--no-tensorboard", "-f", str(tmp_path / "logs")])
    assert list(scratch.iterdir()) == []


def test_summary_and_checkpoint_record_package_versions(tmp_path):
    summary = main(["--agent", "random", *QUIET, "-f", str(tmp_path)])
    versions = json.loads((Path(summary["run_dir"]) / "summary.json").read_text())["versions"]
    assert set(versions) == {"python", "torch", "numpy", "gymnasium", "stable-baselines3", "sb3-contrib", "ale-py"}
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    stopped = main([*PPO, *SMALL_ENV, *QUIET, "--no-tensorboard", "-f", str(tmp_path), "--steps", "128"])
    assert json.loads((Path(stopped["checkpoint"]) / "meta.json").read_text())["versions"] == versions


def test_damaged_newest_checkpoint_names_the_newest_intact_one(tmp_path, capsys):
    stopped = main([*PPO, *SMALL_ENV, *QUIET, "--no-tensorboard", "--save-freq", "128", "-f", str(tmp_path),
                    "--steps", "384"])
    run_dir = Path(stopped["run_dir"])
    *_, intact, newest = list_checkpoints(run_dir)
    model = newest / "model.zip"
    model.write_bytes(model.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=f"the newest intact checkpoint is {intact}: resume with --resume {intact}"):
        load_checkpoint(run_dir)
    with pytest.raises(CheckpointError, match="corrupt") as named:  # a checkpoint named by the user: no hint
        load_checkpoint(newest)
    assert "newest intact" not in str(named.value)
    with pytest.raises(SystemExit) as exit_info:
        cli(["--resume", str(run_dir), "--verbose", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"resume with --resume {intact}" in err
    resumed = main(["--resume", str(intact), "--verbose", "0", "--steps", "128"])
    assert resumed["timesteps"] == json.loads((intact / "meta.json").read_text())["steps"] + 128


# Training whose third checkpoint save stops for good once its files are written and before it is complete,
# so that the SIGKILL below always lands in the middle of a save.
PAUSED_SAVE = """
import sys, time
from pathlib import Path
import train.checkpoint as checkpoint
write, saves = checkpoint.write_state_files, []
def paused_write(folder, **kwargs):
    write(folder, **kwargs)
    saves.append(folder)
    if len(saves) == 3:
        Path(sys.argv[1]).write_text(str(folder))
        time.sleep(600)
checkpoint.write_state_files = paused_write
from train.run import cli
cli(sys.argv[2:])
"""


def test_sigkill_in_the_middle_of_a_save_keeps_the_previous_checkpoint(tmp_path):
    marker = tmp_path / "paused"
    argv = [*PPO, "--until-stopped", *SMALL_ENV, *QUIET, "--no-tensorboard", "--save-freq", "128",
            "--keep-checkpoints", "50", "-f", str(tmp_path / "logs")]
    process = subprocess.Popen([sys.executable, "-c", PAUSED_SAVE, str(marker), *argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 240
    while not marker.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.time() < deadline, "training never reached its third save"
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    (run_dir,) = (tmp_path / "logs").iterdir()
    contents = load_checkpoint(run_dir)  # the newest complete checkpoint
    assert contents.meta["steps"] == 256  # the second save; the third (at 384) never completed
    resumed = main(["--resume", str(run_dir), "--steps", "128", "--verbose", "0"])
    assert resumed["timesteps"] == 384
