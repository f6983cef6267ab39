"""Command-line arguments of ``train/run.py`` (flag names follow RL Baselines3 Zoo)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
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
    parser.add_argument("--save-freq", type=int, default=25_000, help="checkpoint every N steps (<=0: never)")
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
    parser.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="SB3 verbosity")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate; bad values exit with a message naming the flag and the allowed values."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.hyperparams = parse_key_values(args.hyperparams, "-params")
        args.env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    for flag in ("eval_episodes", "final_eval_episodes"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be >= 1, got {getattr(args, flag)}")
    if args.n_envs == 0 or args.n_envs < -1:
        parser.error(f"--n-envs must be >= 1 (or -1 for the hyperparameter file), got {args.n_envs}")
    return args
