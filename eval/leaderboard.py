"""Multi-seed leaderboards: train every (env, agent, seed), evaluate, and write tables and plots.

    python eval/leaderboard.py --envs NoisyCartPole-v0 --agents random oracle ppo --seeds 0 1 2 -n 50000 -o OUTDIR
    python eval/leaderboard.py --agents ppo dqn --runs 10 --threshold 195 -o OUTDIR      # stability benchmark
    python eval/leaderboard.py --agents random ppo --sweep flip_prob=0.0,0.2,0.45 -o OUTDIR  # noise sweep

Every run trains through ``train.run.main`` (the code path of ``train/run.py``) in its own process, on
local cores (``--jobs``) or on a Ray cluster (``--ray``); its final model is scored on evaluation seeds
disjoint from the training seeds. ``OUTDIR`` receives ``README.md`` (command, machine, date, table),
``leaderboard.md``/``.csv``, ``runs.csv`` (per seed), ``curves.csv``, ``learning_curves.png``,
``sweep_<key>.png`` with ``--sweep`` and ``stability.md``/``.csv`` with ``--runs``; run folders go to
``OUTDIR/runs`` and job logs to ``OUTDIR/logs``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from agents.registry import AGENTS, get_entry
from eval.jobs import Job, JobResults, check_ray_address, run_local, run_ray
from eval.plots import plot_learning_curves, plot_sweep
from eval.runs import RunRecord, RunSpec, find_finished, freeze_kwargs, resolve_steps
from eval.tables import (
    curves_table,
    leaderboard_markdown,
    runs_table,
    stability_markdown,
    summarize,
    write_csv,
)
from train.checks import UsageError, check_agent_fits_env, check_env_kwargs
from train.cli import OneLineParser, exit_with_usage_error, parse_key_values
from train.environments import check_env_id, import_gym_packages
from train.versions import package_versions, versions_line


def parse_sweep(text: str | None) -> tuple[str | None, list[Any]]:
    """``flip_prob=0.0,0.2,0.45`` -> ``("flip_prob", [0.0, 0.2, 0.45])`` (values read as YAML)."""
    if text is None:
        return None, [None]
    key, sep, values = text.partition("=")
    if not sep or not key or not values:
        raise ValueError(f"--sweep expects KEY=V1,V2,..., got {text!r}")
    return key, [yaml.safe_load(value) for value in values.split(",")]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        description="Multi-seed leaderboard: train, evaluate on held-out seeds, write tables and plots.",
        epilog="exit codes: 0 done; 1 some runs failed (listed on stderr); 2 a command-line mistake or no Ray "
        "cluster at --ray (one line on stderr, within 30 s)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--envs", nargs="+", default=["NoisyCartPole-v0"], help="registered environment ids")
    parser.add_argument("--agents", nargs="+", default=["random", "ppo"], help=f"agents: {', '.join(sorted(AGENTS))}")
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="training seeds; 0 1 2 if neither --seeds nor --runs"
    )
    parser.add_argument("--runs", type=int, default=None, help="stability benchmark: N runs (seeds 0..N-1)")
    parser.add_argument(
        "--threshold", type=float, default=None, help="success threshold; None: the env's reward_threshold"
    )
    parser.add_argument(
        "-n", "--n-timesteps", type=int, default=-1, help="training steps, > 0 (-1: each agent's hyperparams)"
    )
    parser.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE", help="environment arguments")
    parser.add_argument(
        "--sweep", default=None, metavar="KEY=V1,V2,...", help="sweep an env kwarg, e.g. flip_prob=0,0.2,0.45"
    )
    parser.add_argument("--eval-points", type=int, default=10, help="periodic evaluations per run (learning curve)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="episodes per periodic evaluation")
    parser.add_argument("--final-eval-episodes", type=int, default=20, help="episodes of each run's final evaluation")
    parser.add_argument("--n-eval-envs", type=int, default=1,
                        help="evaluation envs each run steps side by side (faster evaluation of CNN agents)")
    parser.add_argument("--bootstrap-reps", type=int, default=2000, help="bootstrap resamples of the IQM CI")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse finished runs in the log folder instead of retraining"
    )
    parser.add_argument(
        "--reuse-only", action="store_true", help="tables from finished runs only: train nothing, list the missing"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel local processes")
    parser.add_argument(
        "--ray", default=None, metavar="ADDRESS", help="run on Ray: auto, host:port, or local (a fresh local instance)"
    )
    parser.add_argument("-o", "--output", default="eval/results/leaderboard", help="output folder")
    parser.add_argument("-f", "--log-folder", default=None, help="folder of the run folders; None: OUTPUT/runs")
    parser.add_argument("--report", action="store_true", help="also write OUTPUT/report.html (eval.report)")
    return parser  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate; invalid values raise ``ValueError`` naming the flag and what is allowed."""
    args = build_parser().parse_args(argv)
    if args.runs is not None and args.seeds is not None:
        raise ValueError("give either --seeds or --runs (runs N means seeds 0..N-1), not both")
    if args.runs is not None and args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    args.seeds = list(range(args.runs)) if args.runs is not None else args.seeds or [0, 1, 2]
    for flag in ("jobs", "eval_points", "eval_episodes", "final_eval_episodes", "n_eval_envs", "bootstrap_reps"):
        if getattr(args, flag) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 1, got {getattr(args, flag)}")
    if min(args.seeds) < 0 or len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f"--seeds must be distinct non-negative integers, got {args.seeds}")
    for flag in ("envs", "agents"):
        if len(set(getattr(args, flag))) != len(getattr(args, flag)):
            raise ValueError(f"--{flag} must not repeat a name, got {getattr(args, flag)}")
    if args.n_timesteps == 0 or args.n_timesteps < -1:
        raise ValueError(f"-n/--n-timesteps {args.n_timesteps}: must be > 0 (or -1 for each agent's hyperparameters)")
    try:
        args.env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    except argparse.ArgumentTypeError as error:
        raise ValueError(str(error)) from error
    args.sweep_key, args.sweep_values = parse_sweep(args.sweep)
    args.reuse = args.reuse or args.reuse_only
    import_gym_packages([])
    for env in args.envs:
        check_env_id(env)
    for agent in args.agents:
        get_entry(agent)
    args.output = Path(args.output).resolve()
    args.log_folder = Path(args.log_folder).resolve() if args.log_folder else args.output / "runs"
    return args


