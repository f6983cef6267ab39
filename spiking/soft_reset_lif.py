"""Unitless leaky integrate-and-fire neurons with a reset by subtraction, for SCAL-RL's perception.

The neuron update is a pure step function ``soft_reset_lif_step(current, state, params) -> (spikes, new_state)``:
``v ← decay·v + (1 − decay)·I``, a spike when ``v`` exceeds the threshold, then ``v ← v − spike·threshold``.
Spikes go through the SuperSpike surrogate (:mod:`spiking.surrogate`, Zenke & Ganguli 2018), whose slope is exposed.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from spiking.surrogate import SuperSpike

__all__ = ["SoftResetLIFParameters", "SoftResetLIFState", "soft_reset_lif_run", "soft_reset_lif_step"]


class SoftResetLIFParameters(NamedTuple):
    """Parameters of a LIF population.

    Attributes:
        decay: membrane decay per step ``exp(-dt / tau_mem)`` in (0, 1).
        threshold: firing threshold, a scalar or one value per neuron.
        slope: slope of the SuperSpike surrogate gradient.
    """

    decay: float
    threshold: torch.Tensor
    slope: float = 5.0


class SoftResetLIFState(NamedTuple):
    """Membrane potential ``v`` of every neuron."""

    v: torch.Tensor


def soft_reset_lif_step(
    current: torch.Tensor, state: SoftResetLIFState, params: SoftResetLIFParameters
) -> tuple[torch.Tensor, SoftResetLIFState]:
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
    return spikes, SoftResetLIFState(v=v - spikes * params.threshold)


def soft_reset_lif_run(
    currents: torch.Tensor, params: SoftResetLIFParameters, initial: SoftResetLIFState | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a population over ``currents`` of shape ``(batch, time, neurons)``, from rest or from ``initial``.

    Returns:
        Spikes and membrane potentials (before reset), both ``(batch, time, neurons)``; the state after the
        last step is ``potentials[:, -1] - spikes[:, -1] * threshold``.

    Example:
        >>> params = SoftResetLIFParameters(decay=0.5, threshold=torch.tensor(0.6))
        >>> spikes, potentials = soft_reset_lif_run(torch.full((1, 3, 1), 1.0), params)
        >>> spikes.flatten().tolist(), [round(v, 3) for v in potentials.flatten().tolist()]
        ([0.0, 1.0, 0.0], [0.5, 0.75, 0.575])
    """
    state = SoftResetLIFState(v=torch.zeros_like(currents[:, 0])) if initial is None else initial
    spikes, potentials = [], []
    for t in range(currents.shape[1]):
        s, state = soft_reset_lif_step(currents[:, t], state, params)
        spikes.append(s)
        potentials.append(state.v + s * params.threshold)  # undo the reset: the potential that crossed
    return torch.stack(spikes, dim=1), torch.stack(potentials, dim=1)
