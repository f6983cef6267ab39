"""Train an agent on an environment of the suite, continuously if asked, with exact resume.

    python train/run.py --env NoisyCartPole-v0 --agent ppo
    python train/run.py --env NoisyCartPole-v0 --agent dqn --hours 8 --env-kwargs flip_prob:0.2
    python train/run.py --resume logs/NoisyCartPole-v0__dqn__0__20261121-120000

Reads top to bottom: parse, seed, build envs, build (or restore) agent, learn, save, evaluate.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import HumanOutputFormat, Logger
from stable_baselines3.common.utils import set_random_seed

from agents.hyperparams import merge_entries, resolve_dotted_list, resolve_hyperparams
from agents.registry import get_entry, load_agent
from train.allocator import configure_allocator
from train.callbacks import EpisodicReturnCallback
from train.checkpoint import CheckpointContents, apply_retention, load_checkpoint, restore_rng, save_checkpoint
from train.checks import UsageError, build_agent, build_env, check_budget, check_device, check_reference_agent_fits
from train.cli import exit_with_usage_error, parse_args
from train.config import RunConfig, load_run_config, resolve_config
from train.continuous import ContinuousLearning, StopTraining, callbacks_state, restore_callbacks_state
from train.environments import check_env_id, import_gym_packages
from train.run_folder import append_command, create_run_folder, write_run_files, write_summary
from train.versions import package_versions


def agent_callbacks(spec: str | list | None) -> list:
    """Callbacks named in the hyperparameters: dotted paths, or ``{path: kwargs}`` mappings."""
    return [callback_class(**kwargs) for callback_class, kwargs in resolve_dotted_list(spec)]


def build_callbacks(args: Any, config: RunConfig, run_dir: Path, eval_env: Any) -> list[BaseCallback]:
    """CleanRL's per-episode keys, the agent's own callbacks, and evaluation on the separate eval env."""
    callbacks = [EpisodicReturnCallback(), *agent_callbacks(config.callback)]
    if args.eval_freq > 0:
        callbacks.append(
            EvalCallback(
                eval_env,
                n_eval_episodes=args.eval_episodes,
                eval_freq=max(args.eval_freq // config.n_envs, 1),
                best_model_save_path=str(run_dir),
                log_path=str(run_dir),
                deterministic=True,
                verbose=args.verbose,
            )
        )
    return callbacks


def apply_growth_flags(args: Any, config: RunConfig) -> None:
    """``--neurogenesis`` / ``--max-prototypes`` into the SCAL perception's ``features_extractor_kwargs``."""
    if not getattr(args, "neurogenesis", False):
        return
    if "agents.scal." not in str(config.hyperparams.get("policy", "")):
        raise UsageError(f"--neurogenesis grows SCAL-RL prototypes; --agent {config.agent} has no SCAL perception "
                         "(allowed: the scal_* agents)")
    growth = {"neurogenesis": True} if args.max_prototypes is None else {"neurogenesis": True,
                                                                         "max_prototypes": args.max_prototypes}
    config.hyperparams = merge_entries(config.hyperparams, {"policy_kwargs": {"features_extractor_kwargs": growth}})


def start(args: Any) -> tuple[RunConfig, Path, Any, Any, Any, None]:
    """A fresh run: check everything, build envs and agent, and only then make the run folder."""
    config = resolve_config(args)
    apply_growth_flags(args, config)
    check_env_id(config.env_id)
    check_budget(config)
    set_random_seed(config.seed)
    train_env, eval_env = build_env(config, evaluation=False), build_env(config, evaluation=True)
    tensorboard_log = None if args.no_tensorboard else (args.tensorboard_log or str(Path(args.log_folder) / "tb"))
    model = build_agent(config, train_env, resolve_hyperparams(config.hyperparams), args.hyperparams,
                        tensorboard_log=tensorboard_log, device=args.device, verbose=args.verbose)
    check_reference_agent_fits(config, model, eval_env)
    run_dir = create_run_folder(args.log_folder, config)
    write_run_files(run_dir, config, args)
    return config, run_dir, train_env, eval_env, model, None


