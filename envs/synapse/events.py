"""Events: a synapse produces an event at step t when its pre or its post neuron spikes at t.

This module finds the events of every group, samples them to a fixed capacity and builds their local
states, independently of any environment class. Observation layout of one event (a row of width
``2K + N_SCALARS``), see :data:`SCALAR_COLUMNS`:

* ``[0, K)``: presynaptic spikes, oldest step first, the current step at ``K - 1``;
* ``[K, 2K)``: postsynaptic spikes, same order;
* ``2K + 0`` mask (1 for a real event, 0 for padding), ``+1`` weight mapped to [0, 1] within the group's
  bounds, ``+2`` pre event (pre spiked now), ``+3`` post event (post spiked now), ``+4`` group id
  ``index / max(1, n_groups - 1)``, ``+5`` l_norm (normalised layer index), ``+6`` third factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from envs.synapse.groups import SynapseGroup
from envs.synapse.history import SpikeHistory

SCALAR_COLUMNS = ("mask", "weight", "pre_event", "post_event", "group", "l_norm", "third_factor")
N_SCALARS = len(SCALAR_COLUMNS)


def column(k: int, name: str) -> int:
    """Index of scalar column ``name`` in an event row for history length ``k``."""
    return 2 * k + SCALAR_COLUMNS.index(name)


@dataclass
class EventBatch:
    """Sampled events (at most ``capacity``): group index, pre and post neuron of each, and how many
    events the step had before sampling (``n_total``)."""

    group: torch.Tensor
    pre: torch.Tensor
    post: torch.Tensor
    n_total: int

    def __len__(self) -> int:
        return len(self.group)

    @staticmethod
    def empty() -> EventBatch:
        z = torch.zeros(0, dtype=torch.long)
        return EventBatch(z, z, z, 0)


def group_events(group: SynapseGroup, pre_spikes: torch.Tensor, post_spikes: torch.Tensor) -> torch.Tensor:
    """``(E, 2)`` (pre, post) indices of the group's synapses whose pre or post neuron spiked.

    Example:
        >>> g = SynapseGroup("g", "a", "b", torch.zeros(3, 2), 0.0, 1.0, 0.1)
        >>> group_events(g, torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 1.0])).tolist()
        [[0, 1], [1, 0], [1, 1], [2, 1]]
    """
    active = (pre_spikes > 0)[:, None] | (post_spikes > 0)[None, :]
    if group.connectivity is not None:
        active &= group.connectivity
    return active.nonzero()


def find_events(
    groups: list[SynapseGroup], latest: dict[str, torch.Tensor], capacity: int, rng: np.random.Generator
) -> EventBatch:
    """The events of all groups at this step, uniformly sampled (seeded) down to ``capacity``."""
    found = [group_events(g, latest[g.pre], latest[g.post]) for g in groups]
    group_ids = torch.cat(
        [torch.full((len(f),), g.index, dtype=torch.long) for g, f in zip(groups, found, strict=True)]
    )
    pairs = torch.cat(found) if found else torch.zeros(0, 2, dtype=torch.long)
    n_total = len(pairs)
    if n_total > capacity:
        keep = torch.from_numpy(np.sort(rng.choice(n_total, size=capacity, replace=False)))
        pairs, group_ids = pairs[keep], group_ids[keep]
    return EventBatch(group_ids, pairs[:, 0], pairs[:, 1], n_total)


def event_features(
    batch: EventBatch,
    groups: list[SynapseGroup],
    history: SpikeHistory,
    capacity: int,
    third_factor: torch.Tensor | None = None,
) -> np.ndarray:
    """The ``(capacity, 2K + N_SCALARS)`` float32 observation of a batch (padding rows are all zero)."""
    k = history.k
    rows = torch.zeros(capacity, 2 * k + N_SCALARS)
    n_groups = max(len(groups) - 1, 1)
    for g in groups:
        sel = (batch.group == g.index).nonzero().squeeze(1)
        if len(sel) == 0:
            continue
        pre, post = batch.pre[sel], batch.post[sel]
        pre_hist, post_hist = history.window(g.pre, pre), history.window(g.post, post)
        rows[sel, :k] = pre_hist
        rows[sel, k : 2 * k] = post_hist
        scalars = torch.stack(
            [
                torch.ones(len(sel)),
                g.normalised_weight(pre, post),
                pre_hist[:, -1],
                post_hist[:, -1],
                torch.full((len(sel),), g.index / n_groups),
                torch.full((len(sel),), g.l_norm),
            ],
            dim=1,
        )
        rows[sel, 2 * k : 2 * k + N_SCALARS - 1] = scalars
    if third_factor is not None and len(batch):
        rows[: len(batch), column(k, "third_factor")] = third_factor
    return rows.numpy()
