"""Accuracy vs FLOPs on held-out inputs for MetaUtility-v0: trained RL runs against the baselines.

    python eval/experiments/meta_utility_train.py -f logs/meta_utility          # trains the RL runs first
    python eval/experiments/meta_utility_curves.py --runs logs/meta_utility -o eval/results/meta_utility

Every number is measured on the 1,000 ``test`` inputs (never seen by the backbone or the agents).
Writes ``curves.csv`` (one row per agent, parameter and seed), ``summary.md`` (the table) and
``accuracy_vs_flops.png``. Baselines: all blocks; confidence-threshold early exit swept over
thresholds; random skipping with ``keep_prob`` matched to each RL agent's measured block share (3
seeds); and the label-aware oracle (the cheapest correct subset per input, an upper reference no policy
can reach).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import yaml

from agents.meta_utility import AllBlocksAgent, ConfidenceExitAgent, RandomSkipAgent
from agents.registry import load_agent
from envs.meta_utility.env import MetaUtilityEnv
from eval.experiments.meta_utility_evaluate import evaluate, oracle_cheapest_correct
from eval.tables import markdown_table, mean_std_cell
from train.cli import OneLineParser

THRESHOLDS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999, 1.0)
FIELDS = ("agent", "eta", "parameter", "seed", "accuracy", "flops_saved", "block_share", "blocks_run", "return")


def rl_runs(runs: Path) -> list[dict]:
    """Evaluate every finished MetaUtility run folder under ``runs`` on the test split."""
    rows = []
    for summary in sorted(runs.glob("MetaUtility-v0__*/summary.json")):
        config = yaml.safe_load((summary.parent / "config.yml").read_text())
        eta = float((config.get("env_kwargs") or {}).get("eta", 0.1))
        env = MetaUtilityEnv(eta=eta, split="test")
        algo = (config.get("hyperparams") or {}).get("algo")
        model = load_agent(config["agent"], str(summary.parent / "model.zip"), device="cpu", algo=algo)
        row = evaluate(model, env)
        rows.append({"agent": config["agent"], "eta": eta, "parameter": "", "seed": config["seed"], **row})
    return rows


def baseline_rows(rl: list[dict]) -> list[dict]:
    env = MetaUtilityEnv(eta=0.0, split="test")
    rows = [{"agent": "all_blocks", "eta": "", "parameter": "", "seed": 0, **evaluate(AllBlocksAgent(env), env)}]
    for threshold in THRESHOLDS:
        row = evaluate(ConfidenceExitAgent(env, threshold=threshold), env)
        rows.append({"agent": "confidence_exit", "eta": "", "parameter": threshold, "seed": 0, **row})
    rows.append(
        {"agent": "oracle", "eta": "", "parameter": "", "seed": 0, "return": "", **oracle_cheapest_correct(env)}
    )
    for (agent, eta), group in group_by(rl).items():
        keep_prob = round(float(np.mean([r["block_share"] for r in group])), 4)
        for seed in range(3):
            row = evaluate(RandomSkipAgent(env, seed=seed, keep_prob=keep_prob), env)
            rows.append({"agent": f"random_skip@{agent}", "eta": eta, "parameter": keep_prob, "seed": seed, **row})
    return rows


def group_by(rows: list[dict]) -> dict[tuple[str, float], list[dict]]:
    groups: dict[tuple[str, float], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["agent"], row["eta"]), []).append(row)
    return groups


def confidence_accuracy_at(rows: list[dict], flops_saved: float) -> float:
    """The confidence-exit curve's accuracy at ``flops_saved`` (linear interpolation between thresholds)."""
    curve = sorted((r["flops_saved"], r["accuracy"]) for r in rows if r["agent"] == "confidence_exit")
    saved, accuracy = zip(*curve, strict=True)
    return float(np.interp(flops_saved, saved, accuracy))


