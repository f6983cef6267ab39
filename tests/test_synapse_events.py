"""Event extraction and observation rows of the synapse environments on hand-built spike patterns."""

from __future__ import annotations

import numpy as np
import torch

from envs.synapse.events import N_SCALARS, column, event_features, find_events
from envs.synapse.groups import SynapseGroup
from envs.synapse.history import SpikeHistory


def hand_built():
    """Layer a (3 neurons) → b (2 neurons); a0 spiked at step 0, a1 at step 2 (now), b1 at step 1."""
    history = SpikeHistory({"a": 3, "b": 2}, k=3)
    for a, b in (([1.0, 0, 0], [0, 0]), ([0, 0, 0], [0, 1.0]), ([0, 1.0, 0], [0, 0])):
        history.push({"a": torch.tensor(a), "b": torch.tensor(b)})
    weight = torch.tensor([[0.0, 0.25], [0.5, 0.75], [1.0, 0.0]])
    group = SynapseGroup("ab", "a", "b", weight, 0.0, 1.0, 0.1, index=0, l_norm=0.5)
    return history, group


def test_events_are_the_synapses_of_neurons_that_spiked_now():
    history, group = hand_built()
    latest = {"a": history.latest("a"), "b": history.latest("b")}
    batch = find_events([group], latest, capacity=10, rng=np.random.default_rng(0))
    assert sorted(zip(batch.pre.tolist(), batch.post.tolist(), strict=True)) == [(1, 0), (1, 1)]
    assert batch.n_total == 2


def test_event_rows_carry_histories_weight_and_flags():
    history, group = hand_built()
    latest = {"a": history.latest("a"), "b": history.latest("b")}
    batch = find_events([group], latest, capacity=4, rng=np.random.default_rng(0))
    rows = event_features(batch, [group], history, capacity=4, third_factor=torch.tensor([0.5, -2.0]))
    assert rows.shape == (4, 2 * 3 + N_SCALARS) and rows.dtype == np.float32
    k = 3
    one = rows[list(batch.post).index(1)]  # synapse a1 → b1
    np.testing.assert_array_equal(one[:k], [0, 0, 1])  # pre a1 spiked now
    np.testing.assert_array_equal(one[k : 2 * k], [0, 1, 0])  # post b1 spiked one step ago
    assert one[column(k, "mask")] == 1 and one[column(k, "weight")] == 0.75
    assert one[column(k, "pre_event")] == 1 and one[column(k, "post_event")] == 0
    assert one[column(k, "l_norm")] == 0.5
    assert sorted(rows[:2, column(k, "third_factor")].tolist()) == [-2.0, 0.5]
    assert not rows[2:].any()  # padding rows are zero, mask included


def test_sampling_above_capacity_is_seeded_uniform_and_without_repeats():
    group = SynapseGroup("g", "a", "b", torch.zeros(50, 40), 0.0, 1.0, 0.1)
    latest = {"a": torch.ones(50), "b": torch.zeros(40)}
    first = find_events([group], latest, capacity=64, rng=np.random.default_rng(7))
    second = find_events([group], latest, capacity=64, rng=np.random.default_rng(7))
    other = find_events([group], latest, capacity=64, rng=np.random.default_rng(8))
    assert first.n_total == 2000 and len(first) == 64
    assert torch.equal(first.pre, second.pre) and torch.equal(first.post, second.post)
    assert not torch.equal(first.pre * 40 + first.post, other.pre * 40 + other.post)
    assert len(set((first.pre * 40 + first.post).tolist())) == 64


def test_connectivity_mask_removes_absent_synapses_from_events():
    group = SynapseGroup("g", "a", "b", torch.zeros(2, 2), -1.0, 0.0, 1.0, connectivity=~torch.eye(2, dtype=torch.bool))
    batch = find_events([group], {"a": torch.ones(2), "b": torch.zeros(2)}, 8, np.random.default_rng(0))
    assert sorted(zip(batch.pre.tolist(), batch.post.tolist(), strict=True)) == [(0, 1), (1, 0)]
