"""Running standardisation of a feature vector: ``(f − mean) / sqrt(var + eps)`` with statistics that adapt in
training mode only (like the perception's prototypes), so rollouts and ``predict`` are pure functions of the state."""

from __future__ import annotations

import torch
from torch import nn


class RunningStandardizer(nn.Module):
    """Standardises ``(batch, dim)`` features with exponential running moments.

    Args:
        dim: feature width.
        eps: added to the variance.

    The first training pass sets the moments to its batch's; each later one moves them by ``rate`` (given to
    :meth:`forward`) toward the batch's. The moments are buffers (``running_*``): saved and loaded with the model.

    Example:
        >>> s = RunningStandardizer(2).train()
        >>> out = s(torch.tensor([[0.0, 10.0], [2.0, 30.0]]), rate=0.1)
        >>> [[round(v, 3) for v in row] for row in out.tolist()]
        [[-1.0, -1.0], [1.0, 1.0]]
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))
        self.register_buffer("running_passes", torch.tensor(0))

    def forward(self, features: torch.Tensor, rate: float) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                batch = features.detach()
                step = 1.0 if int(self.running_passes) == 0 else rate
                self.running_mean.lerp_(batch.mean(0), step)
                self.running_var.lerp_(batch.var(0, unbiased=False), step)
                self.running_passes += 1
        return (features - self.running_mean) / torch.sqrt(self.running_var + self.eps)
