"""Spike encodings of analogue inputs."""

from __future__ import annotations

import torch

__all__ = ["poisson_encode"]


def poisson_encode(intensities: torch.Tensor, uniforms: torch.Tensor, max_rate_hz: float, dt: float) -> torch.Tensor:
    """Poisson spike trains: pixel ``i`` spikes at a step with probability ``intensity_i · max_rate · dt``.

    Args:
        intensities: values in [0, 1], shape ``(n,)``.
        uniforms: uniform draws in [0, 1), shape ``(T, n)`` (drawn by the caller from its seeded RNG).
        max_rate_hz: the rate of a pixel of intensity 1.
        dt: step in ms.

    Returns:
        Float spikes of shape ``(T, n)``.

    Example:
        >>> s = poisson_encode(torch.tensor([0.0, 1.0]), torch.rand(1000, 2), max_rate_hz=100.0, dt=1.0)
        >>> float(s[:, 0].sum()), 50 < float(s[:, 1].sum()) < 150
        (0.0, True)
    """
    probability = (intensities * max_rate_hz * dt / 1000.0).clamp(0.0, 1.0)
    return (uniforms < probability).to(torch.float32)
