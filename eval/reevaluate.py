"""Evaluate finished runs' final models again, over more episodes than their final evaluation.

    python eval/reevaluate.py logs/scal_tuning/*scal_rl* --episodes 50

A 10-episode final score of a policy that fails now and then moves by tens of points between evaluations;
this tightens it. Each run folder's ``model.zip`` is loaded with its ``config.yml`` and played
deterministically on a fresh evaluation env seeded as in training (``seed + EVAL_SEED_OFFSET``), so a second call
plays the same episodes. Prints one JSON line per run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy

from agents.registry import load_agent
from train.cli import OneLineParser
from train.config import load_run_config
from train.environments import make_env


def reevaluate(run_dir: Path, episodes: int) -> dict[str, Any]:
    """Mean, std and returns of ``episodes`` deterministic episodes of the run's final model."""
    if not (run_dir / "model.zip").exists():
        raise FileNotFoundError(f"run folder {run_dir} has no model.zip (an unfinished run?)")
    config = load_run_config(run_dir)
    env = make_env(config, evaluation=True)
    try:
        model = load_agent(config.agent, str(run_dir / "model.zip"), env=env, algo=config.hyperparams.get("algo"))
        returns, _ = evaluate_policy(
            model, env, n_eval_episodes=episodes, deterministic=True, return_episode_rewards=True
        )
    finally:  # an Atari env holds an emulator: close it even when loading or playing fails
        env.close()
    returns = [float(r) for r in returns]
    return {"run_dir": str(run_dir), "episodes": episodes, "mean": float(np.mean(returns)),
            "std": float(np.std(returns)), "returns": returns}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished run folders (with model.zip and config.yml)")
    parser.add_argument("--episodes", type=int, default=50, help="evaluation episodes per run (>= 1)")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes {args.episodes}: must be >= 1")
    for run_dir in args.run_dirs:
        print(json.dumps(reevaluate(run_dir, args.episodes)), flush=True)


if __name__ == "__main__":
    main()
