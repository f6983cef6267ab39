"""Leaderboard runs: what identifies one, the ``train/run.py`` command that makes it, and how to read it back.

A run is identified by what it trains: env, the agent's class and resolved setup (hyperparameters, wrappers,
callbacks; see :func:`setup_digest`), seed, training steps and env kwargs. The agent's name is only its label, so
editing a hyperparameter file never reuses a stale run, and a renamed entry reuses the runs it already has. It is
trained by ``train.run.main`` into a run folder (``config.yml``, ``summary.json``, ``evaluations.npz``), which is
all that ``--reuse`` and the tables read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.registry import AGENTS, get_entry
from train.cli import parse_args
from train.config import resolve_config


@dataclass(frozen=True)
class RunSpec:
    """One leaderboard job.

    Attributes:
        env: registered environment id.
        agent: registered agent name.
        seed: training seed (evaluation uses ``seed + EVAL_SEED_OFFSET``, see ``train.environments``).
        n_timesteps: training steps, resolved (0 for non-learning agents).
        env_kwargs: environment arguments as sorted ``(key, value)`` pairs.
        eval_points: periodic evaluations over training (the learning curve).
        eval_episodes: episodes per periodic evaluation.
        final_eval_episodes: episodes of the final evaluation (the leaderboard score).
        n_eval_envs: evaluation envs run side by side (``train/run.py --n-eval-envs``).
    """

    env: str
    agent: str
    seed: int
    n_timesteps: int
    env_kwargs: tuple[tuple[str, Any], ...] = ()
    eval_points: int = 10
    eval_episodes: int = 10
    final_eval_episodes: int = 20
    n_eval_envs: int = 1

    @cached_property
    def setup(self) -> str:
        """Digest of the resolved setup this spec trains (:func:`setup_digest`)."""
        argv = train_argv(self.env, self.agent, self.seed, self.n_timesteps, dict(self.env_kwargs))
        return setup_digest(self.agent, dataclasses.asdict(resolve_config(parse_args(argv))))

    @property
    def key(self) -> tuple:
        """What ``--reuse`` matches: env, setup digest, seed, steps and env kwargs."""
        return run_key(self.env, self.setup, self.seed, self.n_timesteps, self.env_kwargs)

    @property
    def label(self) -> str:
        kwargs = kwargs_label(self.env_kwargs)
        return f"{self.env}{f' [{kwargs}]' if kwargs else ''} | {self.agent} | seed {self.seed}"

    def argv(self, log_folder: str | Path) -> list[str]:
        """Arguments of ``train/run.py`` for this run (no TensorBoard, no checkpoints, quiet)."""
        eval_freq = math.ceil(self.n_timesteps / self.eval_points) if self.n_timesteps > 0 else 0
        argv = train_argv(self.env, self.agent, self.seed, self.n_timesteps, dict(self.env_kwargs))
        return argv + [
            "-f", str(log_folder), "--eval-freq", str(eval_freq), "--eval-episodes", str(self.eval_episodes),
            "--final-eval-episodes", str(self.final_eval_episodes), "--n-eval-envs", str(self.n_eval_envs),
            "--save-freq", "0",
            "--no-tensorboard", "--verbose", "0",
        ]  # fmt: skip


@dataclass
class RunRecord:
    """A finished run, as read from its folder: final scores and the evaluation curve."""

    env: str
    agent: str
    seed: int
    n_timesteps: int
    env_kwargs: tuple[tuple[str, Any], ...]
    timesteps: int
    eval_mean: float
    eval_std: float
    eval_episodes: int
    train_seconds: float
    fps: float | None
    run_dir: str
    eval_returns: list[float] = field(default_factory=list)
    curve_timesteps: list[int] = field(default_factory=list)
    curve_returns: list[float] = field(default_factory=list)
    setup: str = field(default="", compare=False)  # :func:`setup_digest` of its config.yml; "" when read without it

    @property
    def key(self) -> tuple:
        return run_key(self.env, self.setup, self.seed, self.n_timesteps, self.env_kwargs)


#: The parts of a resolved ``config.yml`` that decide what a run trains (besides env, seed, steps, env kwargs).
SETUP_FIELDS = ("n_envs", "hyperparams", "normalize", "env_wrapper", "frame_stack", "callback")


def setup_digest(agent: str, config: dict[str, Any]) -> str:
    """12 hex digits naming the agent's class and the setup fields of its resolved config, not the agent's name.

    An agent no longer registered keeps its name in place of the class, so its runs match nothing new.
    """
    target = AGENTS[agent].target if agent in AGENTS else agent
    setup = {"target": target, **{name: config.get(name) for name in SETUP_FIELDS}}
    return hashlib.sha256(json.dumps(setup, sort_keys=True, default=str).encode()).hexdigest()[:12]


def run_key(env: str, setup: str, seed: int, n_timesteps: int, env_kwargs: tuple[tuple[str, Any], ...]) -> tuple:
    """A hashable identity of a run (kwargs as canonical JSON, so list values work too)."""
    return env, setup, seed, n_timesteps, json.dumps(dict(env_kwargs), sort_keys=True)


def kwargs_label(env_kwargs: tuple[tuple[str, Any], ...]) -> str:
    """``flip_prob=0.2 encoding=sign`` (empty for no kwargs)."""
    return " ".join(f"{key}={value}" for key, value in env_kwargs)


def freeze_kwargs(env_kwargs: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(env_kwargs.items()))


def train_argv(env: str, agent: str, seed: int, n_timesteps: int, env_kwargs: dict[str, Any]) -> list[str]:
    """``train/run.py`` arguments naming a run; values are written as JSON, which the CLI reads as YAML."""
    argv = ["--env", env, "--agent", agent, "--seed", str(seed)]
    if n_timesteps != 0:  # 0: an agent that does not learn, which trains 0 steps without -n
        argv += ["-n", str(n_timesteps)]
    if env_kwargs:
        argv += ["--env-kwargs", *(f"{key}:{json.dumps(value)}" for key, value in env_kwargs.items())]
    return argv


def resolve_steps(env: str, agent: str, n_timesteps: int) -> int:
    """Training steps of a run: 0 for non-learning agents, else ``n_timesteps`` or the hyperparameter file's."""
    if not get_entry(agent).learns:
        return 0
    if n_timesteps >= 0:
        return n_timesteps
    return resolve_config(parse_args(train_argv(env, agent, 0, -1, {}))).n_timesteps


