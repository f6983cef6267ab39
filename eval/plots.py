"""Leaderboard plots: learning curves and return against an env kwarg, IQM over seeds with 95% bootstrap CI bands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from eval.runs import RunRecord, kwargs_label  # noqa: E402
from eval.stats import bootstrap_ci, iqm  # noqa: E402
from eval.tables import env_threshold, group_records  # noqa: E402


def iqm_band(scores: np.ndarray, reps: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM and 95% CI of ``scores`` (seeds × points) at every point."""
    centre = np.atleast_1d(iqm(scores, axis=0))
    bounds = np.array([bootstrap_ci(scores[:, i], reps=reps) for i in range(scores.shape[1])]).reshape(-1, 2)
    return centre, bounds[:, 0], bounds[:, 1]


def align_curves(group: Sequence[RunRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Seeds' curves on the grid of the shortest one (linear interpolation where grids differ)."""
    grid = np.asarray(min((r.curve_timesteps for r in group), key=len), dtype=float)
    curves = np.array([np.interp(grid, r.curve_timesteps, r.curve_returns) for r in group])
    return grid, curves


def _subplots(count: int, width: float = 6.0, height: float = 4.0) -> tuple[plt.Figure, np.ndarray]:
    columns = min(count, 2)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, axes.flat


def plot_learning_curves(
    records: Sequence[RunRecord], path: str | Path, threshold: float | None = None, reps: int = 2000
) -> None:
    """One panel per (env, env kwargs), one line per agent; non-learning agents are dashed horizontal lines."""
    panels: dict[tuple, dict[str, list[RunRecord]]] = {}
    for (env, env_kwargs, agent), group in group_records(records).items():
        panels.setdefault((env, env_kwargs), {})[agent] = group
    figure, axes = _subplots(len(panels))
    for axis, ((env, env_kwargs), agents) in zip(axes, panels.items(), strict=False):
        learners = [r.timesteps for group in agents.values() for r in group if r.timesteps > 0]
        x_max = max(learners, default=1)
        for agent, group in agents.items():
            grid, curves = align_curves(group)
            centre, low, high = iqm_band(curves, reps)
            if grid[-1] == 0:  # a non-learning reference: its score across the whole axis
                grid, centre, low, high = (np.array([0.0, x_max]), *(np.repeat(v, 2) for v in (centre, low, high)))
                line = axis.plot(grid, centre, "--", label=f"{agent} (n={len(group)})")
            else:
                line = axis.plot(grid, centre, label=f"{agent} (n={len(group)})")
            axis.fill_between(grid, low, high, color=line[0].get_color(), alpha=0.2)
        _finish_axis(axis, env, threshold, title=f"{env} {kwargs_label(env_kwargs)}".strip(), xlabel="training steps")
    _save(figure, "Learning curves: IQM over seeds, 95% bootstrap CI", path)


def plot_sweep(
    records: Sequence[RunRecord], key: str, path: str | Path, threshold: float | None = None, reps: int = 2000
) -> None:
    """Final return against env kwarg ``key``: one panel per env, one line per agent with its CI band."""
    table = pd.DataFrame(
        [{"env": r.env, "agent": r.agent, "value": dict(r.env_kwargs).get(key), "score": r.eval_mean} for r in records]
    )
    envs = list(dict.fromkeys(table["env"]))
    figure, axes = _subplots(len(envs))
    for axis, env in zip(axes, envs, strict=False):
        rows = table[table["env"] == env]
        values = list(dict.fromkeys(rows["value"]))
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        positions = {v: (float(v) if numeric else i) for i, v in enumerate(values)}
        for agent, scores in rows.groupby("agent", sort=False):
            x, bands = [], []
            for value, position in sorted(positions.items(), key=lambda item: item[1]):
                values = scores[scores["value"] == value]["score"].to_numpy()
                if values.size:
                    x.append(position)
                    bands.append(iqm_band(values[:, None], reps))
            centre, low, high = (np.concatenate([band[i] for band in bands]) for i in range(3))
            line = axis.plot(x, centre, marker="o", label=agent)
            axis.fill_between(x, low, high, color=line[0].get_color(), alpha=0.2)
        if not numeric:
            axis.set_xticks(list(positions.values()), [str(v) for v in positions])
        _finish_axis(axis, env, threshold, title=env, xlabel=key)
    _save(figure, f"Return against {key}: IQM over seeds, 95% bootstrap CI", path)


def _finish_axis(axis: plt.Axes, env: str, threshold: float | None, title: str, xlabel: str) -> None:
    limit = env_threshold(env, threshold)
    if limit is not None:
        axis.axhline(limit, color="grey", linewidth=0.8, linestyle=":", label=f"threshold {limit:g}")
    axis.set(title=title, xlabel=xlabel, ylabel="eval return")
    axis.legend(fontsize="small")


def _save(figure: plt.Figure, title: str, path: str | Path) -> None:
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
