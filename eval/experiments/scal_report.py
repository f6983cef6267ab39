"""Tables and plot of the SCAL-RL benchmark from the runs listed by ``eval/experiments/scal_sweep.py``.

    python eval/experiments/scal_report.py --runs eval/results/scal_rl/runs.jsonl -o eval/results/scal_rl

Uses the leaderboard's tables (``eval.tables``) and sweep plot (``eval.plots``); adds each agent's noise
tolerance: the largest flip_prob at which its mean final return over seeds reaches the threshold.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd

from eval.plots import plot_sweep
from eval.runs import RunRecord, freeze_kwargs, load_run
from eval.tables import leaderboard_markdown, markdown_table, runs_table, summarize
from train.cli import OneLineParser

THRESHOLD = 195.0


def load_records(runs: Path) -> list[RunRecord]:
    """The sweep's runs, each named as in its record (a tagged variant such as ``scal_rl+anneal`` is its own row).

    A run is read from its folder while that exists, else from its line in ``runs`` (see :func:`record_from_line`),
    so the committed JSON lines reproduce the tables after ``logs/`` is gone.
    """
    lines = [json.loads(line) for line in runs.read_text().splitlines() if line.strip()]
    return [
        dataclasses.replace(load_run(line["run_dir"]), agent=line["agent"])
        if Path(line["run_dir"], "summary.json").exists()
        else record_from_line(line)
        for line in lines
    ]


def record_from_line(line: dict[str, Any]) -> RunRecord:
    """A run from its sweep record alone. Its curve is the recorded one (``curve_timesteps``/``curve_returns``),
    or, in records written before the sweep kept curves, only the first periodic evaluation that reached the
    threshold (``steps_to_threshold``); either ends with the final evaluation, as in :func:`eval.runs.load_run`."""
    if "curve_timesteps" in line:
        steps, returns = list(line["curve_timesteps"]), list(line["curve_returns"])
    else:
        reached = line.get("steps_to_threshold")
        steps, returns = ([reached], [THRESHOLD]) if reached is not None else ([], [])
        steps, returns = [*steps, int(line["timesteps"])], [*returns, float(line["eval_mean"])]
    return RunRecord(
        env=line["env"],
        agent=line["agent"],
        seed=int(line["seed"]),
        n_timesteps=int(line["n_timesteps"]),
        env_kwargs=freeze_kwargs({"flip_prob": line["flip_prob"]}),
        timesteps=int(line["timesteps"]),
        eval_mean=float(line["eval_mean"]),
        eval_std=float(line["eval_std"]),
        eval_episodes=int(line["eval_episodes"]),
        train_seconds=float(line["train_seconds"]),
        fps=line.get("fps") if int(line["timesteps"]) > 0 else None,
        run_dir=line["run_dir"],
        eval_returns=[float(value) for value in line.get("eval_returns", [])],
        curve_timesteps=[int(step) for step in steps],
        curve_returns=[float(value) for value in returns],
    )


def noise_tolerance(table: pd.DataFrame) -> str:
    """Per agent: the largest flip_prob whose final mean return over seeds reaches the threshold, and the
    largest at which some seed's periodic evaluation reached it during training."""
    columns: dict[str, list[str]] = {
        "agent": [],
        "flip_prob run": [],
        "noise tolerance: final mean >= 195": [],
        "a periodic evaluation >= 195": [],
    }
    for agent, rows in table.groupby("agent", sort=False):
        final = rows[rows["mean"] >= THRESHOLD]["flip_prob"]
        during = rows[rows["seeds_reaching_threshold"] > 0]["flip_prob"]
        columns["agent"].append(agent)
        columns["flip_prob run"].append(", ".join(f"{v:g}" for v in sorted(rows["flip_prob"])))
        columns["noise tolerance: final mean >= 195"].append(f"{final.max():g}" if len(final) else "none")
        columns["a periodic evaluation >= 195"].append(f"{during.max():g}" if len(during) else "none")
    return markdown_table(columns)


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="eval/results/scal_rl/runs.jsonl")
    parser.add_argument("-o", "--out", default="eval/results/scal_rl")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = load_records(Path(args.runs))
    table = summarize(records, threshold=THRESHOLD).sort_values(["flip_prob", "agent"], ascending=[False, True])
    table.to_csv(out / "leaderboard.csv", index=False)
    runs_table(records).to_csv(out / "runs.csv", index=False)
    (out / "leaderboard.md").write_text(leaderboard_markdown(table) + "\n" + noise_tolerance(table))
    plot_sweep(records, "flip_prob", out / "return_vs_flip_prob.png", threshold=THRESHOLD)
    print((out / "leaderboard.md").read_text())


if __name__ == "__main__":
    main()
