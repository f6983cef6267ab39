"""The spike nonlinearity: a Heaviside step with the SuperSpike surrogate gradient (Zenke & Ganguli 2018)."""

from __future__ import annotations

import torch

__all__ = ["SuperSpike", "spike_fn"]


class SuperSpike(torch.autograd.Function):
    """Heaviside forward, SuperSpike surrogate ``1 / (1 + slope·|x|)²`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:  # noqa: D102
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        (x,) = ctx.saved_tensors
        return grad_output / (1.0 + ctx.slope * x.abs()) ** 2, None


def spike_fn(x: torch.Tensor, slope: float, smooth: bool = False) -> torch.Tensor:
    """Spikes of the scaled distance to threshold ``x``; ``smooth`` uses a sigmoid (for gradient checks).

    Example:
        >>> x = torch.tensor([-0.5, 0.5], requires_grad=True)
        >>> spikes = spike_fn(x, slope=1.0)
        >>> spikes.sum().backward()
        >>> spikes.tolist(), x.grad.tolist()
        ([0.0, 1.0], [0.4444444477558136, 0.4444444477558136])
    """
    return torch.sigmoid(slope * x) if smooth else SuperSpike.apply(x, slope)
