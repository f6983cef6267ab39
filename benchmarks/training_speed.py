"""Training steps/s of one ``train/run.py`` run in a fresh process (no periodic evaluation), for benchmarks.

Each measurement is its own interpreter, so process-wide settings (``--allocator``, torch threads) of one
variant cannot leak into the next; benchmarks interleave the variants to share the machine's load alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def training_fps(argv: list[str], log_folder: str) -> float:
    """Steps/s of the training loop of ``train/run.py argv`` (its summary: timesteps / train seconds)."""
    fixed = ["--eval-freq", "0", "--save-freq", "0", "--no-tensorboard", "--final-eval-episodes", "1", "--verbose", "0"]
    Path(ROOT / log_folder).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / log_folder) as folder:
        subprocess.run([sys.executable, str(ROOT / "train" / "run.py"), *argv, *fixed, "-f", folder], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        summary = json.loads(next(Path(folder).glob("*/summary.json")).read_text())
    return summary["timesteps"] / summary["train_seconds"]
