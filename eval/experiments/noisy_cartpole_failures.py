"""Why NoisyCartPole-v0 episodes end early: replay a finished run and name what left its bounds.

    python -m eval.experiments.noisy_cartpole_failures RUN_DIR --episodes 30 --seed 10000

Each episode of the run's model (deterministic actions, the run's evaluation env) ends ``none`` (it lasted
to the time limit), ``cart`` (the cart left the track, ``|x| > 2.4``) or ``pole`` (the pole passed 12°), read
from the env's true state in ``info["state"]`` on the terminating step.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from stable_baselines3.common.utils import set_random_seed

from agents.registry import load_agent
from envs.cartpole_physics import X_LIMIT
from eval.enjoy import find_model
from train.cli import OneLineParser, check_numbers
from train.config import load_run_config
from train.environments import EVAL_SEED_OFFSET, import_gym_packages, make_env


def end_cause(state: np.ndarray, terminated: bool) -> str:
    """``none`` for an episode that was not terminated, else ``cart`` or ``pole`` from the final true state."""
    if not terminated:
        return "none"
    return "cart" if abs(float(state[0])) > X_LIMIT else "pole"


def episode_ends(run_dir: str | Path, episodes: int, seed: int | None = None) -> list[tuple[int, str]]:
    """``(length, cause)`` of ``episodes`` deterministic episodes of a NoisyCartPole-v0 run's final model."""
    config = load_run_config(Path(run_dir))
    if config.env_id != "NoisyCartPole-v0":
        raise ValueError(f"run_dir {run_dir} holds a {config.env_id} run; allowed: NoisyCartPole-v0")
    import_gym_packages([])
    set_random_seed(config.seed)
    venv = make_env(config, evaluation=True, n_envs=1)
    try:
        model = load_agent(config.agent, str(find_model(run_dir)), env=venv, algo=config.hyperparams.get("algo"),
                           env_seed=config.seed + EVAL_SEED_OFFSET if seed is None else seed)
        observation, state, starts = venv.reset(), None, np.ones(1, dtype=bool)
        ends, length = [], 0
        while len(ends) < episodes:
            action, state = model.predict(observation, state=state, episode_start=starts, deterministic=True)
            observation, _, starts, infos = venv.step(action)
            length += 1
            if starts[0]:
                truncated = bool(infos[0].get("TimeLimit.truncated", False))
                ends.append((length, end_cause(infos[0]["state"], terminated=not truncated)))
                length = 0
        return ends
    finally:
        venv.close()


def main(argv: Sequence[str] | None = None) -> list[tuple[int, str]]:
    parser = OneLineParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a finished NoisyCartPole-v0 run folder")
    parser.add_argument("--episodes", type=int, default=30, help="episodes to play")
    parser.add_argument("--seed", type=int, default=None, help="seed of the episodes; None: the run's evaluation seeds")
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["episodes"])
    ends = episode_ends(args.run_dir, args.episodes, args.seed)
    causes = Counter(cause for _, cause in ends)
    print(f"mean length {np.mean([length for length, _ in ends]):.1f} over {len(ends)} episodes; "
          f"ended by the time limit {causes['none']}, cart {causes['cart']}, pole {causes['pole']}")  # fmt: skip
    return ends


if __name__ == "__main__":
    main()
