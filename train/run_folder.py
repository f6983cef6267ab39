"""Run folders: ``{log_folder}/{env}__{agent}__{seed}__{timestamp}`` with the run's config, args and command."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from train.config import RunConfig


def create_run_folder(log_folder: str, config: RunConfig) -> Path:
    """Make a fresh run folder (a numeric suffix avoids clashes within the same second)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(log_folder) / f"{config.run_name}__{stamp}"
    path, suffix = base, 1
    while path.exists():
        path, suffix = Path(f"{base}_{suffix}"), suffix + 1
    path.mkdir(parents=True)
    return path


def write_run_files(run_dir: Path, config: RunConfig, args: argparse.Namespace) -> None:
    """Save ``config.yml`` (resolved), ``args.yml`` and ``command.txt`` so the run can be reproduced."""
    (run_dir / "config.yml").write_text(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
    (run_dir / "args.yml").write_text(yaml.safe_dump(vars(args), sort_keys=True))
    command = " ".join(shlex.quote(part) for part in [sys.executable, *sys.argv])
    (run_dir / "command.txt").write_text(command + "\n")


def append_command(run_dir: Path) -> None:
    """Record a resumed session's command line under the original one."""
    command = " ".join(shlex.quote(part) for part in [sys.executable, *sys.argv])
    with open(run_dir / "command.txt", "a") as handle:
        handle.write(command + "\n")


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
