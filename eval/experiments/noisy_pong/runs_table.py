"""Per-run Markdown table (raw score mean ± std over the final evaluation episodes) from run folders.

    python eval/experiments/noisy_pong/runs_table.py logs/noisy_pong/noisy logs/noisy_pong/clean

Reads each ``summary.json`` (and ``evaluations.npz`` for the periodic evaluations) that ``train/run.py``
wrote; prints one row per run, sorted by folder, agent and seed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def rows(folder: Path) -> list[str]:
    out = []
    for summary_path in sorted(folder.glob("*/summary.json")):
        s = json.loads(summary_path.read_text())
        curve = summary_path.parent / "evaluations.npz"
        periodic = ""
        if curve.exists():
            data = np.load(curve)
            periodic = ", ".join(f"{m:.1f}" for m in data["results"].mean(axis=1))
        fps = "—" if s.get("fps") is None else f"{s['fps']:.0f}"
        out.append(
            f"| {folder.name} | {s['agent']} | {s['seed']} | {s['timesteps']:,} | "
            f"{s['eval_mean']:.1f} ± {s['eval_std']:.1f} ({s['eval_episodes']}) | {periodic} | "
            f"{s['train_seconds']:.0f} | {fps} |"
        )
    return sorted(out, key=lambda row: row.split("|")[1:4])


def main() -> None:
    print(
        "| pipeline | agent | seed | steps | final raw score, mean ± std (episodes) | periodic evals (5 ep. each) "
        "| wall s | steps/s (wall, incl. evaluations) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for folder in sys.argv[1:]:
        print("\n".join(rows(Path(folder))))


if __name__ == "__main__":
    main()
