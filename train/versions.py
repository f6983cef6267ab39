"""Versions of the packages a result depends on, recorded with every run, checkpoint and leaderboard."""

from __future__ import annotations

import platform
from importlib import metadata

# Distribution names whose versions decide a run's numbers (same seed, same versions: same trajectory).
PACKAGES = ("torch", "numpy", "gymnasium", "stable-baselines3", "sb3-contrib", "ale-py")


def package_versions() -> dict[str, str]:
    """``{"python": "3.11.7", "torch": "2.13.0", ...}``; a package that is not installed reads ``"absent"``.

    Example:
        >>> sorted(package_versions())[:3]
        ['ale-py', 'gymnasium', 'numpy']
    """
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def versions_line(versions: dict[str, str]) -> str:
    """``python 3.11.7, torch 2.13.0, ...`` for a README."""
    return ", ".join(f"{name} {version}" for name, version in versions.items())
