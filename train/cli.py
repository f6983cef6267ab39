"""Command-line arguments of ``train/run.py`` (flag names follow RL Baselines3 Zoo)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from agents.registry import AGENTS
from train.allocator import ALLOCATORS


def parse_key_values(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """Parse ``["key:value", ...]``; each value is read as YAML (``0.2`` -> float, ``[1, 2]`` -> list)."""
    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{flag} {item}: expected key:value pairs, e.g. {flag} name:0.2")
        try:
            parsed[key] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            problem = str(error).splitlines()[0]
            raise argparse.ArgumentTypeError(f"{flag} {item}: the value is not valid YAML ({problem})") from error
    return parsed


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser whose mistakes end in one line on stderr (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        exit_with_usage_error(self.prog, message)


def exit_with_usage_error(prog: str, error: Exception | str) -> NoReturn:
    """Print ``PROG: error: MESSAGE (see --help)`` as one line on stderr and exit with code 2."""
    message = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
    print(f"{prog}: error: {message} (see --help)", file=sys.stderr, flush=True)
    sys.exit(2)


def check_numbers(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, positive: Sequence[str] = (),
    non_negative: Sequence[str] = (),
) -> None:
    """Arguments named in ``positive`` must be > 0 and those in ``non_negative`` >= 0 (a number, or each number
    of a list); a violation exits through ``parser.error`` naming the flag and its value.

    Example:
        >>> check_numbers(OneLineParser(), argparse.Namespace(seeds=[0, 1], episodes=5), positive=["episodes"],
        ...               non_negative=["seeds"])
    """
    for names, strict in ((positive, True), (non_negative, False)):
        for name in names:
            value = getattr(args, name)
            bad = [v for v in (value if isinstance(value, list) else [value]) if v is not None and (v <= 0 if strict else v < 0)]
            if bad:
                parser.error(f"--{name.replace('_', '-')} {bad[0]}: must be {'> 0' if strict else '>= 0'}")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        description="Train an agent on an environment of the suite (or evaluate a reference agent).",
        epilog="exit codes: 0 done or stopped by --steps/--hours; 2 a command-line mistake (one line on stderr, "
               "nothing written); 130 stopped by Ctrl+C, 143 by SIGTERM, after the checkpoint and summary",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--env", default="NoisyCartPole-v0", help="registered environment id")
    parser.add_argument("--agent", default="ppo", choices=sorted(AGENTS), help="agent name from the registry")
    parser.add_argument("-n", "--n-timesteps", type=int, default=-1,
                        help="training steps, > 0 (-1: from hyperparams; agents that do not learn train 0)")
    parser.add_argument("--seed", type=int, default=0, help="run seed (training envs use seed..seed+n_envs-1)")
    parser.add_argument("--n-envs", type=int, default=-1, help="parallel training envs (-1: from hyperparams)")
    parser.add_argument("--eval-freq", type=int, default=10_000, help="evaluate every N steps (<=0: never)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="episodes per periodic evaluation")
    parser.add_argument("--final-eval-episodes", type=int, default=20, help="episodes of the final evaluation")
    parser.add_argument("--n-eval-envs", type=int, default=1,
                        help="evaluation envs run side by side (held-out seeds seed+offset+i; one batched forward "
                             "pass per step: faster evaluation of CNN agents)")
    parser.add_argument("--save-freq", type=int, default=0, help="also checkpoint every N steps (<=0: only by time)")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0, help="autosave every M minutes (<=0: never)")
    parser.add_argument("--keep-checkpoints", type=int, default=3, help="keep the newest N checkpoints (plus the best)")
    parser.add_argument("--no-keep-best", dest="keep_best", action="store_false",
                        help="keep only the newest --keep-checkpoints checkpoints, not also the best-scoring one "
                             "(each DQN checkpoint holds its replay buffer)")
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
    parser.add_argument("--neurogenesis", action="store_true",
                        help="SCAL-RL agents: grow prototypes when the active ones run out (features_extractor_kwargs "
                             "neurogenesis: true; docs/continual_learning.md)")
    parser.add_argument("--max-prototypes", type=int, default=None, metavar="N",
                        help="with --neurogenesis: prototype slots, >= the agent's n_prototypes (default: twice it)")
    parser.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE",
                        help="environment arguments, e.g. flip_prob:0.2 encoding:sign")
    parser.add_argument("-conf", "--conf-file", default=None, help="YAML hyperparameters (flat, or keyed by env id)")
    parser.add_argument("--gym-packages", nargs="+", default=[], help="extra modules that register env ids")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda")
    parser.add_argument("--num-threads", type=int, default=-1,
                        help="torch CPU threads (-1: torch's default); 1 is often fastest for small networks")
    parser.add_argument("--allocator", default="retain", choices=ALLOCATORS,
                        help="retain: keep freed memory for reuse (fewer page faults, faster CNN training on CPU); "
                             "system: the C library's defaults (train/allocator.py)")
    parser.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="SB3 verbosity")
    return parser


# Flags a resumed session may set (others, and these when not given, come from the run's args.yml).
SESSION_FLAGS = (
    "resume", "steps", "hours", "progress", "verbose", "device", "num_threads", "allocator", "checkpoint_minutes", "keep_checkpoints",
    "keep_best", "save_freq", "final_eval_episodes", "gym_packages",
)


def merge_resumed_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """On ``--resume``, take the run's saved arguments; reject flags that would change the run."""
    run_dir = Path(args.resume)
    if not run_dir.exists():
        parser.error(f"--resume {args.resume}: no such file or folder; allowed: a run folder (LOG_FOLDER/ENV__AGENT__SEED__TIME) "
                     "or one of its checkpoints (RUN/checkpoints/step_*)")
    run_dir = run_dir.parent.parent if run_dir.name.startswith("step_") else run_dir
    saved_path = run_dir / "args.yml"
    if not saved_path.exists():
        parser.error(f"--resume {args.resume}: not a run folder (no args.yml in {run_dir}); allowed: a run folder "
                     "(LOG_FOLDER/ENV__AGENT__SEED__TIME) or one of its checkpoints (RUN/checkpoints/step_*)")
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