def summary_table(rl: list[dict], baselines: list[dict]) -> str:
    full = next(r["accuracy"] for r in baselines if r["agent"] == "all_blocks")
    random_groups = group_by([r for r in baselines if r["agent"].startswith("random_skip@")])
    headers = ("agent", "η", "seeds", "accuracy % (mean ± std)", "FLOPs saved %", "blocks run",
               "conf-exit acc. at same FLOPs", "random skip, same budget", "target met")  # fmt: skip
    columns: dict[str, list[str]] = {header: [] for header in headers}
    for (agent, eta), group in sorted(group_by(rl).items()):
        acc = np.array([r["accuracy"] for r in group]) * 100
        saved = np.array([r["flops_saved"] for r in group]) * 100
        conf = confidence_accuracy_at(baselines, saved.mean() / 100) * 100
        rand = np.mean([r["accuracy"] for r in random_groups[(f"random_skip@{agent}", eta)]]) * 100
        target_met = saved.mean() >= 40 and acc.mean() >= full * 100 - 1 and acc.mean() > conf
        cells = (agent, str(eta), str(len(group)), mean_std_cell(acc, digits=1), mean_std_cell(saved, digits=1),
                 f"{np.mean([r['blocks_run'] for r in group]):.2f}", f"{conf:.1f}", f"{rand:.1f}",
                 "yes" if target_met else "no")  # fmt: skip
        for header, cell in zip(headers, cells, strict=True):
            columns[header].append(cell)
    return markdown_table(columns)


def mean_points(rows: list[dict], agent: str) -> np.ndarray:
    """Per η of ``agent`` (4 rows, in %): FLOPs saved mean and std, accuracy mean and std over seeds."""
    groups = sorted((float(eta), group) for (name, eta), group in group_by(rows).items() if name == agent)
    points = [
        [f([r[key] for r in group]) for key in ("flops_saved", "accuracy") for f in (np.mean, np.std)]
        for _, group in groups
    ]
    return np.array(points).T * 100  # saved mean, saved std, accuracy mean, accuracy std


def plot(rl: list[dict], baselines: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    curve = sorted((r["flops_saved"], r["accuracy"]) for r in baselines if r["agent"] == "confidence_exit")
    ax.plot(*np.array(curve).T * 100, "k.-", label="confidence exit (threshold sweep)")
    for name, style in (("all_blocks", "k*"), ("oracle", "g^")):
        row = next(r for r in baselines if r["agent"] == name)
        ax.plot(row["flops_saved"] * 100, row["accuracy"] * 100, style, markersize=11, label=name.replace("_", " "))
    full = next(r["accuracy"] for r in baselines if r["agent"] == "all_blocks") * 100
    ax.axhline(full - 1, color="grey", lw=0.8, ls="--", label="full model − 1 point")
    ax.axvline(40, color="grey", lw=0.8, ls=":")
    randoms = sorted({r["agent"] for r in baselines if r["agent"].startswith("random_skip@")})
    for agent, marker in zip(sorted({r["agent"] for r in rl}), "osD^v", strict=False):
        x, xerr, y, yerr = mean_points(rl, agent)
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt=marker + "-", capsize=3, label=f"{agent} (over η)")
    for agent, marker in zip(randoms, "osD^v", strict=False):
        x, xerr, y, yerr = mean_points(baselines, agent)
        label = agent.replace("@", " matched to ")
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt=marker, mfc="none", capsize=3, label=label)
    ax.set_xlabel("FLOPs saved vs the full model (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(full - 20, 100)
    ax.set_title("MetaUtility-v0, 1,000 held-out digits (mean ± std over seeds)")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: Sequence[str] | None = None) -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="logs/meta_utility", help="folder holding the train/run.py run folders")
    parser.add_argument("-o", "--output", default="eval/results/meta_utility")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    rl = rl_runs(Path(args.runs))
    baselines = baseline_rows(rl)
    with (output / "curves.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(baselines + rl)
    table = summary_table(rl, baselines)
    (output / "summary.md").write_text(table)
    plot(rl, baselines, output / "accuracy_vs_flops.png")
    print(table, end="")


if __name__ == "__main__":
    main()
