"""Per-group SCAL prototypes: templates of each encoded variable's slice, decoded by cosine similarity."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from agents.scal.group_prototypes import GroupPrototypes
from agents.scal.perception import SCALPerception
from agents.scal.stateful import StatefulSCALPerception


def thermometer(levels: np.ndarray, size: int) -> np.ndarray:
    """Bipolar thermometer slices: +1 below each level, -1 from it on."""
    return np.where(np.arange(size)[None, :] < levels[:, None], 1.0, -1.0)


def test_first_update_places_prototypes_on_evenly_spaced_inputs() -> None:
    groups = GroupPrototypes(n_inputs=12, n_groups=3, n_prototypes=2)
    batch = torch.randn(5, 12)
    groups.update(batch, rate=0.1)
    expected = F.normalize(batch[[0, 4]].reshape(2, 3, 4), dim=-1).transpose(0, 1)
    torch.testing.assert_close(groups.running_prototypes, expected)
    assert bool(groups.running_initialised)


def test_prototypes_move_toward_the_mean_of_their_slices() -> None:
    groups = GroupPrototypes(n_inputs=4, n_groups=1, n_prototypes=2)
    groups.update(torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]), rate=1.0)  # placed on the two axes
    before = groups.running_prototypes.clone()
    groups.update(torch.tensor([[1.0, 1.0, 0.0, 0.0]]), rate=0.5)  # nearest to the first
    half_way = F.normalize(torch.tensor([1.0, 0.0, 0.0, 0.0]) + 0.5 * (torch.tensor([0.5**0.5, 0.5**0.5, 0, 0]) - before[0, 0]), dim=0)
    torch.testing.assert_close(groups.running_prototypes[0, 0], half_way)
    groups.update(torch.tensor([[0.0, 1.0, 0.0, 0.0]]), rate=1.0)  # all the way; the other keeps its place
    torch.testing.assert_close(groups.running_prototypes[0], torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]))


def test_best_template_is_the_maximum_likelihood_level_under_bit_flips() -> None:
    """With the thermometer templates as prototypes, the most similar one is the level that maximises the
    likelihood of the noisy bits (brute force over the levels, flips i.i.d. with probability p)."""
    size, p = 64, 0.4
    rng = np.random.default_rng(0)
    candidates = np.arange(0, size + 1, 4)
    groups = GroupPrototypes(n_inputs=size, n_groups=1, n_prototypes=len(candidates))
    groups.running_prototypes.copy_(F.normalize(torch.tensor(thermometer(candidates, size)), dim=-1)[None].float())
    true = rng.choice(candidates, 200)
    clean = thermometer(true, size)
    noisy = np.where(rng.random(clean.shape) < p, -clean, clean)
    picked = candidates[groups.similarities(torch.tensor(noisy, dtype=torch.float32)).argmax(dim=-1).numpy()]
    agree = (noisy[:, None, :] == thermometer(candidates, size)[None]).sum(axis=-1)
    log_likelihood = agree * np.log(1 - p) + (size - agree) * np.log(p)
    np.testing.assert_array_equal(picked, candidates[log_likelihood.argmax(axis=1)])
    assert np.mean(np.abs(picked - true)) < np.mean(np.abs((noisy.mean(axis=1) + 1) / 2 * size - true))


def test_learned_prototypes_tile_the_levels_of_noisy_thermometer_slices() -> None:
    size, p = 64, 0.3
    rng = np.random.default_rng(1)
    torch.manual_seed(0)
    groups = GroupPrototypes(n_inputs=size, n_groups=1, n_prototypes=8)
    for _ in range(300):
        clean = thermometer(rng.integers(0, size + 1, 256), size)
        noisy = np.where(rng.random(clean.shape) < p, -clean, clean)
        groups.update(torch.tensor(noisy, dtype=torch.float32), rate=0.05)
    levels = np.arange(0, size + 1, 8)
    winners = groups.similarities(torch.tensor(thermometer(levels, size), dtype=torch.float32)).argmax(dim=-1)
    assert len(set(winners.tolist())) >= 6  # distinct prototypes for distinct levels, not one blob


def test_each_group_sees_only_its_own_slice() -> None:
    torch.manual_seed(0)
    groups = GroupPrototypes(n_inputs=12, n_groups=3, n_prototypes=5)
    x = torch.randn(2, 12)
    changed = x.clone()
    changed[:, 4:8] = torch.randn(2, 4)
    before, after = groups.similarities(x).reshape(2, 3, 5), groups.similarities(changed).reshape(2, 3, 5)
    torch.testing.assert_close(before[:, [0, 2]], after[:, [0, 2]])
    assert not torch.allclose(before[:, 1], after[:, 1])


def test_soft_assignments_are_a_distribution_per_group_that_sharpens_with_the_gain() -> None:
    torch.manual_seed(0)
    groups = GroupPrototypes(n_inputs=12, n_groups=3, n_prototypes=5)
    x = torch.randn(7, 12)
    soft = groups.soft_assignments(x, gain=2.0).reshape(7, 3, 5)
    torch.testing.assert_close(soft.sum(dim=-1), torch.ones(7, 3))
    hard = groups.soft_assignments(x, gain=1e4).reshape(7, 3, 5)
    winners = groups.similarities(x).reshape(7, 3, 5).argmax(dim=-1)
    torch.testing.assert_close(hard, F.one_hot(winners, 5).float())


def test_soft_assignments_of_a_few_frames_locate_a_level_better_than_their_mean_bits() -> None:
    """What the per-frame population code is for: with template prototypes and the gain of the log-likelihood,
    averaging the posterior mean of 4 noisy frames beats reading the level off the frames' mean bits."""
    size, p, frames = 64, 0.4, 4
    rng = np.random.default_rng(2)
    candidates = np.arange(0, size + 1, 2)
    groups = GroupPrototypes(n_inputs=size, n_groups=1, n_prototypes=len(candidates))
    groups.running_prototypes.copy_(F.normalize(torch.tensor(thermometer(candidates, size)), dim=-1)[None].float())
    true = rng.integers(16, 49, 300)
    clean = np.repeat(thermometer(true, size)[:, None], frames, axis=1)
    noisy = np.where(rng.random(clean.shape) < p, -clean, clean)
    # log-likelihood = log((1-p)/p)/2 * (noisy . template) = that * size * cosine (both have norm sqrt(size))
    gain = np.log((1 - p) / p) / 2 * size
    posterior = groups.soft_assignments(torch.tensor(noisy, dtype=torch.float32), gain=gain).numpy()
    decoded = (posterior @ candidates).mean(axis=1)
    linear = ((noisy.mean(axis=(1, 2)) / (1 - 2 * p)) + 1) / 2 * size
    assert np.mean(np.abs(decoded - true)) < 0.8 * np.mean(np.abs(linear - true))


