"""Leaky integrate-and-fire neurons in the Norse style: parameters and state as named tuples, a pure step.

``V(t+1) = V(t) + dt/τ_m · (−(V − V_rest) + R·I(t))``; a neuron spikes when ``V > V_th`` (plus an optional
adaptive offset θ, as in Diehl & Cook 2015) and is reset to ``V_reset``. Synaptic input is a train of delta
pulses: ``I(t) = τ_m/dt · Σ_i w_i s_i(t)``, so a spike through weight ``w`` moves ``V`` by ``R·w`` whatever
``dt`` is. The spike threshold is a Heaviside step with the SuperSpike surrogate gradient
(Zenke & Ganguli 2018) for backpropagation through time.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class LIFParameters(NamedTuple):
    """Parameters of one LIF population (times in ms, potentials in mV).

    Args:
        tau_m: membrane time constant τ_m.
        v_rest: resting potential.
        v_th: firing threshold.
        v_reset: potential after a spike.
        r: membrane resistance R (scales the input current).
        dt: simulation step.
        surrogate_slope: slope β of the SuperSpike surrogate ``1 / (1 + β|x|)²``.
    """

    tau_m: float = 100.0
    v_rest: float = -65.0
    v_th: float = -52.0
    v_reset: float = -65.0
    r: float = 1.0
    dt: float = 1.0
    surrogate_slope: float = 5.0


class LIFState(NamedTuple):
    """Membrane potential ``v`` of every neuron (batch dimensions allowed)."""

    v: torch.Tensor


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
    """Spikes of the scaled distance to threshold ``x``; ``smooth`` uses a sigmoid (for gradient checks)."""
    return torch.sigmoid(slope * x) if smooth else SuperSpike.apply(x, slope)


def lif_initial_state(n: int | tuple[int, ...], params: LIFParameters) -> LIFState:
    """All neurons at rest."""
    return LIFState(v=torch.full(n if isinstance(n, tuple) else (n,), float(params.v_rest)))


def lif_step(
    weighted_input: torch.Tensor,
    state: LIFState,
    params: LIFParameters,
    threshold_offset: torch.Tensor | float = 0.0,
    smooth: bool = False,
) -> tuple[torch.Tensor, LIFState]:
    """One Euler step of a LIF population.

    Args:
        weighted_input: ``Σ_i w_i s_i(t)`` per neuron (the delta-pulse input, in units of weight).
        state: the membrane potentials before the step.
        params: the population's parameters.
        threshold_offset: adaptive threshold θ added to ``v_th``.
        smooth: sigmoid spikes instead of Heaviside (differentiable forward, for gradient checks).

    Returns:
        ``(spikes, new_state)``: spikes in {0, 1} (or (0, 1) when smooth) and the reset potentials.
    """
    current = weighted_input * (params.tau_m / params.dt)
    v = state.v + params.dt / params.tau_m * (-(state.v - params.v_rest) + params.r * current)
    distance = (v - (params.v_th + threshold_offset)) / max(abs(params.v_th - params.v_reset), 1e-6)
    spikes = spike_fn(distance, params.surrogate_slope, smooth)
    # reset: spikes are 0/1 in the Heaviside case; a smooth spike interpolates the reset
    v = v - spikes * (v - params.v_reset)
    return spikes, LIFState(v=v)


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
