"""Spiking networks of the synapse environments, vectorized in torch.

* :class:`DiehlCookNetwork`: input → N_E excitatory → N_I = N_E inhibitory (Diehl & Cook 2015, *Front.
  Comput. Neurosci.* 9:99): fixed one-to-one E→I, learnable all-to-all I→E without self-connections in
  ``[w_min_inh, 0]``, learnable input→E in ``[0, w_max_exc]``, adaptive thresholds θ.
* :class:`LIFMLP`: a feed-forward LIF network ``input → hidden... → 10``, every projection learnable; it
  can also run a whole presentation with autograd for the BPTT teacher.

Both expose ``layers`` (name → size), ``groups`` (:class:`~envs.synapse.groups.SynapseGroup`), a
``history`` (:class:`~envs.synapse.history.SpikeHistory`), ``begin_image()`` and ``step(input_spikes)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from envs.synapse.groups import SynapseGroup
from envs.synapse.history import SpikeHistory
from spiking.biophysical_lif import (
    BiophysicalLIFParameters,
    BiophysicalLIFState,
    biophysical_lif_initial_state,
    biophysical_lif_step,
)


@dataclass(frozen=True)
class DiehlCookParameters:
    """Constants of the Diehl–Cook network (BindsNET's current-based version of it by default)."""

    exc: BiophysicalLIFParameters = BiophysicalLIFParameters(tau_m=100.0, v_rest=-65.0, v_th=-52.0, v_reset=-60.0)
    inh: BiophysicalLIFParameters = BiophysicalLIFParameters(tau_m=10.0, v_rest=-60.0, v_th=-40.0, v_reset=-45.0)
    w_max_exc: float = 1.0
    w_min_inh: float = -120.0
    w_exc_inh: float = 22.5
    w_inh_init: float = -120.0
    theta_plus: float = 0.05
    tau_theta: float = 1e7
    input_norm: float = 78.4  # total input weight per excitatory neuron after normalisation (0: off)
    eta_exc: float = 0.01
    eta_inh: float = 1.0


def sparse_input(spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``spikes @ weight`` for 0/1 spikes, as a sum over the rows of the neurons that spiked."""
    return weight[spikes.nonzero().squeeze(1)].sum(0)


class SpikingNetwork:
    """Shared bookkeeping: layers, groups, the spike history."""

    layers: dict[str, int]
    groups: list[SynapseGroup]

    def _init_history(self, k: int) -> None:
        self.history = SpikeHistory(self.layers, k)

    def group(self, name: str) -> SynapseGroup:
        """The group called ``name``."""
        return next(g for g in self.groups if g.name == name)

    def end_image(self) -> None:
        """Called once after every plasticity episode (not after frozen presentations)."""


class DiehlCookNetwork(SpikingNetwork):
    """Diehl–Cook network; ``step`` advances one ``dt``.

    Args:
        n_input: number of input neurons (pixels).
        n_exc: number of excitatory (and inhibitory) neurons.
        params: network constants.
        k: spike-history length K.
        generator: torch generator for the initial weights.
    """

    def __init__(
        self, n_input: int, n_exc: int, params: DiehlCookParameters, k: int, generator: torch.Generator
    ) -> None:
        self.params = params
        self.layers = {"input": n_input, "exc": n_exc, "inh": n_exc}
        w_in = 0.3 * params.w_max_exc * torch.rand(n_input, n_exc, generator=generator)
        no_self = ~torch.eye(n_exc, dtype=torch.bool)
        w_ie = torch.full((n_exc, n_exc), params.w_inh_init)
        self.groups = [
            SynapseGroup("input_exc", "input", "exc", w_in, 0.0, params.w_max_exc, params.eta_exc, 0, 0.0),
            SynapseGroup("inh_exc", "inh", "exc", w_ie, params.w_min_inh, 0.0, params.eta_inh, 1, 1.0, no_self),
        ]
        self.theta = torch.zeros(n_exc)
        self._init_history(k)
        self.begin_image()

    def begin_image(self) -> None:
        """Rest the neurons, clear the history, normalise input weights (Diehl–Cook's per-image step)."""
        self.exc_state = biophysical_lif_initial_state(self.layers["exc"], self.params.exc)
        self.inh_state = biophysical_lif_initial_state(self.layers["inh"], self.params.inh)
        self.inh_spikes = torch.zeros(self.layers["inh"])
        self.history.clear()
        if self.params.input_norm > 0:
            w = self.group("input_exc").weight
            w.mul_(self.params.input_norm / w.sum(0, keepdim=True).clamp_min(1e-9))
            self.group("input_exc").clip_()

    @torch.no_grad()
    def step(self, input_spikes: torch.Tensor) -> dict[str, torch.Tensor]:
        """One step: input and last step's inhibition drive E; E drives I one-to-one."""
        w_in, w_ie = self.groups[0].weight, self.groups[1].weight
        # spikes are sparse: summing the rows of the neurons that spiked beats a dense product
        exc_input = sparse_input(input_spikes, w_in) + sparse_input(self.inh_spikes, w_ie)
        exc, self.exc_state = biophysical_lif_step(exc_input, self.exc_state, self.params.exc, self.theta)
        inh, self.inh_state = biophysical_lif_step(exc * self.params.w_exc_inh, self.inh_state, self.params.inh)
        self.theta.mul_(1.0 - self.params.exc.dt / self.params.tau_theta).add_(self.params.theta_plus * exc)
        self.inh_spikes = inh
        spikes = {"input": input_spikes, "exc": exc, "inh": inh}
        self.history.push(spikes)
        return spikes


class LIFMLP(SpikingNetwork):
    """Feed-forward LIF network; layer ``h{l}`` receives ``s_{l-1}(t) @ W_l`` at the same step.

    Args:
        sizes: layer sizes, input first, 10 outputs last (e.g. ``(784, 256, 128, 10)``).
        params: LIF constants shared by all layers.
        w_max: weights lie in ``[-w_max, w_max]``.
        eta: learning rate η of every group.
        k: spike-history length K.
        generator: torch generator for the initial weights.
        init_gain: initial weights ~ N(0, (gain/√n_pre)²); 3 keeps every layer at ~5–20% spikes per step.
        homeostasis: h ≥ 0; after every plasticity episode each non-input neuron's threshold offset θ moves by
            ``h · (rate − target_rate)`` (rate: spikes per step in that image), so silenced neurons come back and
            runaway ones calm down (intrinsic plasticity, Turrigiano 2008); 0: off. θ ≥ −0.9·(V_th − V_rest).
        target_rate: the spikes per step that homeostasis holds each neuron at.
    """

    def __init__(
        self,
        sizes: tuple[int, ...],
        params: BiophysicalLIFParameters,
        w_max: float,
        eta: float,
        k: int,
        generator: torch.Generator,
        init_gain: float = 3.0,
        homeostasis: float = 0.0,
        target_rate: float = 0.05,
    ) -> None:
        self.params = params
        self.homeostasis, self.target_rate = homeostasis, target_rate
        names = ["input", *[f"h{i}" for i in range(1, len(sizes) - 1)], "out"]
        self.layers = dict(zip(names, sizes, strict=True))
        n_proj = len(sizes) - 1
        self.groups = []
        for i in range(n_proj):
            n_pre, n_post = sizes[i], sizes[i + 1]
            w = torch.randn(n_pre, n_post, generator=generator) * init_gain / n_pre**0.5
            self.groups.append(
                SynapseGroup(f"layer{i}", names[i], names[i + 1], w, -w_max, w_max, eta, i, i / max(n_proj - 1, 1))
            )
        self.theta = torch.zeros(sum(sizes[1:]))  # threshold offsets of the non-input neurons (homeostasis)
        self._init_history(k)
        self.begin_image()

    def begin_image(self) -> None:
        """Rest every neuron and clear the history."""
        self.states = [biophysical_lif_initial_state(n, self.params) for n in list(self.layers.values())[1:]]
        self.history.clear()

    def threshold_offsets(self) -> tuple[torch.Tensor, ...]:
        """θ of every non-input layer."""
        return torch.split(self.theta, list(self.layers.values())[1:])

    def end_image(self) -> None:
        """Homeostasis: move each neuron's θ toward its target rate (no-op when ``homeostasis`` is 0)."""
        if not self.homeostasis or not self.history.steps:
            return
        rates = torch.cat([self.history.counts[name] for name in list(self.layers)[1:]]) / self.history.steps
        floor = -0.9 * abs(self.params.v_th - self.params.v_rest)
        self.theta.add_(self.homeostasis * (rates - self.target_rate)).clamp_(min=floor)

    def propagate(
        self, input_spikes: torch.Tensor, states: list[BiophysicalLIFState], weights: list[torch.Tensor], smooth: bool = False
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[BiophysicalLIFState]]:
        """Pure forward of one step: ``(weighted inputs, spikes, new states)`` of every non-input layer."""
        inputs, spikes, new_states, s = [], [], [], input_spikes
        for w, state, theta in zip(weights, states, self.threshold_offsets(), strict=True):
            current = s @ w
            s, state = biophysical_lif_step(current, state, self.params, theta, smooth=smooth)
            inputs.append(current)
            spikes.append(s)
            new_states.append(state)
        return inputs, spikes, new_states

    @torch.no_grad()
    def step(self, input_spikes: torch.Tensor) -> dict[str, torch.Tensor]:
        """One step of the live network with the current weights."""
        _, spikes, self.states = self.propagate(input_spikes, self.states, [g.weight for g in self.groups])
        out = dict(zip(self.layers, [input_spikes, *spikes], strict=True))
        self.history.push(out)
        return out
