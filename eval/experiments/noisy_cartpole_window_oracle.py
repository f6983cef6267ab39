"""How well can an agent that sees only its last W observations do on NoisyCartPole-v0?

    python eval/experiments/noisy_cartpole_window_oracle.py -o eval/results/noisy_cartpole

The oracle (exact decoding of the bits, Kalman filter on the CartPole dynamics with the forces sent, LQR)
restricted to a window of the last W observations (:class:`agents.oracle.WindowedCartPoleOracle`): the
ceiling of any agent whose input is a W-frame stack and its past actions. Writes ``oracle_window.csv`` and
``.md``: per window, the mean ± std over seeds of the mean return, and the share of episodes reaching 195.
Evaluation seeds are disjoint from training seeds (``seed + EVAL_SEED_OFFSET``), as in ``train/run.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

import envs  # noqa: F401
from agents.oracle import CartPoleOracle, WindowedCartPoleOracle
from eval.tables import markdown_table, write_csv
from train.cli import OneLineParser, check_numbers
from train.environments import EVAL_SEED_OFFSET

SOLVED = 195.0


def episode_returns(window: int | None, flip_prob: float, seed: int, episodes: int) -> np.ndarray:
    """Returns of ``episodes`` episodes of the oracle with this window (``None``: the whole episode)."""
    env = make_vec_env("NoisyCartPole-v0", n_envs=4, seed=seed + EVAL_SEED_OFFSET, env_kwargs={"flip_prob": flip_prob})
    agent = CartPoleOracle(env) if window is None else WindowedCartPoleOracle(env, window=window)
    returns, _ = evaluate_policy(agent, env, n_eval_episodes=episodes, return_episode_rewards=True)
    env.close()
    return np.asarray(returns, dtype=float)


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", default="eval/results/noisy_cartpole")
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=50, help="evaluation episodes per seed")
    parser.add_argument("--flip-prob", type=float, default=0.45)
    args = parser.parse_args()
    check_numbers(parser, args, positive=["windows", "episodes"], non_negative=["seeds", "flip_prob"])

    rows = []
    for window in [*args.windows, None]:
        per_seed = [episode_returns(window, args.flip_prob, seed, args.episodes) for seed in args.seeds]
        rows.append(
            {
                "window": "whole episode" if window is None else window,
                "return_mean": round(float(np.mean([r.mean() for r in per_seed])), 1),
                "return_std": round(float(np.std([r.mean() for r in per_seed])), 1),
                "episodes_at_195": round(float(np.mean(np.concatenate(per_seed) >= SOLVED)), 3),
                "seeds": len(args.seeds),
                "episodes_per_seed": args.episodes,
                "flip_prob": args.flip_prob,
            }
        )
        print(rows[-1], flush=True)
    write_tables(rows, Path(args.output))


def write_tables(rows: list[dict], out: Path) -> None:
    """``oracle_window.csv`` (the rows) and ``oracle_window.md`` (the table) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(pd.DataFrame(rows), out / "oracle_window.csv")
    table = markdown_table(
        {
            "observations the filter sees": [str(r["window"]) for r in rows],
            "return (mean ± std over seeds)": [f"{r['return_mean']} ± {r['return_std']}" for r in rows],
            "episodes ≥ 195": [f"{100 * r['episodes_at_195']:.0f}%" for r in rows],
        }
    )
    (out / "oracle_window.md").write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
