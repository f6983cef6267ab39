"""A self-contained HTML report of a run folder or a leaderboard folder (one file: no server, no network).

    python -m eval.report logs/NoisyCartPole-v0__ppo__0__20261121-120000      # -> that folder's report.html
    python -m eval.report eval/results/leaderboard/noise_sweep -o sweep.html

The page holds the results table with chance (the ``random`` agent) and the oracle beside each score, the
learning curves, the noise sweep where the leaderboard has one, the command and the config of the replayed run,
and an embedded episode video (:mod:`eval.enjoy`'s frames, H.264). Chance and oracle come from the leaderboard's
own ``random`` and oracle rows; where those are missing they are measured for the report on the run's evaluation
env (``--reference-episodes`` episodes, deterministic).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from stable_baselines3.common.evaluation import evaluate_policy

from agents.hyperparams import resolve_hyperparams
from agents.registry import get_entry, make_agent
from eval.enjoy import find_model, replay_run, run_cli
from eval.html_page import Page, Section, escape, image_html, pre_html, render_page, table_html, video_html
from eval.plots import plot_learning_curves
from eval.runs import kwargs_label, load_run, train_argv
from eval.tables import leaderboard_markdown, summarize
from eval.watch.video import write_video
from train.cli import OneLineParser, check_numbers, parse_args
from train.config import RunConfig, load_run_config, resolve_config
from train.environments import make_env

PROG = "python -m eval.report"
CHANCE_AGENT = "random"
# The reference that knows the problem, per env: NoisyCartPole's decoder + Kalman filter + LQR, the BPTT gradient.
ORACLE_AGENTS = {"NoisyCartPole-v0": "oracle", "SynapseGradMimicry-v0": "true_gradient"}


@dataclass
class ReportInputs:
    """What a folder gives the report: the summarised table, figures, the command, and runs to replay (best first)."""

    title: str
    table: pd.DataFrame
    configs: dict[tuple[str, str], RunConfig]
    figures: list[tuple[str, bytes]] = field(default_factory=list)
    command: str = ""
    replay_candidates: list[Path] = field(default_factory=list)


def markdown_cells(markdown: str) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a GitHub Markdown table (as :func:`eval.tables.markdown_table` writes it)."""
    lines = [line.strip().strip("|").split(" | ") for line in markdown.strip().splitlines()]
    return [cell.strip() for cell in lines[0]], [[cell.strip() for cell in line] for line in lines[2:]]


def read_run_folder(run_dir: Path) -> ReportInputs:
    if not (run_dir / "summary.json").exists():
        raise ValueError(f"run folder {run_dir} has no summary.json (an unfinished run?)")
    record = load_run(run_dir)
    config = load_run_config(run_dir)
    with tempfile.TemporaryDirectory() as tmp:
        plot_learning_curves([record], Path(tmp) / "curves.png")
        figures = [
            ("Learning curve: evaluation return against training steps", (Path(tmp) / "curves.png").read_bytes())
        ]
    command = (run_dir / "command.txt").read_text().strip() if (run_dir / "command.txt").exists() else ""
    return ReportInputs(f"Run {run_dir.name}", summarize([record]),
                        {(record.env, kwargs_label(record.env_kwargs)): config}, figures, command, [run_dir])  # fmt: skip


def _leaderboard_command(folder: Path) -> str:
    readme = folder / "README.md"
    lines = readme.read_text().splitlines() if readme.exists() else []
    return next((line.strip() for line in lines if line.startswith("    python")), "")


def read_leaderboard(folder: Path) -> ReportInputs:
    table = pd.read_csv(folder / "leaderboard.csv")
    table["env_kwargs"] = table["env_kwargs"].fillna("").astype(str)
    figures = [(f"{path.stem.replace('_', ' ')}: IQM over seeds, 95% bootstrap CI", path.read_bytes())
               for path in [folder / "learning_curves.png", *sorted(folder.glob("sweep_*.png"))] if path.exists()]  # fmt: skip
    runs = pd.read_csv(folder / "runs.csv") if (folder / "runs.csv").exists() else pd.DataFrame(columns=["run_dir"])
    runs["env_kwargs"] = runs.get("env_kwargs", pd.Series(dtype=str)).fillna("").astype(str)
    runs["path"] = [folder / path for path in runs["run_dir"]]
    runs = runs[[(path / "config.yml").exists() for path in runs["path"]]]
    configs = {(row.env, row.env_kwargs): load_run_config(row.path) for row in runs.itertuples()}
    learns = [get_entry(agent).learns for agent in runs.get("agent", [])]
    ranked = runs.assign(learns=learns).sort_values(["learns", "eval_mean"], ascending=False, kind="stable")
    title = f"Leaderboard {folder.name}: {', '.join(dict.fromkeys(table['env']))}"
    return ReportInputs(title, table, configs, figures, _leaderboard_command(folder), list(ranked["path"]))