def check_runs_fit(args: argparse.Namespace) -> None:
    """Every env takes ``--env-kwargs`` and each ``--sweep`` value; every agent fits every env (first sweep value)."""
    for env in args.envs:
        for index, value in enumerate(args.sweep_values):
            env_kwargs = dict(args.env_kwargs, **({args.sweep_key: value} if args.sweep_key else {}))
            check_env_kwargs(env, env_kwargs)
            for agent in args.agents if index == 0 else ():
                check_agent_fits_env(env, agent, env_kwargs, agent_flag="--agents", env_flag="--envs")


def build_specs(args: argparse.Namespace) -> list[RunSpec]:
    """Every (env, sweep value, agent, seed), with each agent's step budget resolved."""
    evaluation = {key: getattr(args, key) for key in ("eval_points", "eval_episodes", "final_eval_episodes", "n_eval_envs")}
    specs = []
    for env, value, agent in itertools.product(args.envs, args.sweep_values, args.agents):
        env_kwargs = dict(args.env_kwargs)
        if args.sweep_key is not None:
            env_kwargs[args.sweep_key] = value
        steps = resolve_steps(env, agent, args.n_timesteps)
        for seed in args.seeds:
            specs.append(RunSpec(env, agent, seed, steps, freeze_kwargs(env_kwargs), **evaluation))
    return specs


