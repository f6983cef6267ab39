"""SCAL value statistics: per-(action, centroid) visit counts and TD-error variance, UCB bonus, spiking TD.

As in docs/scal_rl.md: Q estimates carry centroid statistics and an
uncertainty bonus ``beta * sigma / sqrt(n + 1)``; spiking TD weighs each TD error by the soft spike
probability of a neuron driven by that error (our reading: ``p = sigmoid(slope * (|delta| / std - 1))``,
weights ``0.5 + p`` normalised to mean 1, so surprising transitions count up to three times more).
"""

from __future__ import annotations

import torch
from torch import nn


class SCALValueStats(nn.Module):
    """Visit counts and running TD-error moments per (action, centroid), as buffers.

    Args:
        n_actions: discrete actions.
        n_centroids: centroids (the perception's prototypes).
        beta: UCB coefficient.
        momentum: weight of the old moments in the running mean/variance of TD errors.
    """

    def __init__(self, n_actions: int, n_centroids: int, beta: float = 1.0, momentum: float = 0.99) -> None:
        super().__init__()
        if beta < 0:
            raise ValueError(f"beta={beta!r} must be >= 0")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum={momentum!r} must be in [0, 1)")
        self.beta, self.momentum = beta, momentum
        self.register_buffer("running_counts", torch.zeros(n_actions, n_centroids))
        self.register_buffer("running_td_mean", torch.zeros(n_actions, n_centroids))
        self.register_buffer("running_td_var", torch.ones(n_actions, n_centroids))

    @torch.no_grad()
    def update(self, actions: torch.Tensor, centroids: torch.Tensor, td_errors: torch.Tensor) -> None:
        """Count the visits and move the TD-error moments of each visited (action, centroid)."""
        actions, centroids, td_errors = actions.long().reshape(-1), centroids.long().reshape(-1), td_errors.reshape(-1)
        n_centroids = self.running_counts.shape[1]
        flat = actions * n_centroids + centroids
        size = self.running_counts.numel()
        visits = torch.bincount(flat, minlength=size).float()
        sums = torch.bincount(flat, weights=td_errors.float(), minlength=size)
        squares = torch.bincount(flat, weights=td_errors.float() ** 2, minlength=size)
        seen = visits > 0
        mean = self.running_td_mean.view(-1)
        var = self.running_td_var.view(-1)
        batch_mean = sums[seen] / visits[seen]
        batch_var = (squares[seen] / visits[seen] - batch_mean**2).clamp_min(0.0)
        m = self.momentum
        var[seen] = m * var[seen] + (1 - m) * (batch_var + (batch_mean - mean[seen]) ** 2)
        mean[seen] = m * mean[seen] + (1 - m) * batch_mean
        self.running_counts.view(-1).add_(visits)

    def bonus(self, centroids: torch.Tensor) -> torch.Tensor:
        """UCB bonus ``beta * sigma / sqrt(n + 1)`` of every action at each centroid: ``(batch, actions)``."""
        sigma = self.running_td_var.sqrt()[:, centroids].T
        return self.beta * sigma / torch.sqrt(self.running_counts[:, centroids].T + 1.0)


def spiking_td_weights(td_errors: torch.Tensor, slope: float = 4.0) -> torch.Tensor:
    """Soft spike probability weighting of TD errors (mean 1, each weight in [0.5, 1.5] before normalising).

    Args:
        td_errors: TD errors (any shape).
        slope: steepness of the soft spike around ``|delta| = std(delta)``.
    """
    scale = td_errors.detach().abs().mean().clamp_min(1e-8) * 1.25  # ~std for Gaussian errors, robust to n=1
    probability = torch.sigmoid(slope * (td_errors.detach().abs() / scale - 1.0))
    weights = 0.5 + probability
    return weights / weights.mean()
