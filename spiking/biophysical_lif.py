"""Biophysical leaky integrate-and-fire neurons (mV, ms) with a hard reset, for the synapse-plasticity envs.

``V(t+1) = V(t) + dt/τ_m · (−(V − V_rest) + R·I(t))``; a neuron spikes when ``V > V_th`` (plus an optional
adaptive offset θ, as in Diehl & Cook 2015) and is reset to ``V_reset``. Synaptic input is a train of delta
pulses: ``I(t) = τ_m/dt · Σ_i w_i s_i(t)``, so a spike through weight ``w`` moves ``V`` by ``R·w`` whatever
``dt`` is. Spikes go through the SuperSpike surrogate (:mod:`spiking.surrogate`) for backpropagation through time.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from spiking.surrogate import spike_fn

__all__ = [
    "BiophysicalLIFParameters",
    "BiophysicalLIFState",
    "biophysical_lif_initial_state",
    "biophysical_lif_step",
]


class BiophysicalLIFParameters(NamedTuple):
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


class BiophysicalLIFState(NamedTuple):
    """Membrane potential ``v`` of every neuron (batch dimensions allowed)."""

    v: torch.Tensor


def biophysical_lif_initial_state(n: int | tuple[int, ...], params: BiophysicalLIFParameters) -> BiophysicalLIFState:
    """All neurons at rest."""
    return BiophysicalLIFState(v=torch.full(n if isinstance(n, tuple) else (n,), float(params.v_rest)))


def biophysical_lif_step(
    weighted_input: torch.Tensor,
    state: BiophysicalLIFState,
    params: BiophysicalLIFParameters,
    threshold_offset: torch.Tensor | float = 0.0,
    smooth: bool = False,
) -> tuple[torch.Tensor, BiophysicalLIFState]:
    """One Euler step of a LIF population.

    Args:
        weighted_input: ``Σ_i w_i s_i(t)`` per neuron (the delta-pulse input, in units of weight).
        state: the membrane potentials before the step.
        params: the population's parameters.
        threshold_offset: adaptive threshold θ added to ``v_th``.
        smooth: sigmoid spikes instead of Heaviside (differentiable forward, for gradient checks).

    Returns:
        ``(spikes, new_state)``: spikes in {0, 1} (or (0, 1) when smooth) and the reset potentials.

    Example:
        >>> params = BiophysicalLIFParameters(tau_m=10.0, v_rest=0.0, v_th=1.0, v_reset=0.0)
        >>> rest = biophysical_lif_initial_state(2, params)
        >>> spikes, state = biophysical_lif_step(torch.tensor([0.5, 2.0]), rest, params)
        >>> spikes.tolist(), state.v.tolist()
        ([0.0, 1.0], [0.5, 0.0])
    """
    current = weighted_input * (params.tau_m / params.dt)
    v = state.v + params.dt / params.tau_m * (-(state.v - params.v_rest) + params.r * current)
    distance = (v - (params.v_th + threshold_offset)) / max(abs(params.v_th - params.v_reset), 1e-6)
    spikes = spike_fn(distance, params.surrogate_slope, smooth)
    # reset: spikes are 0/1 in the Heaviside case; a smooth spike interpolates the reset
    v = v - spikes * (v - params.v_reset)
    return spikes, BiophysicalLIFState(v=v)
