"""Simulator units of the synapse environments: Diehl–Cook wiring, bounds, BPTT teacher (LIF: test_spiking.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs.synapse.groups import SynapseGroup
from envs.synapse.history import SpikeHistory
from envs.synapse.networks import LIFMLP, DiehlCookNetwork, DiehlCookParameters
from envs.synapse.teacher import bptt_teacher, output_loss
from spiking.biophysical_lif import BiophysicalLIFParameters, biophysical_lif_initial_state

PARAMS = BiophysicalLIFParameters(tau_m=10.0, v_rest=0.0, v_th=1.0, v_reset=0.0, r=1.0, dt=1.0)


def small_diehl_cook(**overrides) -> DiehlCookNetwork:
    return DiehlCookNetwork(16, 5, DiehlCookParameters(**overrides), k=4, generator=torch.Generator().manual_seed(0))


def test_diehl_cook_wiring_one_to_one_e_to_i_and_no_inhibitory_self_connection():
    net = small_diehl_cook(input_norm=0.0)
    inh_exc = net.group("inh_exc")
    assert not inh_exc.connectivity.diagonal().any() and inh_exc.n_synapses == 5 * 4
    assert torch.all(inh_exc.weight.diagonal() == 0) and torch.all(inh_exc.weight <= 0)
    # drive only excitatory neuron 2: only inhibitory neuron 2 can spike, and it inhibits the others
    net.group("input_exc").weight.zero_()
    net.group("input_exc").weight[:, 2] = 1.0
    inh_seen = torch.zeros(5)
    for _ in range(30):
        inh_seen += net.step(torch.ones(16))["inh"]
    assert inh_seen[2] > 0 and inh_seen.sum() == inh_seen[2]


def test_diehl_cook_normalises_input_weights_per_neuron():
    net = small_diehl_cook(input_norm=2.0)
    np.testing.assert_allclose(net.group("input_exc").weight.sum(0).numpy(), 2.0, rtol=1e-5)


@pytest.mark.parametrize("seed", range(25))
def test_weight_bounds_hold_under_any_action(seed):
    rng = np.random.default_rng(seed)
    mask = torch.from_numpy(rng.random((6, 4)) > 0.3)
    group = SynapseGroup(
        "g",
        "a",
        "b",
        torch.from_numpy(rng.normal(size=(6, 4))).float(),
        -0.5,
        0.7,
        float(rng.uniform(0.01, 10)),
        connectivity=mask,
    )
    for _ in range(20):
        n = int(rng.integers(1, 30))
        pre, post = torch.from_numpy(rng.integers(0, 6, n)), torch.from_numpy(rng.integers(0, 4, n))
        group.apply_delta(pre, post, torch.from_numpy(rng.uniform(-1, 1, n) * rng.choice([1, 1e3]))).float()
        assert group.weight.min() >= -0.5 and group.weight.max() <= 0.7
        assert torch.all(group.weight[~mask] == 0)


def test_subtractive_normalisation_removes_a_common_change_and_keeps_input_sums():
    weight = torch.linspace(-0.3, 0.3, 12).reshape(4, 3)
    group = SynapseGroup("g", "a", "b", weight.clone(), -1.0, 1.0, 0.1)
    every = torch.arange(4)
    for post in range(3):  # the same Δd on every input of a neuron: a bias, removed entirely
        applied = group.apply_delta(every, torch.full((4,), post), torch.ones(4))
        group.subtract_mean_change_(torch.full((4,), post), applied)
    torch.testing.assert_close(group.weight, weight)
    pre, post = torch.tensor([0, 2, 2]), torch.tensor([1, 1, 0])
    applied = group.apply_delta(pre, post, torch.tensor([1.0, -0.5, 0.8]))
    group.subtract_mean_change_(post, applied)
    torch.testing.assert_close(group.weight.sum(0), weight.sum(0))
    differences = group.weight - weight  # what remains: the differences between a neuron's inputs
    torch.testing.assert_close(differences[0, 1] - differences[2, 1], torch.tensor(0.15))
    torch.testing.assert_close(differences[1, 1], torch.tensor(-0.0125))


def test_subtractive_normalisation_keeps_the_sum_when_synapses_sit_at_the_bounds():
    weight = torch.tensor([[1.0, -1.0], [1.0, -1.0], [0.2, 0.5], [-0.4, -0.9]])  # column 0 starts at w_max twice
    group = SynapseGroup("g", "a", "b", weight.clone(), -1.0, 1.0, 1.0)
    pre, post = torch.tensor([2, 3, 0, 2]), torch.tensor([0, 0, 1, 1])
    applied = group.apply_delta(pre, post, torch.tensor([-0.6, -0.5, 0.8, 0.9]))
    group.subtract_mean_change_(post, applied)
    torch.testing.assert_close(group.weight.sum(0), weight.sum(0))
    assert group.weight.min() >= -1.0 and group.weight.max() <= 1.0
    assert group.weight[0, 0] == group.weight[1, 0] == 1.0  # already at w_max: the give-back goes elsewhere


def test_event_centring_removes_each_neurons_common_change_and_keeps_its_differences():
    from envs.synapse.groups import centre_per_post

    post = torch.tensor([0, 0, 0, 2, 2, 1])
    centred = centre_per_post(post, torch.tensor([0.3, 0.3, 0.3, 0.5, -0.1, 0.7]), 3)
    torch.testing.assert_close(centred, torch.tensor([0.0, 0.0, 0.0, 0.3, -0.3, 0.0]))
    weight = torch.zeros(4, 3)
    group = SynapseGroup("g", "a", "b", weight.clone(), -1.0, 1.0, 0.5)
    pre = torch.tensor([0, 1, 3, 0, 2, 2])
    group.apply_delta(pre, post, centre_per_post(post, torch.tensor([-1.0, -0.6, -0.8, 0.4, 0.2, 1.0]), 3))
    torch.testing.assert_close(group.weight.sum(0), weight.sum(0))  # no neuron's summed input moved
    torch.testing.assert_close(group.weight[0, 0] - group.weight[1, 0], torch.tensor(-0.2))


def test_history_orders_oldest_first_and_counts():
    history = SpikeHistory({"x": 3}, k=2)
    for step in ([1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]):
        history.push({"x": torch.tensor(step)})
    assert history.window("x", torch.tensor([0, 1, 2])).tolist() == [[0, 0], [1, 0], [0, 1]]
    assert history.counts["x"].tolist() == [1, 1, 1] and history.latest("x").tolist() == [0, 0, 1]


def tiny_mlp() -> LIFMLP:
    return LIFMLP((6, 5, 10), PARAMS, w_max=2.0, eta=0.1, k=3, generator=torch.Generator().manual_seed(1))


def test_bptt_teacher_matches_finite_differences_on_smooth_spikes():
    net, label = tiny_mlp(), 3
    spikes = (torch.rand(5, 6, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    weights = [g.weight.double() for g in net.groups]
    result = bptt_teacher(net, spikes.double(), label, alpha=5.0, weights=weights, smooth=True)

    def loss(ws):
        rest = (biophysical_lif_initial_state(n, net.params) for n in (5, 10))
        states = [state._replace(v=torch.zeros_like(state.v, dtype=torch.float64)) for state in rest]
        outs = []
        for s in spikes.double():
            _, out, states = net.propagate(s, states, ws, smooth=True)
            outs.append(out[-1])
        return float(output_loss(torch.stack(outs).mean(0), label, 5.0))

    for layer, (i, j) in [(0, (1, 2)), (1, (4, 7)), (0, (5, 0))]:
        eps = 1e-5
        plus = [w.clone() for w in weights]
        minus = [w.clone() for w in weights]
        plus[layer][i, j] += eps
        minus[layer][i, j] -= eps
        numeric = (loss(plus) - loss(minus)) / (2 * eps)
        assert abs(float(result.grads[layer][i, j]) - numeric) < 1e-6 * max(1.0, abs(numeric)) + 1e-8
    # the gradient splits over steps: dL/dW_l = Σ_t s_pre(t)ᵀ δ_l(t)
    np.testing.assert_allclose(result.grads[0].numpy(), (spikes.double().T @ result.deltas[0]).numpy(), atol=1e-10)


def test_bptt_teacher_surrogate_gives_nonzero_gradients_with_heaviside_spikes():
    net = tiny_mlp()
    spikes = (torch.rand(8, 6, generator=torch.Generator().manual_seed(3)) < 0.6).float()
    result = bptt_teacher(net, spikes, 0, alpha=5.0)
    assert all(torch.isfinite(g).all() for g in result.grads) and float(result.grads[0].abs().sum()) > 0


def test_weight_clamp_stops_exactly_at_the_bounds():
    """Δw = η·Δd, then clamp to [w_min, w_max]: the weight lands on the bound and the returned Δw is what took
    effect (repeated pairs accumulate before the clamp; an absent synapse stays 0)."""
    weight = torch.tensor([[0.875, 0.25], [0.0, -0.375], [0.5, 0.0]])
    connectivity = torch.tensor([[True, True], [True, True], [True, False]])
    group = SynapseGroup("g", "a", "b", weight, w_min=-0.5, w_max=1.0, eta=0.25, connectivity=connectivity)
    pre, post = torch.tensor([0, 1, 2, 2, 0, 2]), torch.tensor([0, 1, 0, 0, 1, 1])
    applied = group.apply_delta(pre, post, torch.tensor([1.0, -1.0, 1.0, 1.0, 0.5, 1.0]))
    expected = torch.tensor([[1.0, 0.375], [0.0, -0.5], [1.0, 0.0]])
    assert torch.equal(group.weight, expected)  # 0.875 + 0.25 -> 1.0; -0.375 - 0.25 -> -0.5; 0.5 + 2 * 0.25 -> 1.0
    assert torch.equal(applied, torch.tensor([0.125, -0.125, 0.5, 0.5, 0.125, 0.0]))
    group.apply_delta(torch.tensor([0]), torch.tensor([0]), torch.tensor([1.0]))  # already at w_max
    assert group.weight[0, 0] == 1.0
