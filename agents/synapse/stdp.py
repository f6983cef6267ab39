"""Dense, vectorized Diehl–Cook STDP on a whole synapse group (Norse style: parameters, state, pure step).

The event-based :class:`agents.synapse.reference.STDPAgent` applies the same rule to the sampled events of an
env step; this dense form updates every synapse every step and serves the speed benchmark and the
unsupervised STDP anchor (Diehl & Cook 2015; BindsNET's ``PostPre``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch


class STDPParameters(NamedTuple):
    """``nu_pre`` (depression at a pre spike), ``nu_post`` (potentiation at a post spike), trace τ (steps)."""

    nu_pre: float = 1e-4
    nu_post: float = 1e-2
    tau_pre: float = 20.0
    tau_post: float = 20.0


class STDPState(NamedTuple):
    """Pre and post traces (jump to 1 at a spike, decay with τ)."""

    x_pre: torch.Tensor
    x_post: torch.Tensor


def stdp_initial_state(n_pre: int, n_post: int) -> STDPState:
    return STDPState(torch.zeros(n_pre), torch.zeros(n_post))


def stdp_step(
    pre: torch.Tensor, post: torch.Tensor, state: STDPState, params: STDPParameters
) -> tuple[torch.Tensor, STDPState]:
    """One step: update the traces, return ``Δw`` of every synapse ``(n_pre, n_post)`` and the new state.

    Example:
        >>> dw, s = stdp_step(torch.tensor([1.0]), torch.tensor([1.0]), stdp_initial_state(1, 1), STDPParameters())
        >>> round(float(dw), 4)
        0.0099
    """
    new_state = update_traces(pre, post, state, params)
    dw = params.nu_post * torch.outer(new_state.x_pre, post) - params.nu_pre * torch.outer(pre, new_state.x_post)
    return dw, new_state


def update_traces(pre: torch.Tensor, post: torch.Tensor, state: STDPState, params: STDPParameters) -> STDPState:
    """Traces after this step's spikes: 1 where a neuron spiked, decayed by ``exp(−1/τ)`` elsewhere."""
    x_pre = torch.where(pre > 0, 1.0, state.x_pre * math.exp(-1.0 / params.tau_pre))
    x_post = torch.where(post > 0, 1.0, state.x_post * math.exp(-1.0 / params.tau_post))
    return STDPState(x_pre, x_post)


def stdp_update_(
    weight: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    state: STDPState,
    params: STDPParameters,
    bounds: tuple[float, float],
) -> STDPState:
    """:func:`stdp_step` applied in place, touching only the rows of pre and columns of post neurons that spiked.

    Equal to ``weight += Δw`` clipped to ``bounds`` on those rows and columns (no other weight can change).
    """
    new_state = update_traces(pre, post, state, params)
    rows, cols = pre.nonzero().squeeze(1), post.nonzero().squeeze(1)
    if len(cols):
        weight[:, cols] = (weight[:, cols] + params.nu_post * new_state.x_pre[:, None]).clamp_(*bounds)
    if len(rows):
        weight[rows] = (weight[rows] - params.nu_pre * new_state.x_post[None, :]).clamp_(*bounds)
    return new_state
