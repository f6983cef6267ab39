"""SCAL-RL ablations: each switch removes its layer from the features (or the training), and each ablation agent trains."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import envs  # noqa: F401
from agents.registry import load_agent
from agents.scal.perception import SCALPerception
from train.run import main

SPACE = gym.spaces.MultiBinary(4 * 256)
SMALL = {"n_frames": 4, "pool_size": 16, "projection_dim": 12, "n_prototypes": 6}
SMALL_ENV = ["--env-kwargs", "bits_per_variable:64", "flip_prob:0.2"]


def observations(n: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).integers(0, 2, (n, SPACE.n)), dtype=torch.int8)


def perception(**kwargs) -> SCALPerception:
    """A perception in evaluation mode (a pure function of its state; ``train()`` lets it adapt)."""
    torch.manual_seed(0)
    return SCALPerception(SPACE, **{**SMALL, **kwargs}).eval()


def test_full_perception_reads_the_prototypes_through_lif_neurons():
    full = perception()
    assert full.features_dim == 2 * 6 and full.running_thresholds.shape == (6,)
    before = full(observations())
    full.running_prototypes.copy_(F.normalize(torch.randn(6, 12), dim=1))
    assert not torch.allclose(full(observations()), before)


def test_without_prototypes_the_projection_drives_one_neuron_per_unit():
    ablated = perception(use_prototypes=False)
    assert ablated.features_dim == 2 * 12 and ablated.running_thresholds.shape == (12,)
    z = ablated.project(observations())
    torch.testing.assert_close(ablated.input_currents(z), ablated.gain * z)
    before = ablated(observations())
    ablated.running_prototypes.copy_(F.normalize(torch.randn(6, 12), dim=1))
    torch.testing.assert_close(ablated(observations()), before)  # the prototypes no longer reach the features
    ablated.train()
    ablated(observations())
    assert float(ablated.running_drift) > 0  # they still cluster states for the memory and value statistics


def test_without_lif_the_features_are_the_mean_similarities_and_thresholds_rest():
    ablated = perception(use_lif=False)
    assert ablated.features_dim == 6
    obs = observations()
    similarities = ablated.input_currents(ablated.project(obs)) / ablated.gain
    torch.testing.assert_close(ablated(obs), similarities.mean(dim=1))
    with_last = perception(use_lif=False, last_potential=True)
    torch.testing.assert_close(with_last(obs), torch.cat([similarities.mean(dim=1), similarities[:, -1]], dim=1))
    ablated.train()
    ablated(obs)
    assert torch.equal(ablated.running_thresholds, torch.ones(6)) and float(ablated.running_drift) > 0
    spiking = perception()
    spiking.train()
    spiking(obs)
    assert not torch.equal(spiking.running_thresholds, torch.ones(6))


def test_without_subspace_the_pooled_input_is_projected_as_it_is():
    ablated, full = perception(n_components=0), perception(n_components=4)
    assert ablated.subspace is None and full.subspace is not None
    for module in (ablated, full):
        module.train()
        module(observations(256, seed=1))  # one adaptation pass: the subspace now projects on 4 components
        module.eval()
    obs = observations()
    torch.testing.assert_close(ablated.project(obs), torch.tanh(ablated.projection(ablated.pooling(obs))))
    assert not torch.allclose(full.project(obs), torch.tanh(full.projection(full.pooling(obs))))


@pytest.mark.parametrize("flag", ["use_prototypes", "use_lif"])
def test_ablation_switches_must_be_booleans(flag):
    with pytest.raises(ValueError, match=f"{flag}='no'.*allowed: True, False"):
        perception(**{flag: "no"})


def train(agent: str, folder: str) -> object:
    argv = ["--agent", agent, "-n", "256", "--eval-freq", "0", "--save-freq", "0", "--final-eval-episodes", "1"]
    summary = main([*argv, "-f", folder, "--verbose", "0", *SMALL_ENV])
    assert summary["updates"] > 0
    return load_agent(agent, f"{summary['run_dir']}/model.zip")


@pytest.mark.parametrize(
    "agent, attribute, value",
    [
        ("scal_rl_no_prototypes", "use_prototypes", False),
        ("scal_rl_no_lif", "use_lif", False),
        ("scal_rl_no_subspace", "subspace", None),
    ],
)
def test_perception_ablation_agents_train_without_their_layer(agent, attribute, value, log_folder):
    model = train(agent, log_folder)
    assert getattr(model.policy.scal_perception, attribute) is value
    assert len(model.policy.scal_memory) == 256  # everything else is scal_rl's


def test_no_memory_agent_stores_nothing_and_keeps_no_value_statistics(log_folder):
    model = train("scal_rl_no_memory", log_folder)
    assert len(model.policy.scal_memory) == 0 and model.policy.ucb_beta == 0.0
    assert float(model.policy.scal_value.running_counts.sum()) == 0.0
    assert model.policy.scal_perception.use_lif and model.policy.scal_perception.subspace is not None
    full = train("scal_rl", log_folder)
    assert len(full.policy.scal_memory) == 256 and float(full.policy.scal_value.running_counts.sum()) == 256


def test_subspace_only_agent_keeps_the_front_end_and_drops_every_spiking_and_centroid_layer(log_folder):
    model = train("scal_rl_subspace_only", log_folder)
    perception = model.policy.scal_perception
    assert not perception.use_prototypes and not perception.use_lif and perception.subspace is not None
    assert len(model.policy.scal_memory) == 0 and model.policy.ucb_beta == 0.0
    # similarities of the projection units and the per-variable prototypes, each frame's projection, each frame's
    # population codes, the action history: nothing else reaches the (linear) actor
    groups, width, frames = perception.groups, perception.projection.out_features, perception.n_frames
    expected = (width + groups.n_neurons) + frames * width + frames * groups.n_neurons + perception.pooling.n_unpooled
    assert perception.features_dim == expected
    assert_linear_actor(model)


def assert_linear_actor(model) -> None:
    """The action logits are one affine map of the features; the critic keeps its two layers of 64."""
    policy = model.policy
    policy.set_training_mode(False)  # in training mode every pass would also move the perception
    assert len(policy.mlp_extractor.policy_net) == 0 and policy.action_net.in_features == policy.features_dim
    assert [m.out_features for m in policy.mlp_extractor.value_net if isinstance(m, torch.nn.Linear)] == [64, 64]
    obs = torch.as_tensor(policy.observation_space.sample()[None])
    with torch.no_grad():
        logits = policy.get_distribution(obs).distribution.logits
        expected = torch.log_softmax(policy.action_net(policy.extract_features(obs, policy.pi_features_extractor)), -1)
    torch.testing.assert_close(logits, expected)


def test_scal_rl_on_noisy_cartpole_reads_every_frames_population_codes_with_a_linear_actor(log_folder):
    model = train("scal_rl", log_folder)
    perception = model.policy.scal_perception
    assert perception.use_prototypes and perception.use_lif and len(model.policy.scal_memory) == 256
    groups = perception.groups
    assert (groups.n_groups, groups.n_prototypes, perception.group_frame_gain) == (4, 16, 10.0)
    assert bool(groups.running_initialised)  # the SCAL rule placed and moved them during training
    assert perception.features_dim == 2 * (perception.n_prototypes + groups.n_neurons) + perception.n_frames * (
        perception.projection.out_features + groups.n_neurons) + perception.pooling.n_unpooled
    assert_linear_actor(model)


def test_population_and_actor_ablations_take_out_only_their_part(log_folder):
    without_codes = train("scal_rl_no_population", log_folder)
    assert without_codes.policy.scal_perception.groups is None
    assert without_codes.policy.scal_perception.group_frame_gain == 0.0
    assert_linear_actor(without_codes)
    mlp_actor = train("scal_rl_mlp_actor", log_folder)
    assert mlp_actor.policy.scal_perception.groups is not None
    layers = [m.out_features for m in mlp_actor.policy.mlp_extractor.policy_net if isinstance(m, torch.nn.Linear)]
    assert layers == [64, 64] and mlp_actor.policy.action_net.in_features == 64