def resume(args: Any) -> tuple[RunConfig, Path, Any, Any, Any, CheckpointContents]:
    """The exact state of a checkpoint, in its own run folder."""
    checkpoint = load_checkpoint(args.resume)
    run_dir = checkpoint.path.parent.parent
    config = load_run_config(run_dir)
    check_env_id(config.env_id)
    train_env, eval_env = checkpoint.train_env, checkpoint.eval_env
    model = load_agent(config.agent, str(checkpoint.model_path), env=train_env, device=args.device,
                       algo=config.hyperparams.get("algo"), force_reset=False)
    if checkpoint.replay_buffer_path is not None:
        model.load_replay_buffer(checkpoint.replay_buffer_path)
    # SB3's load re-seeds the model's action space (the RNG of epsilon-greedy draws); in a straight run
    # it is the env's own object, which the checkpoint pickled with its exact RNG state.
    model.action_space = train_env.action_space
    append_command(run_dir)
    return config, run_dir, train_env, eval_env, model, checkpoint


def start_or_resume(args: Any) -> tuple[RunConfig, Path, Any, Any, Any, CheckpointContents | None]:
    """A fresh run or a resumed one; any mistake in the command line is a :class:`UsageError`."""
    try:
        check_device(args.device)
        import_gym_packages(args.gym_packages)
    except ModuleNotFoundError as error:
        raise UsageError(f"--gym-packages {' '.join(args.gym_packages)}: {error}; allowed: importable modules") from error
    try:
        return start(args) if args.resume is None else resume(args)
    except UsageError:
        raise
    except ValueError as error:  # bad values the envs, agents or checkpoints refused
        raise UsageError(str(error)) from error


def train(args: Any, config: RunConfig, run_dir: Path, envs: tuple, model: Any, checkpoint: Any) -> dict[str, Any]:
    """Learn until the budget, a limit or a signal; checkpoint at rollout boundaries; return what happened."""
    callbacks = build_callbacks(args, config, run_dir, envs[1])
    previous_seconds = checkpoint.meta.get("wall_seconds", 0.0) if checkpoint else 0.0
    start = time.time()

    def save(reason: str) -> Path:
        evaluations = next((c for c in callbacks if isinstance(c, EvalCallback)), None)
        meta = {"env": config.env_id, "agent": config.agent, "seed": config.seed,
                "wall_seconds": round(previous_seconds + time.time() - start, 2),
                "episodes": callbacks[0].episodes, "updates": int(getattr(model, "_n_updates", 0)),
                "last_mean_reward": None if evaluations is None or not evaluations.evaluations_results
                else float(evaluations.last_mean_reward)}
        path = save_checkpoint(run_dir, model=model, envs=envs, callback_state=callbacks_state(callbacks),
                               reason=reason, meta=meta)
        apply_retention(run_dir, args.keep_checkpoints, args.keep_best)
        return path

    continuous = ContinuousLearning(
        save,
        max_steps=args.steps,
        max_seconds=args.hours * 3600 if args.hours else None,
        autosave_seconds=args.checkpoint_minutes * 60 if args.checkpoint_minutes > 0 else None,
        autosave_steps=args.save_freq if args.save_freq > 0 else None,
    )
    if checkpoint is not None:
        restore_callbacks_state(callbacks, checkpoint.callback_state)
        restore_rng(checkpoint.rng)  # last: building the agent and callbacks must not disturb it
    if model.tensorboard_log is None:  # SB3's default logger would make an empty /tmp/SB3-<time> folder
        model.set_logger(Logger(folder=None, output_formats=[HumanOutputFormat(sys.stdout)] if args.verbose else []))
    remaining = config.n_timesteps - model.num_timesteps
    outcome = {"reason": "final", "checkpoint": None}
    if remaining > 0:
        try:
            model.learn(total_timesteps=remaining, callback=[*callbacks, continuous], tb_log_name=run_dir.name,
                        reset_num_timesteps=checkpoint is None, progress_bar=args.progress)
        except StopTraining:  # saved at a rollout boundary, before any step of the next rollout
            pass
        except KeyboardInterrupt:
            continuous.stop_reason = "interrupted"
            continuous.save("interrupted")
        finally:
            continuous.restore_signal_handlers()
            model.logger.close()  # flush the TensorBoard events of this session
    outcome["reason"] = continuous.stop_reason or "final"
    outcome["signal"] = continuous.signal_name or ("SIGINT" if outcome["reason"] == "interrupted" else None)
    outcome["checkpoint"] = continuous.last_checkpoint if continuous.stop_reason else save("final")
    outcome["session_seconds"] = time.time() - start
    outcome["wall_seconds"] = previous_seconds + outcome["session_seconds"]
    outcome["steps"] = int(model.num_timesteps) if outcome["reason"] == "final" else continuous.last_save_steps
    outcome["episodes"], outcome["updates"] = callbacks[0].episodes, int(getattr(model, "_n_updates", 0))
    return outcome


