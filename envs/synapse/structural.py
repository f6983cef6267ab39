"""Structural plasticity: a periodic "sleep" phase that replays stored inputs, prunes weak synapses and grows
new random ones (optional; docs/synapse.md). The synapse count (``info["synapse_count"]``) dips after the first
sleeps and settles where growth balances pruning.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from envs.synapse.groups import SynapseGroup
from envs.synapse.networks import SpikingNetwork

NEW_WEIGHT_SPAN = 0.05  # new synapses start at a weight within ±5% of the group's span around 0 (clipped)


def replay(network: SpikingNetwork, inputs: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Present stored input spike trains ``(T, n_input)`` with frozen weights; summed spike counts per layer.

    Adaptive thresholds (Diehl–Cook θ) are restored afterwards and the neurons are left at rest.
    """
    theta = getattr(network, "theta", None)
    saved = None if theta is None else theta.clone()
    totals: dict[str, torch.Tensor] = {}
    for train in inputs:
        network.begin_image()
        for s in train:
            network.step(s)
        for name, counts in network.history.counts.items():
            totals[name] = totals.get(name, 0) + counts
    if saved is not None:
        network.theta.copy_(saved)
    network.begin_image()
    return totals


def restructure(
    group: SynapseGroup,
    allowed: torch.Tensor,
    usage: torch.Tensor,
    prune_fraction: float,
    grow_fraction: float,
    rng: np.random.Generator,
) -> tuple[int, int]:
    """Prune the weakest ``prune_fraction`` of the group's synapses, then grow ``grow_fraction`` × |allowed|
    random new ones among the allowed absent positions. Returns ``(pruned, grown)``.

    A synapse's strength is ``|w| / span · (1 + usage)``, ``usage`` its pre × post co-activity during replay
    normalised to mean 1: weak synapses that were also idle go first.

    Example:
        >>> g = SynapseGroup("g", "a", "b", torch.tensor([[0.9, 0.01], [0.5, 0.02]]), -1.0, 1.0, 0.1)
        >>> restructure(g, torch.ones(2, 2, dtype=torch.bool), torch.ones(2, 2), 0.5, 0.0, np.random.default_rng(0))
        (2, 0)
        >>> g.connectivity.tolist()
        [[True, False], [True, False]]
    """
    if group.connectivity is None:
        group.connectivity = torch.ones_like(group.weight, dtype=torch.bool)
    present = group.connectivity & allowed
    strength = group.weight.abs() / (group.w_max - group.w_min) * (1.0 + usage / usage.mean().clamp_min(1e-9))
    n_prune = int(prune_fraction * int(present.sum()))
    candidates = torch.nonzero(present.flatten()).flatten()
    weakest = candidates[torch.argsort(strength.flatten()[candidates])[:n_prune]]
    absent = torch.nonzero((~group.connectivity & allowed).flatten()).flatten()  # before this sleep's pruning
    n_grow = min(int(grow_fraction * int(allowed.sum())), len(absent))
    grown = absent[torch.from_numpy(rng.choice(len(absent), n_grow, replace=False)).long()] if n_grow else absent[:0]
    flat_conn, flat_w = group.connectivity.view(-1), group.weight.view(-1)
    flat_conn[weakest] = False
    flat_w[weakest] = 0.0
    flat_conn[grown] = True
    span = group.w_max - group.w_min
    new = torch.from_numpy(rng.uniform(-NEW_WEIGHT_SPAN, NEW_WEIGHT_SPAN, n_grow)).to(flat_w.dtype) * span
    flat_w[grown] = new.clamp(group.w_min, group.w_max)
    return n_prune, n_grow


def sleep(
    network: SpikingNetwork,
    stored: Iterable[torch.Tensor],
    allowed: list[torch.Tensor],
    prune_fraction: float,
    grow_fraction: float,
    rng: np.random.Generator,
) -> dict[str, int]:
    """One sleep phase over every learnable group: replay, prune, grow. Returns counts for ``info``."""
    counts = replay(network, stored)
    pruned = grown = 0
    for group, mask in zip(network.groups, allowed, strict=True):
        usage = torch.outer(counts[group.pre], counts[group.post])
        p, g = restructure(group, mask, usage, prune_fraction, grow_fraction, rng)
        pruned, grown = pruned + p, grown + g
    return {"pruned": pruned, "grown": grown, "synapse_count": sum(g.n_synapses for g in network.groups)}
