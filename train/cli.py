"""Command-line arguments of ``train/run.py`` (flag names follow RL Baselines3 Zoo)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from agents.registry import AGENTS


def parse_key_values(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """Parse ``["key:value", ...]``; each value is read as YAML (``0.2`` -> float, ``[1, 2]`` -> list)."""
    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{flag} expects key:value pairs, got {item!r}")
        parsed[key] = yaml.safe_load(value)
    return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train an agent on an environment of the suite (or evaluate a reference agent).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--env", default="NoisyCartPole-v0", help="registered environment id")
    parser.add_argument("--agent", default="ppo", choices=sorted(AGENTS), help="agent name from the registry")
    parser.add_argument("-n", "--n-timesteps", type=int, default=-1, help="training steps (-1: from hyperparams)")
    parser.add_argument("--seed", type=int, default=0, help="run seed (training envs use seed..seed+n_envs-1)")
    parser.add_argument("--n-envs", type=int, default=-1, help="parallel training envs (-1: from hyperparams)")
    parser.add_argument("--eval-freq", type=int, default=10_000, help="evaluate every N steps (<=0: never)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="episodes per periodic evaluation")
    parser.add_argument("--final-eval-episodes", type=int, default=20, help="episodes of the final evaluation")
    parser.add_argument("--save-freq", type=int, default=0, help="also checkpoint every N steps (<=0: only by time)")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0, help="autosave every M minutes (<=0: never)")
    parser.add_argument("--keep-checkpoints", type=int, default=3, help="keep the newest N checkpoints (plus the best)")
    parser.add_argument("--hours", type=float, default=None, help="stop this session after H hours (checkpointed)")
    parser.add_argument("--steps", type=int, default=None, help="stop this session after N more steps (checkpointed)")
    parser.add_argument("--until-stopped", action="store_true",
                        help="train until Ctrl+C/--hours/--steps instead of the -n budget (schedules see a 1e12-step horizon)")
    parser.add_argument("--resume", default=None, metavar="PATH",
                        help="continue a run exactly from a checkpoint folder or a run folder (its newest checkpoint)")
    parser.add_argument("-tb", "--tensorboard-log", default=None, help="TensorBoard folder (default: LOG_FOLDER/tb)")
    parser.add_argument("--no-tensorboard", action="store_true", help="turn TensorBoard logging off")
    parser.add_argument("-f", "--log-folder", default="logs", help="folder that holds the run folders")
    parser.add_argument("-P", "--progress", action="store_true", help="show a progress bar")
    parser.add_argument("-params", "--hyperparams", nargs="+", default=None, metavar="KEY:VALUE",
                        help="override hyperparameters, e.g. learning_rate:0.001")
    parser.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE",
                        help="environment arguments, e.g. flip_prob:0.2 encoding:sign")
    parser.add_argument("-conf", "--conf-file", default=None, help="YAML hyperparameters (flat, or keyed by env id)")
    parser.add_argument("--gym-packages", nargs="+", default=[], help="extra modules that register env ids")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda")
    parser.add_argument("--num-threads", type=int, default=-1,
                        help="torch CPU threads (-1: torch's default); 1 is often fastest for small networks")
    parser.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="SB3 verbosity")
    return parser


# Flags a resumed session may set (others, and these when not given, come from the run's args.yml).
SESSION_FLAGS = (
    "resume", "steps", "hours", "progress", "verbose", "device", "num_threads", "checkpoint_minutes", "keep_checkpoints",
    "save_freq", "final_eval_episodes", "gym_packages",
)


def merge_resumed_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """On ``--resume``, take the run's saved arguments; reject flags that would change the run."""
    run_dir = Path(args.resume)
    run_dir = run_dir.parent.parent if run_dir.name.startswith("step_") else run_dir
    saved_path = run_dir / "args.yml"
    if not saved_path.exists():
        parser.error(f"--resume {args.resume}: no args.yml in the run folder {run_dir}")
    saved = yaml.safe_load(saved_path.read_text())
    changed = [
        key for key, value in vars(args).items()
        if key not in SESSION_FLAGS and value != parser.get_default(key) and value != saved.get(key)
    ]
    if changed:
        flags = ", ".join("--" + key.replace("_", "-") for key in changed)
        parser.error(f"--resume continues a run with its own configuration; these flags cannot change it: {flags}")
    given = {key: getattr(args, key) for key in SESSION_FLAGS
             if key == "resume" or key not in saved or getattr(args, key) != parser.get_default(key)}
    return argparse.Namespace(**{**saved, **given})


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate; bad values exit with a message naming the flag and the allowed values."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resume is not None:
        return merge_resumed_args(parser, args)
    try:
        args.hyperparams = parse_key_values(args.hyperparams, "-params")
        args.env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    for flag in ("eval_episodes", "final_eval_episodes"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be >= 1, got {getattr(args, flag)}")
    for flag in ("hours", "steps"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            parser.error(f"--{flag} must be > 0, got {value}")
    if args.keep_checkpoints < 1:
        parser.error(f"--keep-checkpoints must be >= 1, got {args.keep_checkpoints}")
    if args.n_envs == 0 or args.n_envs < -1:
        parser.error(f"--n-envs must be >= 1 (or -1 for the hyperparameter file), got {args.n_envs}")
    return args
