"""Resolve a run's configuration: hyperparameter file, ``-conf`` file and command-line overrides."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.hyperparams import load_hyperparams
from agents.registry import get_entry

# The horizon of --until-stopped: schedules see this many steps, the run stops on a signal or limit.
UNTIL_STOPPED_HORIZON = 10**12

# Keys of a hyperparameter entry that configure the run rather than the algorithm.
RUN_KEYS = ("n_timesteps", "n_envs", "normalize", "env_wrapper", "frame_stack", "callback")


@dataclass
class RunConfig:
    """Everything a run needs, in YAML-serialisable form (saved as ``config.yml`` in the run folder)."""

    env_id: str
    agent: str
    seed: int
    n_timesteps: int
    n_envs: int
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    normalize: bool | dict = False
    env_wrapper: str | list | None = None
    frame_stack: int | None = None
    callback: str | list | None = None
    n_eval_envs: int = 1  # evaluation envs stepped together (their episodes share one batched forward pass)

    @property
    def run_name(self) -> str:
        return f"{self.env_id}__{self.agent}__{self.seed}"


def _conf_file_entry(path: str, env_id: str) -> dict[str, Any]:
    table = yaml.safe_load(Path(path).read_text()) or {}
    if env_id in table:
        return table[env_id] or {}
    return table.get("default", table)


def _whole_number(key: str, value: Any) -> int:
    """``value`` as an int (``1e5`` from YAML included); else a ``ValueError`` naming the hyperparameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise ValueError(f"-params {key}:{value!r}: must be a whole number")
    return int(value)


def resolve_config(args: argparse.Namespace) -> RunConfig:
    """Merge, in increasing priority: ``agents/hyperparams/<agent>.yml``, ``-conf``, ``-params``, flags."""
    hyperparams = load_hyperparams(args.agent, args.env)
    if args.conf_file:
        hyperparams.update(_conf_file_entry(args.conf_file, args.env))
    hyperparams.update(args.hyperparams)
    run_values = {key: hyperparams.pop(key) for key in RUN_KEYS if key in hyperparams}
    if args.n_timesteps >= 0:
        run_values["n_timesteps"] = args.n_timesteps
    if args.until_stopped:
        run_values["n_timesteps"] = UNTIL_STOPPED_HORIZON
    if args.n_envs > 0:
        run_values["n_envs"] = args.n_envs
    if not get_entry(args.agent).learns:  # reference agents train nothing, whatever -n says
        run_values["n_timesteps"] = 0
    return RunConfig(
        env_id=args.env,
        agent=args.agent,
        seed=args.seed,
        n_timesteps=_whole_number("n_timesteps", run_values.pop("n_timesteps", 0)),
        n_envs=_whole_number("n_envs", run_values.pop("n_envs", 1)),
        env_kwargs=dict(args.env_kwargs),
        n_eval_envs=getattr(args, "n_eval_envs", 1),
        hyperparams=hyperparams,
        **run_values,
    )


def load_run_config(run_dir: Path) -> RunConfig:
    """The resolved configuration a run folder was started with (its ``config.yml``)."""
    return RunConfig(**yaml.safe_load((run_dir / "config.yml").read_text()))
