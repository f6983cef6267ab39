"""Hyperparameters: ``agents/hyperparams/<agent>.yml`` keyed by env id with a ``default`` entry (RL Zoo style).

Values that name code are dotted paths resolved with importlib (``torch.nn.ReLU``), never ``eval``;
schedules are written ``lin_<start>`` (linear decay to 0, as in RL Zoo).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HYPERPARAMS_DIR = Path(__file__).parent / "hyperparams"
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")
DOTTED_KEYS = (
    "activation_fn", "features_extractor_class", "optimizer_class", "policy", "policy_class", "replay_buffer_class",
)


def load_hyperparams(agent: str, env_id: str) -> dict[str, Any]:
    """Return a copy of the entry for ``env_id`` in ``<agent>.yml``, or its ``default`` entry.

    An entry with ``base: <other agent>`` starts from that agent's entry for ``env_id`` and merges its
    own keys into it (mappings key by key, other values replaced), e.g. ``ppo_frontend.yml`` is
    ``ppo.yml`` plus the front end.
    """
    path = HYPERPARAMS_DIR / f"{agent}.yml"
    if not path.exists():
        return {}
    table = yaml.safe_load(path.read_text()) or {}
    entry = copy.deepcopy(table.get(env_id, table.get("default", {})) or {})
    base = entry.pop("base", None)
    if base is None:
        return entry
    if base == agent or not (HYPERPARAMS_DIR / f"{base}.yml").exists():
        raise ValueError(f"base={base!r} in {path.name} must name another agent's hyperparameter file")
    return merge_entries(load_hyperparams(base, env_id), entry)


def merge_entries(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: nested mappings key by key, other values replaced."""
    merged = dict(base)
    for key, value in overrides.items():
        both_mappings = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = merge_entries(merged[key], value) if both_mappings else value
    return merged


def resolve_dotted(path: str) -> Any:
    """Import ``package.module.Name`` and return ``Name``."""
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise ValueError(f"{path!r} is not a dotted path like 'torch.nn.ReLU'")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot resolve {path!r}: {error}") from error


def resolve_dotted_list(spec: str | dict | list | None) -> list[tuple[Any, dict]]:
    """Resolve ``path``, ``{path: kwargs}`` or a list of them into ``[(object, kwargs), ...]``."""
    items = [] if not spec else spec if isinstance(spec, list) else [spec]
    resolved = []
    for item in items:
        path, kwargs = next(iter(item.items())) if isinstance(item, dict) else (item, {})
        resolved.append((resolve_dotted(path), dict(kwargs or {})))
    return resolved


def linear_schedule(start: float) -> Callable[[float], float]:
    """Linear decay from ``start`` to 0 over training (SB3 passes the remaining progress 1 -> 0)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * start

    return schedule


def _resolve_value(key: str, value: Any) -> Any:
    if key in SCHEDULE_KEYS and isinstance(value, str) and value.startswith("lin_"):
        return linear_schedule(float(value[len("lin_") :]))
    if key in DOTTED_KEYS and isinstance(value, str) and "." in value:  # "MlpPolicy" stays an SB3 alias
        return resolve_dotted(value)
    if isinstance(value, dict):
        return {k: _resolve_value(k, v) for k, v in value.items()}
    return value


def resolve_hyperparams(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """Turn schedule strings and dotted paths into objects; everything else passes through."""
    return {key: _resolve_value(key, value) for key, value in hyperparams.items()}
