"""Evaluate finished runs' final models again, over more episodes than their final evaluation.

    python eval/reevaluate.py logs/scal_tuning/*scal_rl* --episodes 50
    python eval/reevaluate.py RUN_DIR --model best_model.zip --seed-shift 500000 --episodes 50

A 10-episode final score of a policy that fails now and then moves by tens of points between evaluations;
this tightens it. Each run folder's ``model.zip`` (or ``--model``: ``best_model.zip``, the periodic evaluations'
best) is loaded with its ``config.yml`` and played deterministically on a fresh evaluation env seeded as in
training (``seed + EVAL_SEED_OFFSET``, plus ``--seed-shift``: episodes no periodic evaluation played, for a
model chosen by them), so a second call plays the same episodes. ``--stochastic`` samples the policy's actions
instead of taking the most likely one. Prints one JSON line per run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy

from agents.registry import load_agent
from train.cli import OneLineParser
from train.config import load_run_config
from train.environments import EVAL_SEED_OFFSET, make_env

MODEL_FILES = ("model.zip", "best_model.zip")  # the final model; the best of the periodic evaluations (EvalCallback)


def reevaluate(
    run_dir: Path, episodes: int, model_file: str = "model.zip", seed_shift: int = 0, deterministic: bool = True
) -> dict[str, Any]:
    """Mean, std and returns of ``episodes`` episodes of the run's ``model_file`` (its final model), on evaluation
    seeds moved by ``seed_shift``; actions are the most likely ones unless ``deterministic`` is False."""
    if not (run_dir / model_file).exists():
        raise FileNotFoundError(f"run folder {run_dir} has no {model_file} (an unfinished run?)")
    config = load_run_config(run_dir)
    shifted = replace(config, seed=config.seed + seed_shift)
    env = make_env(shifted, evaluation=True)
    try:
        model = load_agent(config.agent, str(run_dir / model_file), env=env, algo=config.hyperparams.get("algo"),
                           env_seed=shifted.seed + EVAL_SEED_OFFSET)
        returns, _ = evaluate_policy(
            model, env, n_eval_episodes=episodes, deterministic=deterministic, return_episode_rewards=True
        )
    finally:  # an Atari env holds an emulator: close it even when loading or playing fails
        env.close()
    returns = [float(r) for r in returns]
    return {"run_dir": str(run_dir), "model": model_file, "seed_shift": seed_shift, "episodes": episodes,
            "deterministic": deterministic, "mean": float(np.mean(returns)), "std": float(np.std(returns)), "returns": returns}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished run folders (with model.zip and config.yml)")
    parser.add_argument("--episodes", type=int, default=50, help="evaluation episodes per run (>= 1)")
    parser.add_argument("--model", default="model.zip", choices=MODEL_FILES, help="which saved model to play")
    parser.add_argument("--seed-shift", type=int, default=0,
                        help="added to the evaluation seeds (>= 0; e.g. 500000: episodes no periodic evaluation saw)")
    parser.add_argument("--stochastic", action="store_true", help="sample actions instead of taking the most likely")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes {args.episodes}: must be >= 1")
    if args.seed_shift < 0:
        parser.error(f"--seed-shift {args.seed_shift}: must be >= 0")
    for run_dir in args.run_dirs:
        print(json.dumps(reevaluate(run_dir, args.episodes, args.model, args.seed_shift, not args.stochastic)), flush=True)


if __name__ == "__main__":
    main()