def _log_path(spec: RunSpec, log_dir: Path) -> str:
    kwargs = "__".join(f"{key}={value}" for key, value in spec.env_kwargs)
    name = re.sub(r"[^\w.=-]+", "_", f"{spec.env}__{spec.agent}__{spec.seed}__{spec.n_timesteps}__{kwargs}")
    return str(log_dir / f"{name.rstrip('_')}.log")


def run_specs(specs: Sequence[RunSpec], args: argparse.Namespace) -> tuple[list[RunRecord], JobResults]:
    """Reuse finished runs if asked, run the others (longest first); returns (reused records, job results).

    A reused run is labelled with the agent name that asked for it (the same setup may be registered twice).
    """
    finished = find_finished(args.log_folder) if args.reuse else {}
    reused = [dataclasses.replace(finished[spec.key], agent=spec.agent) for spec in specs if spec.key in finished]
    todo = sorted((spec for spec in specs if spec.key not in finished), key=lambda s: -s.n_timesteps)
    print(f"{len(specs)} runs: {len(reused)} reused from {args.log_folder}, {len(todo)} to train", file=sys.stderr)
    if args.reuse_only:
        for spec in todo:
            print(f"missing (not trained, --reuse-only): {spec.label} | {spec.n_timesteps} steps", file=sys.stderr)
        return reused, JobResults()
    jobs: list[Job] = [(spec, spec.argv(args.log_folder), _log_path(spec, args.output / "logs")) for spec in todo]
    if not jobs:
        return reused, JobResults()
    if args.ray:
        return reused, run_ray(jobs, args.ray, args.jobs)
    return reused, run_local(jobs, args.jobs)


def _machine() -> str:
    import torch

    gpu = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()}-core CPU, {gpu}"


def readme_text(
    args: argparse.Namespace, records: Sequence[RunRecord], command: str, table_md: str, timing: str
) -> str:
    """The results folder's README: command, machine, date, protocol, table and plots."""
    spec_threshold = f"{args.threshold:g} (--threshold)" if args.threshold is not None else "the env's reward_threshold"
    episodes = "/".join(str(n) for n in sorted({r.eval_episodes for r in records}))
    sweep_plot = f"\n![return against {args.sweep_key}](sweep_{args.sweep_key}.png)\n" if args.sweep_key else ""
    return f"""# Leaderboard: {", ".join(args.envs)}

Command (repository root):

    {command}

Machine: {_machine()}. Date: {time.strftime("%Y-%m-%d", time.gmtime())} (UTC). {timing}
Packages: {versions_line(package_versions())} (also in `versions.json`).

Protocol: each seed's final model is evaluated over {episodes} episodes on evaluation seeds
`seed + 1,000,000` (disjoint from the training seeds); raw, unnormalised returns. *mean ± std*: over
seeds of the per-seed mean return (std with ddof=1). *IQM [95% CI]*: interquartile mean over seeds with
a percentile bootstrap ({args.bootstrap_reps} resamples). *success*: seeds whose final return reaches the
threshold ({spec_threshold}). *median steps to threshold*: first evaluation during training (EvalCallback's
`evaluations.npz`, then the final evaluation) at or above the threshold, median over the seeds that
reached it. *train s / seed* and *FPS*: training wall-clock and steps per second of each run on the
machine that trained it, with other jobs sharing its cores. Chance level: the `random` row; reference:
the `oracle` row, where present.

{table_md}
![learning curves](learning_curves.png)
{sweep_plot}
Per-seed scores: `runs.csv`; learning curves: `curves.csv`; all columns: `leaderboard.csv`.
"""


