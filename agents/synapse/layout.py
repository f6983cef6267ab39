"""Read the event rows of the synapse environments (layout documented in ``envs.synapse.events``).

Agents depend on this documented observation layout only, never on the environment's internals.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

SCALARS = ("mask", "weight", "pre_event", "post_event", "group", "l_norm", "third_factor")


class EventRows(NamedTuple):
    """Views of a batch of event rows ``(..., capacity, 2K + 7)``."""

    pre: np.ndarray | torch.Tensor  # (..., capacity, K), oldest first
    post: np.ndarray | torch.Tensor
    scalars: np.ndarray | torch.Tensor  # (..., capacity, 7) in SCALARS order

    def scalar(self, name: str):
        return self.scalars[..., SCALARS.index(name)]


def history_length(width: int) -> int:
    """K from the row width ``2K + 7``."""
    k, rest = divmod(width - len(SCALARS), 2)
    if rest or k < 1:
        raise ValueError(f"observation rows of width {width} are not synapse event rows (2K + {len(SCALARS)})")
    return k


def as_rows(obs: np.ndarray | torch.Tensor, capacity: int) -> np.ndarray | torch.Tensor:
    """Flat observations ``(..., capacity · (2K + 7))`` as rows ``(..., capacity, 2K + 7)``."""
    return obs.reshape(*obs.shape[:-1], capacity, obs.shape[-1] // capacity)


def split_rows(obs: np.ndarray | torch.Tensor) -> EventRows:
    """Split rows ``(..., capacity, 2K + 7)`` into pre history, post history and scalars."""
    k = history_length(obs.shape[-1])
    return EventRows(obs[..., :k], obs[..., k : 2 * k], obs[..., 2 * k :])
