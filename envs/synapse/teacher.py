"""The BPTT teacher of ``grad_mimicry``: surrogate-gradient backpropagation through time on a LIF MLP.

Loss: cross-entropy of ``softmax(α · rates)`` against the label, ``rates`` the output spike rates over
the presentation. Because layer ``l`` receives ``s_{l-1}(t) @ W_l`` at step ``t``, the gradient splits
over steps: ``∂L/∂W_l = Σ_t s_{l-1}(t)ᵀ δ_l(t)`` with ``δ_l(t) = ∂L/∂(s_{l-1}(t) @ W_l)``; the per-step,
per-synapse gradient of an event at step ``t`` is ``g_ij(t) = s_i(t) · δ_j(t)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from envs.synapse.networks import LIFMLP
from spiking.biophysical_lif import biophysical_lif_initial_state


class TeacherResult(NamedTuple):
    """``loss``; ``grads[l]`` = ∂L/∂W_l; ``deltas[l]`` = δ_l(t), shape ``(T, n_post)``; output ``rates``."""

    loss: float
    grads: list[torch.Tensor]
    deltas: list[torch.Tensor]
    rates: torch.Tensor


def output_loss(rates: torch.Tensor, label: int, alpha: float) -> torch.Tensor:
    """Cross-entropy of ``softmax(alpha · rates)`` for the true ``label``."""
    return F.cross_entropy((alpha * rates).unsqueeze(0), torch.tensor([label]))


def bptt_teacher(
    net: LIFMLP,
    input_spikes: torch.Tensor,
    label: int,
    alpha: float,
    weights: list[torch.Tensor] | None = None,
    smooth: bool = False,
) -> TeacherResult:
    """Run a presentation with autograd and return the loss, gradients and per-step errors.

    Args:
        net: the network (its current weights are used unless ``weights`` is given).
        input_spikes: ``(T, n_input)`` input spike train.
        label: the true digit.
        alpha: softmax gain α.
        weights: optional weights to differentiate instead of the network's.
        smooth: sigmoid spikes (exact gradients, for finite-difference checks).
    """
    leaves = [
        (w if weights is None else weights[i]).detach().clone().requires_grad_(True)
        for i, w in enumerate([g.weight for g in net.groups])
    ]
    states = [biophysical_lif_initial_state(n, net.params) for n in list(net.layers.values())[1:]]
    currents, outputs = [], []
    with torch.enable_grad():
        for s in input_spikes:
            inputs, spikes, states = net.propagate(s, states, leaves, smooth=smooth)
            for current in inputs:
                current.retain_grad()
            currents.append(inputs)
            outputs.append(spikes[-1])
        rates = torch.stack(outputs).mean(0)
        loss = output_loss(rates, label, alpha)
        loss.backward()
    deltas = [torch.stack([c[layer].grad for c in currents]) for layer in range(len(leaves))]
    return TeacherResult(float(loss.detach()), [w.grad for w in leaves], deltas, rates.detach())
