"""Synapse groups: the learnable weight matrices of a network, as first-class objects.

A group is one projection ``pre layer → post layer`` with its weights, bounds, learning rate η and
optional connectivity mask. Events, updates and (later) multi-agent wrappers all address synapses as
``(group, pre index, post index)``, so nothing here depends on an environment class.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SynapseGroup:
    """Learnable synapses from layer ``pre`` to layer ``post``.

    Args:
        name: unique name (``input_exc``, ``inh_exc``, ``layer0`` ...).
        pre: name of the presynaptic layer.
        post: name of the postsynaptic layer.
        weight: ``(n_pre, n_post)`` tensor, updated in place.
        w_min: lower weight bound.
        w_max: upper weight bound.
        eta: learning rate η of ``Δw = η · Δd``.
        index: group id (position in the network's group list).
        l_norm: normalised layer index in [0, 1] (0 for the first projection).
        connectivity: optional ``(n_pre, n_post)`` bool mask of existing synapses (``None``: all-to-all).
    """

    name: str
    pre: str
    post: str
    weight: torch.Tensor
    w_min: float
    w_max: float
    eta: float
    index: int = 0
    l_norm: float = 0.0
    connectivity: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if not self.w_min < self.w_max:
            raise ValueError(f"group {self.name}: w_min={self.w_min} must be below w_max={self.w_max}")
        self.clip_()

    @property
    def n_synapses(self) -> int:
        """Number of existing synapses."""
        return int(self.connectivity.sum()) if self.connectivity is not None else self.weight.numel()

    def clip_(self) -> None:
        """Clip every weight to ``[w_min, w_max]`` and zero absent synapses."""
        self.weight.clamp_(self.w_min, self.w_max)
        if self.connectivity is not None:
            self.weight.mul_(self.connectivity)

    def normalised_weight(self, pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
        """Weights of synapses ``(pre[e], post[e])`` mapped to [0, 1] within the group's bounds."""
        return (self.weight[pre, post] - self.w_min) / (self.w_max - self.w_min)

    def apply_delta(self, pre: torch.Tensor, post: torch.Tensor, delta_d: torch.Tensor) -> torch.Tensor:
        """Apply ``Δw = η · Δd`` to synapses ``(pre[e], post[e])``, clip, and return the Δw that took effect.

        Repeated pairs accumulate (``index_put_`` with ``accumulate``); absent synapses never change.
        """
        before = self.weight[pre, post].clone()
        self.weight.index_put_((pre, post), self.eta * delta_d.to(self.weight.dtype), accumulate=True)
        self.weight[pre, post] = self.weight[pre, post].clamp(self.w_min, self.w_max)
        if self.connectivity is not None:
            self.weight[pre, post] *= self.connectivity[pre, post]
        return self.weight[pre, post] - before

    def subtract_mean_change_(self, post: torch.Tensor, applied: torch.Tensor, sweeps: int = 4) -> None:
        """Subtractive normalisation (Miller & MacKay 1994): each post neuron ``j`` gives back the summed change of
        its input weights, spread evenly over its synapses, so that it keeps its summed input weight.

        ``post`` and ``applied`` are the events' post indices and the Δw that took effect (:meth:`apply_delta`).
        A change common to all of a neuron's synapses (a bias) is removed; only differences between its inputs
        remain. A synapse at the bound the correction pushes toward cannot take its share, so the rest is spread
        over the others in up to ``sweeps`` passes (clipping after each).
        """
        target = self.weight.sum(0) - torch.zeros_like(self.weight[0]).index_add_(0, post, applied)
        for _ in range(sweeps):
            excess = self.weight.sum(0) - target
            due = excess.abs() > 1e-6  # neurons whose sum is still off (float round-off aside)
            if not due.any():
                return
            free = torch.where(excess > 0, self.weight > self.w_min, self.weight < self.w_max) & due
            if self.connectivity is not None:
                free &= self.connectivity
            self.weight.sub_(free * (excess / free.sum(0).clamp(min=1)))
            self.clip_()


def centre_per_post(post: torch.Tensor, delta_d: torch.Tensor, n_post: int) -> torch.Tensor:
    """``Δd`` minus the mean ``Δd`` of the events onto the same post neuron (``weight_normalization="events"``):
    each neuron's changes in a step sum to zero before clipping, so only differences between its co-active
    synapses remain and a change common to all its events (e.g. depressing every active input) has no effect."""
    count = torch.zeros(n_post).index_add_(0, post, torch.ones_like(delta_d))
    total = torch.zeros(n_post).index_add_(0, post, delta_d)
    return delta_d - (total / count.clamp(min=1))[post]
