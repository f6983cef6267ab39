"""Spiking primitives: the two LIF neuron models, the SuperSpike surrogate and Poisson encoding."""

from __future__ import annotations

import numpy as np
import torch

from spiking.biophysical_lif import BiophysicalLIFParameters, biophysical_lif_initial_state, biophysical_lif_step
from spiking.encoding import poisson_encode
from spiking.soft_reset_lif import SoftResetLIFParameters, SoftResetLIFState, soft_reset_lif_run, soft_reset_lif_step
from spiking.surrogate import spike_fn

PARAMS = BiophysicalLIFParameters(tau_m=10.0, v_rest=0.0, v_th=1.0, v_reset=0.0, r=1.0, dt=1.0)


def test_biophysical_lif_matches_hand_computed_trace():
    # V(t+1) = V + dt/τ (−(V − V_rest) + R·I), I = τ/dt · 0.5: 0 → 0.5 → 0.95 → 1.355 (spike, reset 0) → 0.5
    state, trace, spikes = biophysical_lif_initial_state(1, PARAMS), [], []
    for _ in range(4):
        s, state = biophysical_lif_step(torch.tensor([0.5]), state, PARAMS)
        trace.append(float(state.v[0]))
        spikes.append(float(s[0]))
    assert spikes == [0.0, 0.0, 1.0, 0.0]
    np.testing.assert_allclose(trace, [0.5, 0.95, 0.0, 0.5], atol=1e-6)


def test_biophysical_lif_resets_to_v_reset_and_relaxes_to_rest():
    params = PARAMS._replace(v_rest=-1.0, v_reset=-2.0)
    s, state = biophysical_lif_step(torch.tensor([10.0]), biophysical_lif_initial_state(1, params), params)
    assert float(s[0]) == 1.0 and float(state.v[0]) == -2.0
    for _ in range(200):
        _, state = biophysical_lif_step(torch.zeros(1), state, params)
    assert abs(float(state.v[0]) + 1.0) < 1e-6


def test_biophysical_lif_threshold_offset_raises_the_threshold():
    rest = biophysical_lif_initial_state(2, PARAMS)
    spikes, _ = biophysical_lif_step(torch.tensor([1.5, 1.5]), rest, PARAMS, threshold_offset=torch.tensor([0.0, 1.0]))
    assert spikes.tolist() == [1.0, 0.0]


def test_soft_reset_lif_matches_hand_computed_trace_and_subtracts_the_threshold():
    # v ← 0.5 v + 0.5 · 1: 0.5, 0.75 (spike: 0.75 − 0.6 = 0.15), 0.575; potentials are reported before the reset
    params = SoftResetLIFParameters(decay=0.5, threshold=torch.tensor([0.6]))
    spikes, potentials = soft_reset_lif_run(torch.ones(1, 3, 1), params)
    assert spikes.flatten().tolist() == [0.0, 1.0, 0.0]
    np.testing.assert_allclose(potentials.flatten().numpy(), [0.5, 0.75, 0.575], atol=1e-6)
    _, state = soft_reset_lif_step(torch.ones(1, 1), SoftResetLIFState(v=torch.tensor([[0.5]])), params)
    np.testing.assert_allclose(state.v.numpy(), [[0.15]], atol=1e-6)


def test_soft_reset_lif_thresholds_are_per_neuron():
    params = SoftResetLIFParameters(decay=0.5, threshold=torch.tensor([0.4, 0.6]))
    spikes, _ = soft_reset_lif_run(torch.ones(1, 1, 2), params)
    assert spikes.flatten().tolist() == [1.0, 0.0]


def test_superspike_is_a_step_forward_with_the_surrogate_gradient_backward():
    x = torch.tensor([-0.5, 0.0, 0.25], requires_grad=True)
    spikes = spike_fn(x, slope=2.0)
    spikes.sum().backward()
    assert spikes.tolist() == [0.0, 0.0, 1.0]
    np.testing.assert_allclose(x.grad.numpy(), 1.0 / (1.0 + 2.0 * np.abs([-0.5, 0.0, 0.25])) ** 2, rtol=1e-6)


def test_smooth_spikes_are_a_sigmoid_of_the_scaled_distance():
    x = torch.tensor([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(spike_fn(x, slope=3.0, smooth=True).numpy(), torch.sigmoid(3.0 * x).numpy())


def test_poisson_rates_match_intensity():
    intensities = torch.tensor([0.0, 0.25, 1.0])
    spikes = poisson_encode(intensities, torch.rand(20000, 3, generator=torch.Generator().manual_seed(0)), 100.0, 1.0)
    np.testing.assert_allclose(spikes.mean(0).numpy(), [0.0, 0.025, 0.1], atol=0.006)
