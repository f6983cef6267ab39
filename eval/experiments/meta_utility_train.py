"""Train the RL agents of the MetaUtility-v0 results through ``train/run.py`` (agents × η × seeds).

    python eval/experiments/meta_utility_train.py --agents ppo dqn --etas 0.05 0.1 0.2 --seeds 0 1 2 -f logs/meta_utility

Each run is ``train/run.py --env MetaUtility-v0 --agent A --seed S --env-kwargs eta:η`` with the
hyperparameters of ``agents/hyperparams/<agent>.yml``; a run whose folder already holds a
``summary.json`` for the same (agent, η, seed) is skipped, so the script resumes after a stop.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch
import yaml

from train.cli import OneLineParser, check_numbers
from train.run import main as train_main

ENV_ID = "MetaUtility-v0"


def finished_runs(log_folder: Path) -> set[tuple[str, float, int]]:
    """(agent, η, seed) of the MetaUtility runs under ``log_folder`` that wrote their summary."""
    done = set()
    for summary in log_folder.glob(f"{ENV_ID}__*/summary.json"):
        config = yaml.safe_load((summary.parent / "config.yml").read_text())
        eta = float((config.get("env_kwargs") or {}).get("eta", 0.1))
        done.add((config["agent"], eta, int(config["seed"])))
    return done


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", nargs="+", default=["ppo", "dqn"], help="registered learning agents")
    parser.add_argument("--etas", nargs="+", type=float, default=[0.05, 0.1, 0.2], help="compute weights η")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("-n", "--n-timesteps", type=int, default=-1, help="-1: from the hyperparameters")
    parser.add_argument("-f", "--log-folder", default="logs/meta_utility")
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["etas"], non_negative=["seeds"])
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    log_folder = Path(args.log_folder)
    log_folder.mkdir(parents=True, exist_ok=True)
    for eta in args.etas:
        for agent in args.agents:
            for seed in args.seeds:
                if (agent, eta, seed) in finished_runs(log_folder):
                    continue
                train_main(
                    ["--env", ENV_ID, "--agent", agent, "--seed", str(seed), "-n", str(args.n_timesteps)]
                    + ["--env-kwargs", f"eta:{eta}", "-f", str(log_folder), "--eval-freq", "0", "--save-freq", "0"]
                    + ["--final-eval-episodes", "200", "--no-tensorboard", "--verbose", "0"]
                )


if __name__ == "__main__":
    main()