def evaluation_curve(run_dir: Path, final_timesteps: int, final_mean: float) -> tuple[list[int], list[float]]:
    """EvalCallback's log (mean over episodes at each evaluation), ending with the final evaluation."""
    steps: list[int] = []
    means: list[float] = []
    log = run_dir / "evaluations.npz"
    if log.exists():
        with np.load(log) as data:
            for step, results in zip(data["timesteps"], data["results"], strict=True):
                if step < final_timesteps:
                    steps.append(int(step))
                    means.append(float(np.mean(results)))
    return [*steps, final_timesteps], [*means, final_mean]


def load_run(run_dir: str | Path) -> RunRecord:
    """Read a finished run folder (``config.yml`` + ``summary.json`` [+ ``evaluations.npz``])."""
    run_dir = Path(run_dir)
    config = yaml.safe_load((run_dir / "config.yml").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    if "eval_mean" not in summary:  # the summary of a stop (Ctrl+C, --hours, --steps): no final evaluation yet
        checkpoints_dir = summary.get("run_dir", run_dir)  # where it trained; a copied record has no checkpoints
        raise ValueError(f"unfinished run, stopped ({summary.get('stop_reason')}) at {summary.get('timesteps')} steps; "
                         f"continue it with: python train/run.py --resume {checkpoints_dir}")
    curve_timesteps, curve_returns = evaluation_curve(run_dir, int(summary["timesteps"]), summary["eval_mean"])
    return RunRecord(
        env=config["env_id"],
        agent=config["agent"],
        seed=int(config["seed"]),
        n_timesteps=int(config["n_timesteps"]),
        env_kwargs=freeze_kwargs(config.get("env_kwargs") or {}),
        timesteps=int(summary["timesteps"]),
        eval_mean=float(summary["eval_mean"]),
        eval_std=float(summary["eval_std"]),
        eval_episodes=int(summary["eval_episodes"]),
        train_seconds=float(summary["train_seconds"]),
        fps=summary.get("fps") if summary["timesteps"] > 0 else None,  # nothing trained: no training speed
        run_dir=str(run_dir),
        setup=setup_digest(config["agent"], config),
        eval_returns=[float(value) for value in summary.get("eval_returns", [])],
        curve_timesteps=curve_timesteps,
        curve_returns=curve_returns,
    )


def find_finished(log_folder: str | Path) -> dict[tuple, RunRecord]:
    """Finished runs (with a ``summary.json``) under ``log_folder`` by key; the newest wins a tie."""
    finished: dict[tuple, RunRecord] = {}
    for summary in sorted(Path(log_folder).glob("*/summary.json"), key=lambda p: p.stat().st_mtime):
        try:
            record = load_run(summary.parent)
        except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as error:  # not a readable run folder
            print(f"skipping {summary.parent}: {type(error).__name__}: {error}", file=sys.stderr)
            continue
        finished[record.key] = record
    return finished
