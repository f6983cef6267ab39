"""Leaderboard tables: aggregate per-seed runs into rows, and write them as CSV and Markdown."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from eval.runs import RunRecord, kwargs_label
from eval.stats import bootstrap_ci, iqm, median_steps, steps_to_threshold, success_rate


def env_threshold(env_id: str, override: float | None = None) -> float | None:
    """``override``, else the env's ``reward_threshold`` from its registration (None if it has none)."""
    return override if override is not None else gym.spec(env_id).reward_threshold


def _mean_or_nan(values: Sequence[float | None]) -> float:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else float("nan")


def group_records(records: Sequence[RunRecord]) -> dict[tuple, list[RunRecord]]:
    """Records grouped by (env, env kwargs, agent), in first-seen order, each group sorted by seed."""
    groups: dict[tuple, list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.env, record.env_kwargs, record.agent), []).append(record)
    return {key: sorted(group, key=lambda r: r.seed) for key, group in groups.items()}


def summarize(records: Sequence[RunRecord], threshold: float | None = None, reps: int = 2000) -> pd.DataFrame:
    """One row per (env, env kwargs, agent) with the leaderboard columns (scores: per-seed final mean return).

    Args:
        records: finished runs.
        threshold: success threshold for every env (default: each env's ``reward_threshold``).
        reps: bootstrap resamples of the IQM confidence interval.
    """
    rows = []
    for (env, env_kwargs, agent), group in group_records(records).items():
        scores = np.array([r.eval_mean for r in group])
        limit = env_threshold(env, threshold)
        median, reached = median_steps([steps_to_threshold(r.curve_timesteps, r.curve_returns, limit) for r in group])
        low, high = bootstrap_ci(scores, reps=reps)
        rows.append(
            {
                "env": env,
                "env_kwargs": kwargs_label(env_kwargs),
                **dict(env_kwargs),
                "agent": agent,
                "seeds": len(group),
                "seed_list": " ".join(str(r.seed) for r in group),
                "timesteps": int(np.mean([r.timesteps for r in group])),
                "eval_episodes": int(np.mean([r.eval_episodes for r in group])),
                "mean": float(scores.mean()),
                "std": float(scores.std(ddof=1)) if len(scores) > 1 else float("nan"),
                "iqm": float(iqm(scores)),
                "iqm_ci_low": low,
                "iqm_ci_high": high,
                "threshold": limit,
                "success_rate": success_rate(scores, limit),
                "median_steps_to_threshold": median,
                "seeds_reaching_threshold": reached,
                "train_seconds": _mean_or_nan([r.train_seconds for r in group]),
                "fps": _mean_or_nan([r.fps for r in group]),
            }
        )
    return pd.DataFrame(rows)


def runs_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run (per-seed scores), without the curves."""
    rows = []
    for record in records:
        row = {k: v for k, v in asdict(record).items() if not k.startswith("curve_") and k != "eval_returns"}
        row["env_kwargs"] = kwargs_label(record.env_kwargs)
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["env", "env_kwargs", "agent", "seed"], kind="stable")


def curves_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Learning curves in long form: one row per (run, evaluation)."""
    rows = [
        {"env": r.env, "env_kwargs": kwargs_label(r.env_kwargs), "agent": r.agent, "seed": r.seed,
         "timesteps": step, "mean_return": value}
        for r in records
        for step, value in zip(r.curve_timesteps, r.curve_returns, strict=True)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _number(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}" if isinstance(value, float) and digits else f"{int(round(value)):,}"


def _steps_cell(row: pd.Series) -> str:
    if row["seeds_reaching_threshold"] == 0:
        return "—" if row["threshold"] is None or pd.isna(row["threshold"]) else f"not reached (0/{row['seeds']})"
    return f"{_number(row['median_steps_to_threshold'], 0)} ({row['seeds_reaching_threshold']}/{row['seeds']})"


def _success_cell(row: pd.Series) -> str:
    if pd.isna(row["success_rate"]):
        return "—"
    return f"{round(row['success_rate'] * row['seeds'])}/{row['seeds']} ({row['success_rate']:.0%})"


def mean_std_cell(values: Sequence[float], digits: int = 3, sign: str = "") -> str:
    """``mean ± std`` (population std) of ``values``, NaN ignored; ``–`` when there is no number.

    ``sign="+"`` writes the mean with its sign.

    Example:
        >>> mean_std_cell([0.5, 0.7, float("nan")]), mean_std_cell([1.0, 3.0], digits=1, sign="+")
        ('0.600 ± 0.100', '+2.0 ± 1.0')
    """
    values = np.asarray(values, dtype=float)
    if np.all(np.isnan(values)):
        return "–"
    return f"{np.nanmean(values):{sign}.{digits}f} ± {np.nanstd(values):.{digits}f}"


def markdown_table(columns: dict[str, list[str]]) -> str:
    """A GitHub Markdown table from ``{header: cells}``."""
    headers = list(columns)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in zip(*columns.values(), strict=True)]
    return "\n".join(lines) + "\n"


def leaderboard_markdown(table: pd.DataFrame) -> str:
    """The leaderboard columns: mean ± std over seeds, IQM [95% CI], success, steps to threshold, time, FPS."""
    rows = list(table.itertuples(index=False))
    columns: dict[str, list[str]] = {"env": [r.env for r in rows]}
    if any(r.env_kwargs for r in rows):
        columns["env kwargs"] = [r.env_kwargs for r in rows]
    columns.update(
        {
            "agent": [r.agent for r in rows],
            "seeds": [str(r.seeds) for r in rows],
            "timesteps": [_number(r.timesteps, 0) for r in rows],
            "return (mean ± std)": [f"{r.mean:.1f} ± {_number(r.std)}" for r in rows],
            "IQM [95% CI]": [f"{r.iqm:.1f} [{r.iqm_ci_low:.1f}, {r.iqm_ci_high:.1f}]" for r in rows],
            "success": [_success_cell(row) for _, row in table.iterrows()],
            "median steps to threshold": [_steps_cell(row) for _, row in table.iterrows()],
            "train s / seed": [_number(r.train_seconds) for r in rows],
            "FPS": [_number(r.fps, 0) for r in rows],
        }
    )
    return markdown_table(columns)


def stability_markdown(table: pd.DataFrame) -> str:
    """The stability benchmark: success rate (runs reaching the threshold), mean and std over runs."""
    rows = list(table.itertuples(index=False))
    return markdown_table(
        {
            "env": [r.env + (f" [{r.env_kwargs}]" if r.env_kwargs else "") for r in rows],
            "agent": [r.agent for r in rows],
            "runs": [str(r.seeds) for r in rows],
            "threshold": [_number(r.threshold) for r in rows],
            "success rate": [_success_cell(row) for _, row in table.iterrows()],
            "mean": [f"{r.mean:.1f}" for r in rows],
            "std": [_number(r.std) for r in rows],
        }
    )


def read_csv_rows(path: str | Path) -> list[dict[str, str]]:
    """Every row of the CSV at ``path`` as a dict of strings, the file closed again."""
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(table: pd.DataFrame, path: str | Path) -> None:
    table.to_csv(path, index=False, float_format="%.10g")