def _check_session_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flags a resumed session may set, checked on every start."""
    for flag in ("hours", "steps"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            parser.error(f"--{flag} {value}: must be > 0")
    if args.keep_checkpoints < 1:
        parser.error(f"--keep-checkpoints {args.keep_checkpoints}: must be >= 1")
    if args.final_eval_episodes < 1:
        parser.error(f"--final-eval-episodes {args.final_eval_episodes}: must be >= 1")
    if args.num_threads == 0 or args.num_threads < -1:
        parser.error(f"--num-threads {args.num_threads}: must be >= 1 (or -1 for torch's default)")


def _check_run_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flags that define a new run."""
    if args.n_timesteps == 0 or args.n_timesteps < -1:
        parser.error(f"-n/--n-timesteps {args.n_timesteps}: must be > 0 (or -1 for the hyperparameter file's budget)")
    if not 0 <= args.seed < 2**31:
        parser.error(f"--seed {args.seed}: must be in [0, 2**31)")
    if args.n_envs == 0 or args.n_envs < -1:
        parser.error(f"--n-envs {args.n_envs}: must be >= 1 (or -1 for the hyperparameter file)")
    if args.eval_episodes < 1:
        parser.error(f"--eval-episodes {args.eval_episodes}: must be >= 1")
    if args.n_eval_envs < 1:
        parser.error(f"--n-eval-envs {args.n_eval_envs}: must be >= 1")
    if args.max_prototypes is not None and not args.neurogenesis:
        parser.error(f"--max-prototypes {args.max_prototypes}: needs --neurogenesis")
    if args.max_prototypes is not None and args.max_prototypes < 1:
        parser.error(f"--max-prototypes {args.max_prototypes}: must be >= 1 (and >= the agent's n_prototypes)")
    if args.conf_file is not None and not Path(args.conf_file).is_file():
        parser.error(f"-conf/--conf-file {args.conf_file}: no such file; allowed: a YAML file of hyperparameters")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate; a mistake exits with code 2 and one line naming the flag and the allowed values."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_session_flags(parser, args)
    if args.resume is not None:
        return merge_resumed_args(parser, args)
    _check_run_flags(parser, args)
    try:
        args.hyperparams = parse_key_values(args.hyperparams, "-params")
        args.env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    return args