def measure_reference(config: RunConfig, agent: str, episodes: int) -> tuple[float, float]:
    """Mean and std return of a non-learning ``agent`` over ``episodes`` deterministic episodes on the run's
    evaluation env (the agent's own hyperparameters, e.g. its wrappers, and the run's env kwargs)."""
    argv = train_argv(config.env_id, agent, config.seed, -1, config.env_kwargs)
    reference = resolve_config(parse_args(argv))
    env = make_env(reference, evaluation=True)
    try:
        model = make_agent(agent, env, resolve_hyperparams(reference.hyperparams), seed=reference.seed)
        returns, _ = evaluate_policy(model, env, n_eval_episodes=episodes, deterministic=True,
                                     return_episode_rewards=True)  # fmt: skip
    finally:
        env.close()
    return float(np.mean(returns)), float(np.std(returns))


def references(inputs: ReportInputs, episodes: int) -> tuple[dict[tuple, dict[str, tuple[float, float]]], list[str]]:
    """Chance and oracle (mean, std) per (env, env kwargs): the table's rows, else measured; and notes on sources."""
    found: dict[tuple, dict[str, tuple[float, float]]] = {}
    notes = []
    for row in inputs.table.itertuples():
        key = (row.env, row.env_kwargs)
        kinds = {CHANCE_AGENT: "chance", ORACLE_AGENTS.get(row.env): "oracle"}
        if row.agent in kinds:
            found.setdefault(key, {})[kinds[row.agent]] = (float(row.mean), float(row.std))
    for key in dict.fromkeys((row.env, row.env_kwargs) for row in inputs.table.itertuples()):
        for kind, agent in (("chance", CHANCE_AGENT), ("oracle", ORACLE_AGENTS.get(key[0]))):
            if agent is None or kind in found.get(key, {}) or key not in inputs.configs or episodes < 1:
                continue
            found.setdefault(key, {})[kind] = measure_reference(inputs.configs[key], agent, episodes)
            notes.append(f"{kind} for {' '.join(key).strip()}: agent {agent}, {episodes} evaluation episodes "
                         f"measured for this report (std over episodes)")  # fmt: skip
    return found, notes


def _cell(value: tuple[float, float] | None) -> str:
    if value is None:
        return "—"
    mean, std = value
    return f"{mean:.1f} ± {'—' if np.isnan(std) else f'{std:.1f}'}"  # as the table writes its returns


def results_table(table: pd.DataFrame, found: dict[tuple, dict[str, tuple[float, float]]]) -> str:
    """The leaderboard's Markdown columns with chance, oracle and the score on the chance-to-oracle scale beside
    the return."""
    headers, rows = markdown_cells(leaderboard_markdown(table))
    at = headers.index("return (mean ± std)") + 1
    headers[at:at] = ["chance (random)", "oracle", "score (chance 0, oracle 1)"]
    for row, source in zip(rows, table.itertuples(), strict=True):
        refs = found.get((source.env, source.env_kwargs), {})
        chance, oracle = refs.get("chance"), refs.get("oracle")
        scaled = "—"
        if chance is not None and oracle is not None and oracle[0] != chance[0]:
            scaled = f"{(source.mean - chance[0]) / (oracle[0] - chance[0]):.2f}"
        row[at:at] = [_cell(chance), _cell(oracle), scaled]
    return table_html(headers, rows)


def episode_video(candidates: Sequence[Path], max_frames: int, seed: int | None) -> tuple[bytes, str] | None:
    """The MP4 and caption of one deterministic episode of the first candidate run that has a model."""
    run_dir = next((path for path in candidates if _has_model(path)), None)
    if run_dir is None:
        return None
    replay = replay_run(run_dir, episodes=1, deterministic=True, seed=seed, max_frames=max_frames)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_video(Path(tmp) / "episode.mp4", replay.frames, replay.fps)
        content = path.read_bytes()
    cut = f", first {len(replay.frames)} steps shown" if len(replay.frames) < replay.lengths[0] else ""
    caption = (f"One deterministic episode of {run_dir.name} on its evaluation env: return {replay.returns[0]:.4g} "
               f"in {replay.lengths[0]} steps{cut}, {replay.fps} frames per second.")  # fmt: skip
    return content, caption


