"""NoisyPong-v0's solvability curve: the oracle's raw game score against flip_prob and the frame delay.

    nice -n 10 python eval/experiments/noisy_pong_oracle.py -o eval/results/noisy_pong/oracle --jobs 2

Plays whole games (21 points) of:

* ``oracle``: Bayesian tracking from the noisy, delayed frames + intercept control, in every cell
  flip_prob x delay;
* ``pong_clean_reference``: the same controller fed the true positions (clean frames), the controller's
  ceiling; it does not depend on the camera, so it plays on the clean pipeline only;
* ``random``: uniform random actions (chance), which does not depend on the camera either.

Games run one BLAS thread per process. Every finished game is appended to ``games.csv`` at once (a rerun skips the games already there, so an
interrupted run resumes); ``--summarise`` (also run at the end) writes ``solvability.csv``/``.md`` (mean
± std over seeds of each seed's mean score) and ``solvability.png``. Games are ordered so that every cell
gets its first games before any gets its last. Game ``k`` of seed ``s`` resets the env with
``EVAL_SEED_OFFSET + 100 s + k``.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from threadpoolctl import threadpool_limits

import envs  # noqa: F401
from agents.registry import make_agent
from envs.noisy_pong_config import NoisyPongConfig, parse_obs_delay
from train.environments import EVAL_SEED_OFFSET

FLIP_PROBS = (0.0, 0.1, 0.2, 0.3)


def delay_name(obs_delay: Any) -> str:
    """``"off"``, ``"1"`` or ``"1-3"``: the name of an ``obs_delay`` in the cells and ``--delays``."""
    low, high = parse_obs_delay(obs_delay)
    return "off" if high == 0 else str(low) if low == high else f"{low}-{high}"


DELAYS = {delay_name(delay): delay for delay in (None, (1, 1), (1, 2), (1, 3), NoisyPongConfig().obs_delay)}
DEFAULT_CELL = (NoisyPongConfig().flip_prob, delay_name(NoisyPongConfig().obs_delay))  # where random (chance) plays
FIELDS = ["agent", "flip_prob", "delay", "seed", "game", "score", "steps", "seconds", "cpu_seconds"]


def play_game(job: dict) -> dict:
    """Play one whole game of ``job['agent']`` on one BLAS thread and return its row.

    One thread: the ball filter's delay mixture is a BLAS product, and on a busy machine BLAS threads that
    wait for each other cost up to 5x the CPU time (the actions are the same).
    """
    with threadpool_limits(limits=1):
        return play_one_game(job)


def play_one_game(job: dict) -> dict:
    env = gym.make("NoisyPong-v0", flip_prob=job["flip_prob"], obs_delay=DELAYS[job["delay"]])
    agent = make_agent(job["agent"], env, seed=job["seed"])
    obs, _ = env.reset(seed=EVAL_SEED_OFFSET + 100 * job["seed"] + job["game"])
    state, score, steps, start, cpu_start = None, 0.0, 0, time.perf_counter(), time.process_time()
    episode_start = np.array([True])
    while True:
        action, state = agent.predict(obs, state, episode_start, deterministic=True)
        episode_start = np.array([False])
        obs, reward, terminated, truncated, _ = env.step(int(action))
        score, steps = score + reward, steps + 1
        if terminated or truncated:
            break
    env.close()
    return {**job, "score": score, "steps": steps, "seconds": round(time.perf_counter() - start, 1),
            "cpu_seconds": round(time.process_time() - cpu_start, 1)}


def plan(args: argparse.Namespace) -> list[dict]:
    """Every game to play, first games of every cell first."""
    cells = [("oracle", f, d) for d in args.delays for f in args.flip_probs]
    cells += [("pong_clean_reference", 0.0, "off"), ("random", *DEFAULT_CELL)]
    return [
        {"agent": agent, "flip_prob": flip, "delay": delay, "seed": seed, "game": game}
        for game in range(args.games)
        for seed in args.seeds
        for agent, flip, delay in cells
        if agent in args.agents
    ]


def key(row: dict) -> tuple:
    return row["agent"], float(row["flip_prob"]), row["delay"], int(row["seed"]), int(row["game"])


def read_games(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def summarise(games: list[dict], out: Path) -> list[dict]:
    """Per cell: mean ± std over seeds of each seed's mean score; CSV, Markdown table and plot."""
    cells: dict[tuple, dict[int, list[float]]] = {}
    for row in games:
        cell = (row["agent"], float(row["flip_prob"]), row["delay"])
        cells.setdefault(cell, {}).setdefault(int(row["seed"]), []).append(float(row["score"]))
    rows = []
    for (agent, flip, delay), per_seed in sorted(cells.items()):
        means = [float(np.mean(scores)) for scores in per_seed.values()]
        rows.append({
            "agent": agent, "flip_prob": flip, "delay": delay, "mean": round(float(np.mean(means)), 1),
            "std": round(float(np.std(means)), 1), "seeds": len(means), "games": sum(map(len, per_seed.values())),
            "min": min(min(s) for s in per_seed.values()), "max": max(max(s) for s in per_seed.values()),
        })
    with open(out / "solvability.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| agent | flip_prob | delay | raw score (mean ± std over seeds) | seeds | games | min | max |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['agent']} | {r['flip_prob']} | {r['delay']} | {r['mean']:+.1f} ± {r['std']:.1f} | {r['seeds']} | "
              f"{r['games']} | {r['min']:+.0f} | {r['max']:+.0f} |" for r in rows]
    (out / "solvability.md").write_text("\n".join(lines) + "\n")
    plot(rows, out / "solvability.png")
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for delay, marker in zip(DELAYS, "o^dsvp", strict=False):
        cell = sorted((r for r in rows if r["agent"] == "oracle" and r["delay"] == delay), key=lambda r: r["flip_prob"])
        if cell:
            ax.errorbar([r["flip_prob"] for r in cell], [r["mean"] for r in cell], yerr=[r["std"] for r in cell],
                        marker=marker, capsize=3, label=f"oracle, delay {delay}")
    for agent, style in (("pong_clean_reference", "--"), ("random", ":")):
        ref = [r for r in rows if r["agent"] == agent]
        if ref:
            ax.axhline(ref[0]["mean"], linestyle=style, color="gray", label=f"{agent} ({ref[0]['mean']:+.1f})")
    ax.axhline(15, color="red", linewidth=0.8, label="target +15")
    ax.set_xlabel("flip_prob")
    ax.set_ylabel("raw game score (21 points)")
    ax.set_ylim(-21.5, 21.5)
    ax.set_title("NoisyPong-v0: oracle score against camera noise")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", default="eval/results/noisy_pong/oracle")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--games", type=int, default=3, help="games per seed and cell")
    parser.add_argument("--flip-probs", type=float, nargs="+", default=list(FLIP_PROBS))
    parser.add_argument("--delays", nargs="+", choices=sorted(DELAYS), default=list(DELAYS))
    parser.add_argument("--agents", nargs="+", default=["oracle", "pong_clean_reference", "random"],
                        choices=["oracle", "pong_clean_reference", "random"])
    parser.add_argument("--jobs", type=int, default=1, help="games played at once (processes)")
    parser.add_argument("--summarise", action="store_true", help="only rebuild the tables and plot from games.csv")
    args = parser.parse_args()

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    games_path = out / "games.csv"
    if not args.summarise:
        done = {key(row) for row in read_games(games_path)}
        todo = [job for job in plan(args) if key(job) not in done]
        new_file = not games_path.exists()
        with open(games_path, "a", newline="") as handle, multiprocessing.Pool(args.jobs) as pool:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            if new_file:
                writer.writeheader()
            for row in pool.imap(play_game, todo):
                writer.writerow(row)
                handle.flush()
                print(row, flush=True)
    summarise(read_games(games_path), out)
    print((out / "solvability.md").read_text())


if __name__ == "__main__":
    main()
