"""Leaky integrate-and-fire neurons with a surrogate gradient, in Norse's functional style.

The neuron update is a pure step function ``lif_step(current, state, params) -> (spikes, new_state)``;
the spike nonlinearity is SuperSpike's surrogate (Zenke & Ganguli 2018, "SuperSpike: supervised
learning in multilayer spiking neural networks"), shared with the synapse envs, whose slope is exposed.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from envs.synapse.lif import SuperSpike  # the one SuperSpike surrogate of the project


class LIFParameters(NamedTuple):
    """Parameters of a LIF population.

    Attributes:
        decay: membrane decay per step ``exp(-dt / tau_mem)`` in (0, 1).
        threshold: firing threshold, a scalar or one value per neuron.
        slope: slope of the SuperSpike surrogate gradient.
    """

    decay: float
    threshold: torch.Tensor
    slope: float = 5.0


class LIFState(NamedTuple):
    """Membrane potential ``v`` of every neuron."""

    v: torch.Tensor


def lif_step(current: torch.Tensor, state: LIFState, params: LIFParameters) -> tuple[torch.Tensor, LIFState]:
    """One Euler step: leaky integration of ``current``, spike at threshold, soft reset (subtract).

    Args:
        current: input current, shape ``(batch, neurons)``.
        state: membrane potentials before the step.
        params: decay, thresholds and surrogate slope.

    Returns:
        The spikes (0/1 with surrogate gradients) and the state after the reset.
    """
    v = params.decay * state.v + (1.0 - params.decay) * current
    spikes = SuperSpike.apply(v - params.threshold, params.slope)
    return spikes, LIFState(v=v - spikes * params.threshold)


def lif_run(currents: torch.Tensor, params: LIFParameters) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a population from rest over ``currents`` of shape ``(batch, time, neurons)``.

    Returns:
        Spikes and membrane potentials (before reset), both ``(batch, time, neurons)``.
    """
    state = LIFState(v=torch.zeros_like(currents[:, 0]))
    spikes, potentials = [], []
    for t in range(currents.shape[1]):
        s, state = lif_step(currents[:, t], state, params)
        spikes.append(s)
        potentials.append(state.v + s * params.threshold)  # undo the reset: the potential that crossed
    return torch.stack(spikes, dim=1), torch.stack(potentials, dim=1)
