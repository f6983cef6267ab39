"""Run the SCAL-RL benchmark grid on NoisyCartPole-v0: agents x flip_prob x seeds, one run at a time.

    nice -n 10 python eval/experiments/scal_sweep.py --agents ppo dqn scal_rl --flips 0.45 0.3 0 --seeds 0 1 2 -n 20000

Each run goes through ``train.run.main``; its summary plus the first evaluation step at which the
periodic evaluation mean reached 195 (``steps_to_threshold``) is appended to ``--out`` (JSON lines).
Runs already in ``--out`` are skipped, so an interrupted sweep resumes where it stopped; a run ended by a
signal (Ctrl+C, SIGTERM) is not recorded and stops the sweep.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eval.runs import evaluation_curve, resolve_steps
from train.cli import OneLineParser, check_numbers
from train.run import main as train_main

THRESHOLD = 195.0


def steps_to_threshold(run_dir: str | Path, threshold: float = THRESHOLD) -> int | None:
    """First periodic-evaluation timestep whose mean return is at least ``threshold`` (None if never)."""
    path = Path(run_dir) / "evaluations.npz"
    if not path.exists():
        return None
    data = np.load(path)
    reached = np.flatnonzero(data["results"].mean(axis=1) >= threshold)
    return int(data["timesteps"][reached[0]]) if reached.size else None


def run_key(record: dict[str, Any]) -> tuple[str, float, int]:
    return record["agent"], float(record["flip_prob"]), int(record["seed"])


def completed(out: Path) -> set[tuple[str, float, int]]:
    if not out.exists():
        return set()
    return {run_key(json.loads(line)) for line in out.read_text().splitlines() if line.strip()}


def run_one(agent: str, flip: float, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    argv = [
        "--env", "NoisyCartPole-v0", "--agent", agent, "--seed", str(seed), "-n", str(args.n_timesteps),
        "--env-kwargs", f"flip_prob:{flip}", "--eval-freq", str(args.eval_freq), "--eval-episodes",
        str(args.eval_episodes), "--final-eval-episodes", str(args.final_eval_episodes), "--save-freq", "0",
        "-f", args.log_folder, "--verbose", "0", "--no-tensorboard",
    ]  # fmt: skip
    if args.params:
        argv += ["-params", *args.params]
    summary = train_main(argv)
    summary.update(
        flip_prob=flip, n_timesteps=resolve_steps("NoisyCartPole-v0", agent, args.n_timesteps),
        steps_to_threshold=steps_to_threshold(summary["run_dir"])
    )
    if summary["stop_reason"] == "final":  # the learning curve, so that the record alone makes the tables
        steps, means = evaluation_curve(Path(summary["run_dir"]), int(summary["timesteps"]), summary["eval_mean"])
        summary.update(curve_timesteps=steps, curve_returns=means)
    summary["agent"] = agent + args.tag  # a variant (--params) is its own row in the tables
    summary["command"] = "python train/run.py " + shlex.join(argv)
    return summary


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", default=["scal_rl", "ppo", "dqn", "oracle"])
    parser.add_argument("--flips", nargs="+", type=float, default=[0.45, 0.3, 0.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("-n", "--n-timesteps", type=int, default=20_000)
    parser.add_argument("--eval-freq", type=int, default=4_000)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--final-eval-episodes", type=int, default=10)
    parser.add_argument("-f", "--log-folder", default="logs/scal_sweep")
    parser.add_argument("--out", default="eval/results/scal_rl/runs.jsonl")
    parser.add_argument("--params", nargs="*", default=[], help="hyperparameter overrides k:v (train/run.py -params)")
    parser.add_argument("--tag", default="", help="suffix of the agent name in the records, e.g. '+anneal'")
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["n_timesteps", "eval_episodes", "final_eval_episodes"], non_negative=["seeds", "flips"])
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = completed(out)
    for seed in args.seeds:  # seed-major: a cut-short sweep still covers every flip_prob
        for flip in args.flips:  # the flip_prob order is the priority order
            for agent in args.agents:
                if (agent + args.tag, flip, seed) in done:
                    continue
                record = run_one(agent, flip, seed, args)
                if record["stop_reason"] != "final":  # Ctrl+C or a session limit: not a finished run
                    print(f"sweep stopped: {agent} flip_prob={flip} seed={seed} ended by {record['stop_reason']}")
                    return
                with out.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