def write_outputs(records: list[RunRecord], args: argparse.Namespace, command: str, timing: str) -> Any:
    """Tables (Markdown, CSV), plots and the README under ``args.output``; returns the leaderboard table."""
    out = args.output
    table = summarize(records, args.threshold, args.bootstrap_reps)
    table_md = leaderboard_markdown(table)
    write_csv(table, out / "leaderboard.csv")
    (out / "leaderboard.md").write_text(table_md)
    runs = runs_table(records)
    runs["run_dir"] = [os.path.relpath(path, out) for path in runs["run_dir"]]  # the results folder can move
    write_csv(runs, out / "runs.csv")
    write_csv(curves_table(records), out / "curves.csv")
    plot_learning_curves(records, out / "learning_curves.png", args.threshold, args.bootstrap_reps)
    if args.sweep_key:
        plot_sweep(records, args.sweep_key, out / f"sweep_{args.sweep_key}.png", args.threshold, args.bootstrap_reps)
    if args.runs is not None:
        write_csv(table[["env", "env_kwargs", "agent", "seeds", "threshold", "success_rate", "mean", "std"]],
                  out / "stability.csv")  # fmt: skip
        (out / "stability.md").write_text(stability_markdown(table))
    (out / "versions.json").write_text(json.dumps(package_versions(), indent=2) + "\n")
    (out / "README.md").write_text(readme_text(args, records, command, table_md, timing))
    if args.report:  # last: it reads the files above and replays the best run
        from eval.report import write_report

        write_report(out)
    return table


def _timing_text(
    args: argparse.Namespace, specs: Sequence[RunSpec], records: Sequence[RunRecord], reused: int, seconds: float
) -> str:
    """Wall-clock, how many runs were trained or reused, and which requested runs are missing."""
    where = f"Ray {args.ray}" if args.ray else f"{args.jobs} local process{'es' if args.jobs > 1 else ''}"
    text = (
        f"Wall-clock: {seconds / 60:.1f} min for {len(records) - reused} runs trained ({where}) "
        f"and {reused} reused from finished run folders."
    )
    done = {record.key for record in records}
    missing = [f"{spec.label} ({spec.n_timesteps} steps)" for spec in specs if spec.key not in done]
    if missing:
        text += f" Missing from the table ({len(missing)} of {len(specs)} runs): " + "; ".join(missing) + "."
    return text


def parse_checked_args(argv: Sequence[str]) -> argparse.Namespace:
    """:func:`parse_args`, then whether the runs can start (envs, agents, Ray); mistakes are :class:`UsageError`."""
    try:
        args = parse_args(argv)
        if not args.reuse_only:
            check_runs_fit(args)
            if args.ray:
                check_ray_address(args.ray)
    except UsageError:
        raise
    except ValueError as error:
        raise UsageError(str(error)) from error
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the leaderboard; returns the table, the records and the failures."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_checked_args(argv)
    start = time.time()
    specs = build_specs(args)
    args.output.mkdir(parents=True, exist_ok=True)
    reused, results = run_specs(specs, args)
    order = {spec.key: index for index, spec in enumerate(specs)}
    records = sorted(reused + results.records, key=lambda record: order.get(record.key, len(order)))
    for spec, error in results.failures:
        print(f"failed: {spec.label}: {error} (log: {_log_path(spec, args.output / 'logs')})", file=sys.stderr)
    table = None
    if records:
        command = shlex.join(["python", "eval/leaderboard.py", *argv])
        timing = _timing_text(args, specs, records, len(reused), time.time() - start)
        table = write_outputs(records, args, command, timing)
        print((args.output / "leaderboard.md").read_text())
        if args.runs is not None:
            print((args.output / "stability.md").read_text())
    return {"table": table, "records": records, "reused": reused, "failures": results.failures, "output": args.output}


def cli(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``neuro-rl-leaderboard``).

    Exit codes: 0 done, 1 some runs failed (listed on stderr), 2 a command-line mistake or an unreachable
    ``--ray`` cluster (one line on stderr).
    """
    try:
        result = main(argv)
    except UsageError as error:
        exit_with_usage_error(Path(sys.argv[0]).name if argv is None else "leaderboard.py", error)
    sys.exit(1 if result["failures"] else 0)


if __name__ == "__main__":
    cli()