def test_group_frame_gain_adds_every_frames_population_code_in_order() -> None:
    space = gym.spaces.MultiBinary(3 * 128)
    kwargs = {"n_frames": 3, "pool_size": 4, "n_prototypes": 8, "group_prototypes": 5, "n_groups": 4}
    torch.manual_seed(0)
    plain = SCALPerception(space, **kwargs)
    torch.manual_seed(0)
    coded = SCALPerception(space, **kwargs, group_frame_gain=10.0)
    assert coded.features_dim == plain.features_dim + 3 * 4 * 5
    observations = torch.randint(0, 2, (6, 3 * 128)).float()
    plain.train(), coded.train()
    plain(observations), coded(observations)  # places the group prototypes alike
    plain.eval(), coded.eval()
    features = coded(observations)
    torch.testing.assert_close(features[:, : plain.features_dim], plain(observations))
    codes = features[:, plain.features_dim :].reshape(6, 3, 4, 5)
    torch.testing.assert_close(codes.sum(dim=-1), torch.ones(6, 3, 4))
    changed = observations.clone()
    changed[:, 128:256] = 1.0 - changed[:, 128:256]  # the middle frame only
    new_codes = coded(changed)[:, plain.features_dim :].reshape(6, 3, 4, 5)
    torch.testing.assert_close(new_codes[:, [0, 2]], codes[:, [0, 2]])
    assert not torch.allclose(new_codes[:, 1], codes[:, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"group_prototypes": -1}, "group_prototypes=-1"),
        ({"group_prototypes": 4, "n_groups": 3}, "n_groups=3 must divide"),
        ({"group_prototypes": 4, "n_groups": 0}, "n_groups=0"),
        ({"group_frame_gain": 5.0}, "group_frame_gain=5.0"),
        ({"group_prototypes": 4, "n_groups": 4, "group_frame_gain": -1.0}, "group_frame_gain=-1.0"),
        ({"group_prototypes": 4, "n_groups": 4, "group_frame_gain": True}, "group_frame_gain=True"),
    ],
)
def test_bad_group_arguments_are_rejected(kwargs: dict, match: str) -> None:
    space = gym.spaces.MultiBinary(64)
    with pytest.raises(ValueError, match=match):
        SCALPerception(space, n_frames=1, pool_size=4, **kwargs)


def test_perception_adds_one_neuron_per_group_prototype_and_adapts_them() -> None:
    space = gym.spaces.MultiBinary(2 * 128)
    torch.manual_seed(0)
    plain = SCALPerception(space, n_frames=2, pool_size=4, n_prototypes=8)
    torch.manual_seed(0)
    grouped = SCALPerception(space, n_frames=2, pool_size=4, n_prototypes=8, group_prototypes=3, n_groups=4)
    assert grouped.features_dim == plain.features_dim + 2 * 4 * 3
    observations = torch.randint(0, 2, (16, 256)).float()
    grouped.train()
    grouped(observations)  # first pass: placed on inputs
    placed = grouped.groups.running_prototypes.clone()
    features = grouped(observations)
    assert features.shape == (16, grouped.features_dim)
    assert not torch.equal(grouped.groups.running_prototypes, placed)
    restored = SCALPerception(space, n_frames=2, pool_size=4, n_prototypes=8, group_prototypes=3, n_groups=4)
    restored.load_state_dict(grouped.state_dict())
    grouped.eval(), restored.eval()
    torch.testing.assert_close(restored(observations), grouped(observations))


def test_stateful_perception_refuses_per_frame_population_codes() -> None:
    with pytest.raises(ValueError, match="group_frame_gain=5.0"):
        StatefulSCALPerception(gym.spaces.MultiBinary(128), n_frames=1, n_steps=1, pool_size=4, group_prototypes=3,
                               n_groups=4, group_frame_gain=5.0)


def test_stateful_perception_carries_the_group_neurons_too() -> None:
    space = gym.spaces.MultiBinary(128)
    perception = StatefulSCALPerception(space, n_frames=1, n_steps=1, pool_size=4, n_prototypes=8,
                                        group_prototypes=3, n_groups=4)
    assert perception.state_size == 8 + 12
    assert perception(torch.randint(0, 2, (5, 128)).float()).shape == (5, perception.n_currents)
