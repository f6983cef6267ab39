"""Continual learning on NoisyCartPoleStream-v0: SCAL-RL with and without prototype growth and replay mixing, and PPO.

Each run trains on the stream (one task per phase: the env switches its code every ``phase_steps`` training
steps) and after every phase scores each task for ``--episodes`` deterministic episodes on env copies held
on that task (eval/continual.py). Every agent takes its NoisyCartPole-v0 hyperparameters with constant
learning rate and clip range (a linear schedule would restart at every phase) and, for SCAL-RL, constant
perception rates (no ``anneal_plasticity``: it would freeze the perception in the first phase). The off-policy
``scal_dqn`` conditions sample their batches from the newest ``RECENT_WINDOW`` transitions, ``scal_dqn_replay``
(``agents.replay.MixedReplayBuffer``) 20% of each batch from the whole stream instead.

    python -m eval.experiments.continual_stream --conditions scal_rl scal_rl_growth ppo --seeds 0 1 2 \\
        --phase-steps 20000 --out eval/results/continual

Writes ``runs.jsonl`` (one record per condition and seed: the matrix, its summary, the prototype count after
every rollout), ``matrix.md`` (the summaries and the mean matrices) and ``prototypes.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.utils import set_random_seed

from agents.hyperparams import load_hyperparams, merge_entries, resolve_hyperparams
from agents.registry import make_agent
from envs.noisy_cartpole_stream import DEFAULT_TASKS
from eval.continual import PrototypeCountCallback, evaluate_tasks, run_phases, summarize
from eval.tables import markdown_table, mean_std_cell
from train.config import RunConfig
from train.environments import make_env
from train.run import agent_callbacks

ENV_ID = "NoisyCartPoleStream-v0"
HYPERPARAMS_ENV = "NoisyCartPole-v0"
SCAL_CALLBACK = [{"agents.scal.callbacks.SCALCallback": {"anneal_plasticity": False}}]
CONSTANT = {"scal_rl": {"learning_rate": 0.0005, "clip_range": 0.2, "callback": SCAL_CALLBACK},
            "ppo": {"learning_rate": 0.001, "clip_range": 0.2}}
GROWTH = {"policy_kwargs": {"features_extractor_kwargs": {"neurogenesis": True, "max_prototypes": 128}}}
# scal_dqn's batches come from the newest RECENT_WINDOW transitions (half a phase of the committed results, so
# the second half of every phase trains on its own task only): the plain buffer holds just those; the mixed one
# holds the whole stream and draws 20% of every batch from all of it.
RECENT_WINDOW = 4096
PLAIN_REPLAY = {"callback": SCAL_CALLBACK, "buffer_size": RECENT_WINDOW}
MIXED_REPLAY = {"callback": SCAL_CALLBACK, "buffer_size": 50_000, "replay_buffer_class": "agents.replay.MixedReplayBuffer",
                "replay_buffer_kwargs": {"replay_ratio": 0.2, "recent_window": RECENT_WINDOW}}
# No growth condition for scal_dqn: a new task enters its replayed batches at ~5% per training call, under the
# novelty margin, and the 128 adaptation passes of that call already move prototypes onto it (docs/continual_learning.md).
# condition -> (agent, hyperparameter overrides merged into the agent's NoisyCartPole-v0 entry); SCAL-RL without
# the action history (the study is about the perception and the heads, and its results are without it)
CONDITIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "scal_rl": ("scal_rl_no_history", CONSTANT["scal_rl"]),
    "scal_rl_growth": ("scal_rl_no_history", merge_entries(CONSTANT["scal_rl"], GROWTH)),
    "ppo": ("ppo", CONSTANT["ppo"]),
    "scal_dqn": ("scal_dqn", PLAIN_REPLAY),
    "scal_dqn_replay": ("scal_dqn", MIXED_REPLAY),
}
RUN_KEYS = ("n_timesteps", "n_envs", "env_wrapper", "callback")


def run_config(condition: str, seed: int, env_kwargs: dict[str, Any]) -> RunConfig:
    """The condition's configuration on the stream (its agent's NoisyCartPole-v0 values plus the overrides)."""
    agent, overrides = CONDITIONS[condition]
    hyperparams = merge_entries(load_hyperparams(agent, HYPERPARAMS_ENV), overrides)
    run_values = {key: hyperparams.pop(key) for key in RUN_KEYS if key in hyperparams}
    return RunConfig(ENV_ID, agent, seed, n_timesteps=0, n_envs=run_values.get("n_envs", 1), env_kwargs=env_kwargs,
                     hyperparams=hyperparams, env_wrapper=run_values.get("env_wrapper"),
                     callback=run_values.get("callback"))


def make_model(condition: str, seed: int, phase_steps: int, env_kwargs: dict) -> tuple[Any, RunConfig]:
    """The condition's untrained model on a stream that switches tasks every ``phase_steps`` training steps."""
    n_envs = run_config(condition, seed, env_kwargs).n_envs
    if phase_steps % n_envs:
        raise ValueError(f"phase_steps={phase_steps} must be a multiple of n_envs={n_envs} (every env switches at once)")
    config = run_config(condition, seed, {**env_kwargs, "switch_every": phase_steps // n_envs})
    set_random_seed(seed)
    model = make_agent(config.agent, make_env(config, evaluation=False), resolve_hyperparams(config.hyperparams),
                       seed=seed)
    return model, config


def run_one(condition: str, seed: int, phase_steps: int, n_phases: int, episodes: int, env_kwargs: dict) -> dict:
    """Train one condition and seed over ``n_phases`` phases; its matrix, summary and prototype counts."""
    model, config = make_model(condition, seed, phase_steps, env_kwargs)
    counts = PrototypeCountCallback()

    def make_task_env(task: int) -> Any:
        return make_env(RunConfig(**{**vars(config), "env_kwargs": {**config.env_kwargs, "task": task}}), evaluation=True)

    start = time.time()
    returns = run_phases(model, phase_steps, n_phases, lambda: evaluate_tasks(model, make_task_env, len(DEFAULT_TASKS),
                                                                               episodes),
                         callback=[*agent_callbacks(config.callback), counts])
    matrix = np.array([[np.mean(task) for task in phase] for phase in returns])
    phase_tasks = [phase % len(DEFAULT_TASKS) for phase in range(n_phases)]
    return {"condition": condition, "seed": seed, "phase_steps": phase_steps, "env_kwargs": env_kwargs,
            "phase_tasks": phase_tasks, "matrix": matrix.tolist(), "returns": returns,
            "summary": summarize(matrix, phase_tasks), "prototypes": counts.history,
            "seconds": round(time.time() - start, 1)}


def report(records: Sequence[dict], path: Path) -> None:
    """``matrix.md``: per condition the summaries (mean ± std over seeds) and the mean matrix."""
    conditions = list(dict.fromkeys(r["condition"] for r in records))
    groups = {c: [r for r in records if r["condition"] == c] for c in conditions}
    lines = ["## Summary (mean ± std over seeds)\n",
             markdown_table({
                 "condition": conditions,
                 "seeds": [str(len(groups[c])) for c in conditions],
                 "average return": [mean_std_cell([r["summary"]["average_return"] for r in groups[c]], 1) for c in conditions],
                 "forgetting": [mean_std_cell([r["summary"]["forgetting"] for r in groups[c]], 1) for c in conditions],
                 "newest-task return": [mean_std_cell([r["summary"]["newest_task_return"] for r in groups[c]], 1)
                                        for c in conditions],
                 "prototypes at the end": [mean_std_cell([r["prototypes"][-1][1] if r["prototypes"] else np.nan
                                                          for r in groups[c]], 1) for c in conditions],
             })]  # fmt: skip
    for condition in conditions:
        mean = np.mean([r["matrix"] for r in groups[condition]], axis=0)
        tasks = range(mean.shape[1])
        columns = {"after phase (task)": [f"{i + 1} ({t})" for i, t in enumerate(groups[condition][0]["phase_tasks"])]}
        columns.update({f"task {j}": [f"{v:.1f}" for v in mean[:, j]] for j in tasks})
        lines += [f"\n## {condition}: mean return on each task after each phase\n", markdown_table(columns)]
    path.write_text("".join(lines))


def plot_prototypes(records: Sequence[dict], path: Path) -> None:
    """Active prototypes over training steps, one line per growing run, phase boundaries dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for record in records:
        if record["prototypes"] and record["prototypes"][-1][1] != record["prototypes"][0][1]:
            steps, counts = zip(*record["prototypes"], strict=True)
            axis.plot(steps, counts, label=f"{record['condition']} seed {record['seed']}")
    for phase in range(1, len(records[0]["phase_tasks"])):
        axis.axvline(phase * records[0]["phase_steps"], color="grey", linestyle="--", linewidth=0.8)
    axis.set_xlabel("training steps (dashed: task switches)")
    axis.set_ylabel("active prototypes")
    axis.set_title(f"{ENV_ID}: prototype growth")
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--phase-steps", type=int, default=20_000, help="training steps per task phase")
    parser.add_argument("--phases", type=int, default=len(DEFAULT_TASKS), help="phases (tasks cycle)")
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes per task after each phase")
    parser.add_argument("--env-kwargs", type=json.loads, default={"bits_per_variable": 256, "flip_prob": 0.2},
                        help="JSON of NoisyCartPoleStream-v0 arguments")
    parser.add_argument("--out", type=Path, default=Path("eval/results/continual"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    runs_path = args.out / "runs.jsonl"
    done = {(r["condition"], r["seed"]) for r in map(json.loads, runs_path.read_text().splitlines())} \
        if runs_path.exists() else set()  # fmt: skip
    for seed in args.seeds:
        for condition in args.conditions:
            if (condition, seed) in done:
                continue
            record = run_one(condition, seed, args.phase_steps, args.phases, args.episodes, args.env_kwargs)
            with runs_path.open("a") as stream:
                stream.write(json.dumps(record) + "\n")
            print(f"{condition} seed {seed}: {record['summary']} in {record['seconds']} s", flush=True)
    records = [json.loads(line) for line in runs_path.read_text().splitlines()]
    report(records, args.out / "matrix.md")
    plot_prototypes(records, args.out / "prototypes.png")


if __name__ == "__main__":
    main()
