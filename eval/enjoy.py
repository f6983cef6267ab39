"""Replay a finished run: load its model with its own config, play evaluation episodes, print returns, record a video.

    python -m eval.enjoy logs/NoisyCartPole-v0__ppo__0__20261121-120000 --episodes 3 --video cartpole.mp4
    python -m eval.enjoy RUN_DIR --model best --deterministic --seed 7 --video episode.gif

Episodes are played on a fresh evaluation env of the run (its wrappers, and seeds ``seed + 1,000,000`` as in
training's evaluations, unless ``--seed``), as ``eval/reevaluate.py`` plays them: the same arguments replay the
same episodes. Each video frame shows the clean scene beside the observation the agent received, the action it chose
and what the env did with it (see :mod:`eval.watch.views`). Formats: ``.mp4`` (H.264), ``.webm`` (VP9), ``.gif``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.utils import set_random_seed

from agents.registry import load_agent
from envs.synapse_multi import MULTI_AGENT_ENVS
from eval.watch.play import Replay, play, replay_env
from eval.watch.video import check_video_path, write_video
from train.cli import OneLineParser, check_numbers, exit_with_usage_error
from train.config import load_run_config
from train.environments import EVAL_SEED_OFFSET, check_env_id, import_gym_packages

MODEL_FILES = {"final": ("model.zip", "model.json"), "best": ("best_model.zip",)}


def find_model(run_dir: str | Path, which: str = "final") -> Path:
    """The saved model of a run folder (``final``: ``model.zip``, or ``model.json`` of a non-learning agent;
    ``best``: EvalCallback's ``best_model.zip``); ``ValueError`` naming what is missing."""
    run_dir = Path(run_dir)
    if which not in MODEL_FILES:
        raise ValueError(f"--model {which!r} is invalid; allowed: {', '.join(MODEL_FILES)}")
    if not run_dir.is_dir():
        raise ValueError(f"run folder {run_dir} does not exist")
    if not (run_dir / "config.yml").exists():
        raise ValueError(f"{run_dir} is not a run folder: it has no config.yml")
    for name in MODEL_FILES[which]:
        if (run_dir / name).exists():
            return run_dir / "model.zip" if name == "model.json" else run_dir / name  # load_agent reads .json itself
    raise ValueError(f"run folder {run_dir} has no {' or '.join(MODEL_FILES[which])} (an unfinished run?)")


def replay_run(
    run_dir: str | Path,
    episodes: int = 1,
    deterministic: bool = True,
    seed: int | None = None,
    which: str = "final",
    max_frames: int = 2000,
) -> Replay:
    """Load a run's model and config and play ``episodes`` episodes on its evaluation env (see the module doc)."""
    if episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {episodes}")
    if max_frames < 0:
        raise ValueError(f"--max-frames must be >= 0, got {max_frames}")
    path = find_model(run_dir, which)
    config = load_run_config(Path(run_dir))
    import_gym_packages([])
    check_env_id(config.env_id)
    if config.env_id in MULTI_AGENT_ENVS:
        raise ValueError(f"{config.env_id} is a multi-agent env; eval.enjoy replays single-agent envs only")
    set_random_seed(config.seed if seed is None else seed)
    venv, view = replay_env(config)
    try:
        model = load_agent(config.agent, str(path), env=venv, algo=config.hyperparams.get("algo"),
                           env_seed=config.seed + EVAL_SEED_OFFSET if seed is None else seed)
        return play(model, venv, view, episodes, deterministic, max_frames)
    finally:
        venv.close()


PROG = "python -m eval.enjoy"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Replay a finished run: play episodes with its model, print returns, record a video.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, help="run folder (config.yml and model.zip)")
    parser.add_argument("--episodes", type=int, default=1, help="episodes to play")
    parser.add_argument(
        "--deterministic", action="store_true", help="the policy's most likely action (as in evaluations)"
    )
    parser.add_argument("--video", default=None, metavar="FILE", help="write a video: FILE.mp4, FILE.webm or FILE.gif")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"seed of the episodes; None: the run's seed + {EVAL_SEED_OFFSET:,} (its evaluation seeds)",
    )
    parser.add_argument("--model", default="final", choices=sorted(MODEL_FILES), help="final model or best_model.zip")
    parser.add_argument("--max-frames", type=int, default=2000, help="frames recorded at most (the first steps)")
    parser.add_argument("--fps", type=int, default=None, help="video frame rate; None: the env's render_fps")
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Replay, print the returns, write the video; returns the replay and the video path."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["episodes", "max_frames", "fps"])
    if args.video is not None:
        check_video_path(args.video)
    replay = replay_run(args.run_dir, args.episodes, args.deterministic, args.seed, args.model,
                        args.max_frames if args.video else 0)  # fmt: skip
    for index, (value, length) in enumerate(zip(replay.returns, replay.lengths, strict=True)):
        print(f"episode {index + 1}: return {value:.4g} ({length} steps)")
    print(
        f"mean return {np.mean(replay.returns):.4g} ± {np.std(replay.returns):.3g} over {len(replay.returns)} episodes"
    )
    video = None
    if args.video is not None:
        video = write_video(args.video, replay.frames, args.fps or replay.fps)
        print(f"video: {video} ({len(replay.frames)} frames at {args.fps or replay.fps} fps)")
    return {"replay": replay, "video": video}


def run_cli(command: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None, prog: str) -> None:
    """Run a command's ``main``: bad input (a ``ValueError``) ends in one ``PROG: error:`` line, exit status 2."""
    try:
        command(argv)
    except ValueError as error:
        exit_with_usage_error(prog, error)


def cli(argv: Sequence[str] | None = None) -> None:
    """Entry point: bad input (a missing run folder or model, an unknown video format) ends in one line, exit 2."""
    run_cli(main, argv, PROG)


if __name__ == "__main__":
    cli()