def report(config: RunConfig, run_dir: Path, model: Any, outcome: dict, returns: list | None) -> dict[str, Any]:
    """Write ``summary.json`` and print the closing lines (and how to resume, if the run stopped early)."""
    steps = outcome["steps"]
    summary = {
        "env": config.env_id, "agent": config.agent, "seed": config.seed, "timesteps": steps,
        "stop_reason": outcome["reason"], "stop_signal": outcome.get("signal"), "train_seconds": round(outcome["wall_seconds"], 2),
        "fps": round(steps / outcome["wall_seconds"], 1) if outcome["wall_seconds"] > 0 and steps else None,
        "updates": outcome["updates"], "episodes": outcome["episodes"],
        "checkpoint": str(outcome["checkpoint"]) if outcome["checkpoint"] else None, "run_dir": str(run_dir),
        "versions": package_versions(),
    }
    if returns is not None:
        summary.update(eval_mean=float(np.mean(returns)), eval_std=float(np.std(returns)),
                       eval_episodes=len(returns), eval_returns=[float(r) for r in returns])
    write_summary(run_dir, summary)
    line = f"{config.env_id} | {config.agent} | seed {config.seed} | {steps} steps in {outcome['wall_seconds']:.0f}s"
    if returns is not None:
        line += f" | eval return {summary['eval_mean']:.1f} ± {summary['eval_std']:.1f} over {len(returns)} episodes"
    print(f"{line} | {run_dir}")
    if outcome["reason"] != "final":
        print(f"stopped ({outcome['reason']}) after {steps} steps, {summary['episodes']} episodes, "
              f"{summary['updates']} updates, {outcome['session_seconds']:.0f}s this session; "
              f"checkpoint {outcome['checkpoint']}\nresume with: python train/run.py --resume {outcome['checkpoint']}")
    return summary


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train (or resume) one run and return its summary; command-line mistakes raise :class:`UsageError`."""
    args = parse_args(argv)
    if getattr(args, "num_threads", -1) > 0:
        torch.set_num_threads(args.num_threads)
    configure_allocator(getattr(args, "allocator", "retain"))
    config, run_dir, train_env, eval_env, model, checkpoint = start_or_resume(args)

    learns = get_entry(config.agent).learns
    if learns:
        outcome = train(args, config, run_dir, (train_env, eval_env), model, checkpoint)
        shutil.copy(Path(outcome["checkpoint"]) / "model.zip", run_dir / "model.zip")
    else:
        model.save(run_dir / "model")
        outcome = {"reason": "final", "checkpoint": None, "session_seconds": 0.0, "wall_seconds": 0.0, "steps": 0,
                   "episodes": 0, "updates": 0}

    returns = None
    if outcome["reason"] == "final":
        returns, _ = evaluate_policy(model, eval_env, n_eval_episodes=args.final_eval_episodes, deterministic=True,
                                     return_episode_rewards=True)
    summary = report(config, run_dir, model, outcome, returns)
    train_env.close()
    eval_env.close()
    return summary


# Exit codes of a run stopped by a signal after its checkpoint and summary: 128 + the signal, as shells report it.
EXIT_ON_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}


def cli(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``neuro-rl-train``).

    Exit codes: 0 done (or stopped by ``--steps``/``--hours``), 2 a command-line mistake (one line on stderr,
    a bad checkpoint included), 130 stopped by Ctrl+C (143 by SIGTERM) after saving its checkpoint and summary.
    """
    try:
        summary = main(argv)
    except UsageError as error:
        exit_with_usage_error(Path(sys.argv[0]).name if argv is None else "run.py", error)
    sys.exit(EXIT_ON_SIGNAL.get(summary["stop_signal"], 0))


if __name__ == "__main__":
    cli()
