"""Checkpoints that resume a run exactly: written atomically, validated on load, pruned by a retention policy.

A checkpoint is a folder ``checkpoints/step_{steps:012d}/`` holding:

* ``model.zip``: SB3's save (policy, optimizer, counters, last observation, episode buffer,
  exploration and schedule state, the action space's RNG), plus ``replay_buffer.pkl`` off-policy
  (not in the ``final`` checkpoint of a finished run);
* ``envs.pkl``: the training and evaluation VecEnvs pickled whole (their envs' physics, noise and
  delay RNGs, Monitor statistics, normalisation);
* ``state.pkl``: python/numpy/torch RNG states and the callbacks' state (evaluation history,
  best score, call counters);
* ``meta.json``: steps, timestamp, reason (auto/steps/hours/signal/interrupted/final), wall time,
  episodes, updates, the latest evaluation score, package versions, and the size and SHA-256 of every
  other file.

It is written under a temporary name and renamed into place, so a process killed mid-save leaves
the previous checkpoints untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import torch

from train.versions import package_versions

FORMAT_VERSION = 1
CHECKPOINTS = "checkpoints"
REASONS = ("auto", "steps", "hours", "signal", "interrupted", "final")
REQUIRED_FILES = ("meta.json", "model.zip", "envs.pkl", "state.pkl")


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or does not match the run it is resumed into."""


def capture_rng() -> dict[str, Any]:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


@dataclass
class CheckpointContents:
    """What a checkpoint restores; ``model_path`` is loaded by the agent's own class."""

    path: Path
    meta: dict[str, Any]
    model_path: Path
    replay_buffer_path: Path | None
    train_env: Any
    eval_env: Any
    rng: dict[str, Any]
    callback_state: dict[str, Any]


def save_checkpoint(
    run_dir: Path,
    *,
    model: Any,
    envs: tuple[Any, Any],
    callback_state: dict[str, Any],
    reason: str,
    meta: dict[str, Any],
) -> Path:
    """Write a complete checkpoint of ``model`` and its envs atomically; return its folder.

    The ``final`` checkpoint of a run that reached its step budget leaves the replay buffer out: nothing
    trains from it again (a resumed finished run only re-saves), and for NoisyPong's DQN agents it is 5 GB.
    """
    if reason not in REASONS:
        raise ValueError(f"reason={reason!r} is not one of {REASONS}")
    steps = int(model.num_timesteps)
    root = run_dir / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{steps:012d}"
    staging = root / f".tmp_step_{steps:012d}_{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    write_state_files(staging, model=model, envs=envs, callback_state=callback_state,
                      replay_buffer=reason != "final")
    full_meta = {
        "format_version": FORMAT_VERSION,
        "steps": steps,
        "reason": reason,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "exact": reason != "interrupted",
        "versions": package_versions(),
        **meta,
        "files": {path.name: _fingerprint(path) for path in sorted(staging.iterdir())},
    }
    (staging / "meta.json").write_text(json.dumps(full_meta, indent=2) + "\n")
    _fsync_tree(staging)
    if final.exists():  # a second save at the same step (e.g. the final one after an autosave)
        shutil.rmtree(final)
    os.rename(staging, final)
    return final


def write_state_files(
    folder: Path, *, model: Any, envs: tuple[Any, Any], callback_state: dict[str, Any], replay_buffer: bool = True
) -> None:
    """Write the model (and, if asked, its replay buffer), the envs and the RNG and callback state into ``folder``."""
    model.save(folder / "model.zip")
    if replay_buffer and getattr(model, "replay_buffer", None) is not None:
        model.save_replay_buffer(folder / "replay_buffer.pkl")
    with open(folder / "envs.pkl", "wb") as handle:
        cloudpickle.dump(envs, handle)
    with open(folder / "state.pkl", "wb") as handle:
        pickle.dump({"rng": capture_rng(), "callbacks": callback_state}, handle)


