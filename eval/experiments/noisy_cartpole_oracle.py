"""The oracle's return on NoisyCartPole-v0 against flip_prob, beside the channel capacity.

    python eval/experiments/noisy_cartpole_oracle.py -o eval/results/noisy_cartpole

Writes ``oracle_vs_flip_prob.csv`` and ``.md``: for each flip_prob, ``bits_per_step`` of the env and
the oracle's mean ± std (over seeds) of its mean evaluation return. Evaluation seeds are disjoint
from training seeds (``seed + EVAL_SEED_OFFSET``), as in ``train/run.py``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

import envs  # noqa: F401
from agents.registry import make_agent
from eval.tables import markdown_table
from train.cli import OneLineParser, check_numbers
from train.environments import EVAL_SEED_OFFSET

FLIP_PROBS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.45)


def oracle_returns(flip_prob: float, seed: int, episodes: int, env_kwargs: dict) -> float:
    env = make_vec_env(
        "NoisyCartPole-v0", n_envs=4, seed=seed + EVAL_SEED_OFFSET, env_kwargs={**env_kwargs, "flip_prob": flip_prob}
    )
    mean, _ = evaluate_policy(make_agent("oracle", env), env, n_eval_episodes=episodes)
    env.close()
    return float(mean)


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", default="eval/results/noisy_cartpole")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes per seed")
    parser.add_argument("--flip-probs", type=float, nargs="+", default=list(FLIP_PROBS))
    args = parser.parse_args()
    check_numbers(parser, args, positive=["episodes"], non_negative=["seeds", "flip_probs"])

    rows = []
    for flip_prob in args.flip_probs:
        per_seed = [oracle_returns(flip_prob, seed, args.episodes, {}) for seed in args.seeds]
        bits = gym.make("NoisyCartPole-v0", flip_prob=flip_prob).unwrapped.bits_per_step
        rows.append(
            {
                "flip_prob": flip_prob,
                "bits_per_step": round(bits, 2),
                "oracle_mean": round(float(np.mean(per_seed)), 1),
                "oracle_std": round(float(np.std(per_seed)), 1),
                "seeds": len(args.seeds),
                "episodes_per_seed": args.episodes,
            }
        )
        print(rows[-1], flush=True)

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "oracle_vs_flip_prob.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    table = markdown_table(
        {
            "flip_prob": [str(r["flip_prob"]) for r in rows],
            "bits_per_step": [str(r["bits_per_step"]) for r in rows],
            "oracle return (mean ± std over seeds)": [f"{r['oracle_mean']} ± {r['oracle_std']}" for r in rows],
        }
    )
    (out / "oracle_vs_flip_prob.md").write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
