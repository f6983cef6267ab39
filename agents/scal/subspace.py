"""Unsupervised signal subspace: projection of the pooled input on its leading principal components.

Independent bit flips add white noise spread evenly over all directions, while the encoded state
varies along a few correlated directions; projecting on the leading eigenvectors of the input
covariance keeps the signal and drops most of the noise (the PCA denoiser; for white noise of variance
s^2 the retained noise falls from ``n * s^2`` to ``k * s^2``). The covariance is a running estimate and
the projector ``U_k U_k^T`` is recomputed from it; being a projector, it does not depend on the sign or
rotation of eigenvectors within the subspace, so the features downstream stay stable while it converges.
"""

from __future__ import annotations

import torch
from torch import nn


class PrincipalSubspace(nn.Module):
    """Denoise by projecting on the ``n_components`` leading principal components, learned without gradients.

    Args:
        n_inputs: input size.
        n_components: components kept.
        momentum: weight of the old value in the running mean and covariance.
    """

    def __init__(self, n_inputs: int, n_components: int, momentum: float = 0.99) -> None:
        super().__init__()
        if not 1 <= n_components <= n_inputs:
            raise ValueError(f"n_components={n_components} must be in [1, n_inputs={n_inputs}]")
        self.n_components, self.momentum = n_components, momentum
        self.register_buffer("running_mean", torch.zeros(n_inputs))
        self.register_buffer("running_covariance", torch.eye(n_inputs))
        self.register_buffer("running_projector", torch.eye(n_inputs))  # identity until the first update

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The input with its components outside the principal subspace removed (same shape)."""
        return self.running_mean + (x - self.running_mean) @ self.running_projector

    @torch.no_grad()
    def update(self, x: torch.Tensor, rate: float = 1.0) -> None:
        """Move the running statistics toward a batch ``(batch, n_inputs)`` and recompute the projector.

        ``rate`` scales the step ``1 - momentum`` (a plasticity factor in [0, 1]).
        """
        m = 1.0 - rate * (1.0 - self.momentum)
        centred = x - x.mean(dim=0)
        self.running_mean.mul_(m).add_((1 - m) * x.mean(dim=0))
        self.running_covariance.mul_(m).add_((1 - m) * centred.T @ centred / x.shape[0])
        _, vectors = torch.linalg.eigh(self.running_covariance)  # ascending eigenvalues
        leading = vectors[:, -self.n_components :]
        self.running_projector.copy_(leading @ leading.T)
