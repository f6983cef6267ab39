"""The actor-gain study policy: the same parameters as SCAL-RL's actor-critic, logits multiplied by 3."""

from __future__ import annotations

import gymnasium as gym
import torch

import envs  # noqa: F401
from agents.scal.policies import SCALActorCriticPolicy
from eval.experiments.noisy_cartpole_actor_gain import SCALActorGain3Policy


def test_the_policy_triples_the_logits_of_the_same_parameters_and_trains_them_all():
    env = gym.make("NoisyCartPole-v0", bits_per_variable=16)
    kwargs = {"observation_space": env.observation_space, "action_space": env.action_space, "lr_schedule": lambda _: 1e-3}
    torch.manual_seed(0)
    plain = SCALActorCriticPolicy(**kwargs)
    torch.manual_seed(0)
    scaled = SCALActorGain3Policy(**kwargs)
    with torch.no_grad():  # logits of the usual size (the initial actor's are ~0.01)
        scaled.action_net[0].weight.normal_()
        plain.action_net.load_state_dict(scaled.action_net[0].state_dict())
    obs = torch.as_tensor(env.observation_space.sample()[None])
    with torch.no_grad():
        plain_logits = plain.get_distribution(obs).distribution.logits
        scaled_logits = scaled.get_distribution(obs).distribution.logits
    # Categorical normalises its logits: compare the difference between the two actions
    assert torch.allclose(scaled_logits[:, 1] - scaled_logits[:, 0], 3 * (plain_logits[:, 1] - plain_logits[:, 0]),
                          rtol=1e-4)
    assert not torch.allclose(scaled_logits, plain_logits)
    optimised = {id(p) for group in scaled.optimizer.param_groups for p in group["params"]}
    assert optimised == {id(p) for p in scaled.parameters()}