def _has_model(run_dir: Path) -> bool:
    try:
        find_model(run_dir)
    except ValueError:
        return False
    return True


def read_inputs(folder: Path) -> ReportInputs:
    """A leaderboard folder (``leaderboard.csv``) or a run folder (``config.yml``); ``ValueError`` otherwise."""
    if not folder.is_dir():
        raise ValueError(f"folder {folder} does not exist")
    if (folder / "leaderboard.csv").exists():
        return read_leaderboard(folder)
    if (folder / "config.yml").exists():
        find_model(folder)  # a run without a model cannot be replayed: say so now
        return read_run_folder(folder)
    raise ValueError(f"{folder} is neither a run folder (config.yml) nor a leaderboard folder (leaderboard.csv)")


def build_page(inputs: ReportInputs, reference_episodes: int, video: tuple[bytes, str] | str) -> Page:
    """The page: results with chance and oracle, figures, the episode video (or why there is none), command, config."""
    found, notes = references(inputs, reference_episodes)
    note_html = "".join(f"<li>{escape(note)}</li>" for note in notes)
    sections = [Section("Results", results_table(inputs.table, found)
                        + '<p class="note">Return: final evaluation on evaluation seeds (seed + 1,000,000), mean ± std '
                          "over seeds. Score: (return − chance) / (oracle − chance). Chance and oracle come from the "
                          "table's own rows unless noted:"
                          f"</p><ul class=\"note\">{note_html or '<li>all from the table</li>'}</ul>")]  # fmt: skip
    sections += [Section("Curves" if i == 0 else "More curves", image_html(png, caption))
                 for i, (caption, png) in enumerate(inputs.figures)]  # fmt: skip
    episode = video_html(*video) if isinstance(video, tuple) else f'<p class="note">{escape(video)}</p>'
    sections.append(Section("An episode: what the agent saw", episode))
    replayed = next((path for path in inputs.replay_candidates if _has_model(path)), None)
    if inputs.command:
        sections.append(Section("Command", pre_html(inputs.command)))
    if replayed is not None:
        sections.append(Section(f"Config of {replayed.name}", pre_html((replayed / "config.yml").read_text())))
    intro = f'<p class="note">Written by <code>python -m eval.report</code> on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.</p>'
    return Page(inputs.title, intro, sections)


def write_report(folder: str | Path, output: str | Path | None = None, *, reference_episodes: int = 10,
                 max_frames: int = 300, video: bool = True, seed: int | None = None) -> Path:  # fmt: skip
    """Write the report of ``folder`` (default ``folder/report.html``) and return its path."""
    folder = Path(folder)
    if reference_episodes < 0 or max_frames < 1:
        raise ValueError(
            f"--reference-episodes must be >= 0 and --max-frames >= 1, got {reference_episodes}, {max_frames}"
        )
    inputs = read_inputs(folder)
    clip = episode_video(inputs.replay_candidates, max_frames, seed) if video else "Video left out (--no-video)."
    if clip is None:
        clip = "No run folder with a model here to replay (committed results do not keep run folders)."
    page = build_page(inputs, reference_episodes, clip)
    output = Path(output) if output is not None else folder / "report.html"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_page(page), encoding="utf-8")
    return output


def main(argv: Sequence[str] | None = None) -> Path:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    parser.add_argument("folder", type=Path, help="a run folder or a leaderboard folder")
    parser.add_argument("-o", "--output", type=Path, default=None, help="HTML file; None: FOLDER/report.html")
    parser.add_argument(
        "--reference-episodes",
        type=int,
        default=10,
        help="episodes to measure chance/oracle where the table has no such row (0: do not measure)",
    )
    parser.add_argument("--max-frames", type=int, default=300, help="steps of the episode shown in the video")
    parser.add_argument("--no-video", action="store_true", help="leave the episode video out")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the replayed episode; None: the run's evaluation seed"
    )
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["max_frames"], non_negative=["reference_episodes"])
    path = write_report(args.folder, args.output, reference_episodes=args.reference_episodes,
                        max_frames=args.max_frames, video=not args.no_video, seed=args.seed)  # fmt: skip
    print(f"report: {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return path


def cli(argv: Sequence[str] | None = None) -> None:
    """Entry point: bad input (a missing folder, a run without a model) ends in one line, exit 2."""
    run_cli(main, argv, PROG)


if __name__ == "__main__":
    cli()
