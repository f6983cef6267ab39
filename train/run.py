"""Train an agent on an environment of the suite.

    python train/run.py --env NoisyCartPole-v0 --agent ppo
    python train/run.py --env NoisyCartPole-v0 --agent dqn -n 50000 --seed 1 --env-kwargs flip_prob:0.2

Reads top to bottom: parse, seed, build envs, build agent, learn, save, evaluate.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback, EvalCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.utils import set_random_seed

from agents.hyperparams import resolve_dotted_list, resolve_hyperparams
from agents.registry import get_entry, make_agent
from train.callbacks import EpisodicReturnCallback
from train.cli import parse_args
from train.config import RunConfig, resolve_config
from train.environments import check_env_id, import_gym_packages, make_env
from train.run_folder import create_run_folder, write_run_files, write_summary


def agent_callbacks(spec: str | list | None) -> list:
    """Callbacks named in the hyperparameters: dotted paths, or ``{path: kwargs}`` mappings."""
    return [callback_class(**kwargs) for callback_class, kwargs in resolve_dotted_list(spec)]


def build_callbacks(args: Any, config: RunConfig, run_dir: Path, eval_env: Any) -> CallbackList:
    """Evaluation on the separate eval env, checkpoints, and CleanRL's per-episode TensorBoard keys."""
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
    if args.save_freq > 0:
        callbacks.append(
            CheckpointCallback(
                save_freq=max(args.save_freq // config.n_envs, 1),
                save_path=str(run_dir / "checkpoints"),
                name_prefix="model",
                save_vecnormalize=True,
                verbose=args.verbose,
            )
        )
    return CallbackList(callbacks)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import_gym_packages(args.gym_packages)
    check_env_id(args.env)
    config = resolve_config(args)
    set_random_seed(config.seed)
    run_dir = create_run_folder(args.log_folder, config)
    write_run_files(run_dir, config, args)

    train_env = make_env(config, evaluation=False)
    eval_env = make_env(config, evaluation=True)
    tensorboard_log = None if args.no_tensorboard else (args.tensorboard_log or str(Path(args.log_folder) / "tb"))
    model = make_agent(
        config.agent,
        train_env,
        resolve_hyperparams(config.hyperparams),
        seed=config.seed,
        tensorboard_log=tensorboard_log,
        device=args.device,
        verbose=args.verbose,
    )

    start = time.time()
    if get_entry(config.agent).learns and config.n_timesteps > 0:
        model.learn(
            total_timesteps=config.n_timesteps,
            callback=build_callbacks(args, config, run_dir, eval_env),
            tb_log_name=run_dir.name,
            progress_bar=args.progress,
        )
    train_seconds = time.time() - start
    model.save(run_dir / "model")
    if hasattr(train_env, "save") and config.normalize:
        train_env.save(str(run_dir / "vecnormalize.pkl"))

    returns, lengths = evaluate_policy(
        model, eval_env, n_eval_episodes=args.final_eval_episodes, deterministic=True, return_episode_rewards=True
    )
    summary = {
        "env": config.env_id,
        "agent": config.agent,
        "seed": config.seed,
        "timesteps": int(getattr(model, "num_timesteps", 0)),
        "train_seconds": round(train_seconds, 2),
        "fps": round(getattr(model, "num_timesteps", 0) / train_seconds, 1) if train_seconds > 0 else None,
        "eval_mean": float(np.mean(returns)),
        "eval_std": float(np.std(returns)),
        "eval_episodes": len(returns),
        "eval_returns": [float(r) for r in returns],
        "run_dir": str(run_dir),
    }
    write_summary(run_dir, summary)
    print(
        f"{config.env_id} | {config.agent} | seed {config.seed} | {summary['timesteps']} steps in "
        f"{train_seconds:.0f}s | eval return {summary['eval_mean']:.1f} ± {summary['eval_std']:.1f} "
        f"over {len(returns)} episodes | {run_dir}"
    )
    train_env.close()
    eval_env.close()
    return summary


if __name__ == "__main__":
    try:
        main()
    except ValueError as error:  # bad input: one clear line, no traceback
        sys.exit(f"error: {error}")