def _fingerprint(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _verify_files(path: Path, meta: dict[str, Any]) -> None:
    """Every file the checkpoint recorded must be there with its recorded size and checksum."""
    for name, expected in meta.get("files", {}).items():
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"checkpoint {path} is incomplete: missing {name}")
        actual = _fingerprint(file)
        if actual != expected:
            raise CheckpointError(
                f"checkpoint {path} is corrupt: {name} has {actual['bytes']} bytes and checksum {actual['sha256'][:12]}, "
                f"expected {expected['bytes']} bytes and {expected['sha256'][:12]}"
            )


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first (staging folders are ignored)."""
    root = run_dir / CHECKPOINTS
    return sorted(p for p in root.glob("step_*") if p.is_dir()) if root.exists() else []


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, or the newest checkpoint of a run folder."""
    path = Path(path)
    if (path / "meta.json").exists() or path.name.startswith("step_"):
        return path
    candidates = list_checkpoints(path)
    if not candidates:
        raise CheckpointError(f"--resume {path}: no checkpoint found (expected a step_* folder or a run folder with {CHECKPOINTS}/)")
    return candidates[-1]


def load_checkpoint(path: str | Path) -> CheckpointContents:
    """Read and validate a checkpoint (a run folder: its newest one); a bad one raises :class:`CheckpointError`.

    A run folder whose newest checkpoint is damaged is not resumed from an older one silently: the error
    names the newest intact checkpoint, which ``--resume`` accepts.
    """
    checkpoint = resolve_checkpoint(path)
    try:
        return _load_checkpoint_folder(checkpoint)
    except CheckpointError as error:
        if checkpoint == Path(path):  # the user named this checkpoint
            raise
        intact = newest_intact_checkpoint(Path(path))
        hint = f"; the newest intact checkpoint is {intact}: resume with --resume {intact}" if intact else \
            "; no intact checkpoint is left in this run"
        raise CheckpointError(f"{error}{hint}") from error


def newest_intact_checkpoint(run_dir: Path) -> Path | None:
    """The newest checkpoint of ``run_dir`` whose files all match their recorded size and checksum."""
    for checkpoint in reversed(list_checkpoints(run_dir)):
        try:
            _load_checkpoint_folder(checkpoint)
        except CheckpointError:
            continue
        return checkpoint
    return None


def _load_checkpoint_folder(path: Path) -> CheckpointContents:
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {path} is incomplete: missing {', '.join(missing)}")
    try:
        meta = json.loads((path / "meta.json").read_text())
        _verify_files(path, meta)
        with open(path / "envs.pkl", "rb") as handle:
            train_env, eval_env = pickle.load(handle)
        with open(path / "state.pkl", "rb") as handle:
            state = pickle.load(handle)
    except CheckpointError:
        raise
    except Exception as error:  # truncated or garbled files surface as many exception types
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable: {type(error).__name__}: {error}") from error
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format {meta.get('format_version')}, this code reads {FORMAT_VERSION}")
    buffer = path / "replay_buffer.pkl"
    return CheckpointContents(
        path=path,
        meta=meta,
        model_path=path / "model.zip",
        replay_buffer_path=buffer if buffer.exists() else None,
        train_env=train_env,
        eval_env=eval_env,
        rng=state["rng"],
        callback_state=state["callbacks"],
    )


def apply_retention(run_dir: Path, keep_last: int, keep_best: bool = True) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints and (``keep_best``) the best one; return what was deleted.

    The best is the checkpoint whose meta records the highest ``last_mean_reward`` (the periodic evaluation
    before it was saved; ties: the oldest, where that score was first reached).
    """
    checkpoints = list_checkpoints(run_dir)
    keep = set(checkpoints[-keep_last:]) if keep_last > 0 else set()
    scored = [(json.loads((p / "meta.json").read_text()).get("last_mean_reward"), p) for p in checkpoints]
    scored = [(score, p) for score, p in scored if score is not None]
    if keep_best and scored:
        best_score = max(score for score, _ in scored)
        keep.add(next(p for score, p in scored if score == best_score))
    removed = [p for p in checkpoints if p not in keep]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
