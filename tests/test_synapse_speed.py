"""The synapse policy's fast path (real events only, leading silent history steps skipped, inference mode without
gradients) gives the same Δd, values, trajectories and training as evaluating every event slot in full.

Equal up to floating-point reassociation: the MLP's matrix products are not invariant to the number of rows on
every CPU (differences of a few 1e-9 were measured), so outputs are compared with ``TOLERANCE``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import envs  # noqa: F401
from agents.synapse.layout import as_rows, split_rows
from agents.synapse.policy import EventNet, GroupedEventNet, SynapsePolicy, every_slot_outputs
from envs.synapse.config import tiny_kwargs

CAPACITY = 128  # above the tiny envs' events per step: most slots are padding
STEPS = 40  # T = K: histories long enough to have silent prefixes worth skipping
TOLERANCE = dict(rtol=1e-5, atol=1e-6)


class EverySlotEventNet(GroupedEventNet):
    """The reference: every slot of the batch, padding included, through the networks over whole histories."""

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return every_slot_outputs(self, obs)


def make_env(scenario: str) -> gym.Env:
    kwargs = {**tiny_kwargs(scenario), "capacity": CAPACITY, "n_steps": STEPS}
    return gym.make(f"Synapse{scenario.title().replace('_', '')}-v0", **kwargs)


def observed_rows(env: gym.Env, n_steps: int, every: int = 5) -> torch.Tensor:
    """``(n_steps, capacity, 2K + 7)`` observations of a seeded episode under zero Δd, one every ``every`` steps."""
    obs, _ = env.reset(seed=0)
    seen = []
    for t in range(n_steps * every):
        if t % every == every - 1:
            seen.append(obs)
        obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
    return as_rows(torch.from_numpy(np.stack(seen)), CAPACITY)


def test_history_features_skip_silent_steps_and_equal_the_full_cnn():
    rows = observed_rows(make_env("unsup_single"), 7)
    flat = split_rows(rows[split_rows(rows).scalar("mask") > 0])
    histories = torch.stack([flat.pre, flat.post], dim=1)
    torch.manual_seed(0)
    net = EventNet()
    widths = []
    net.cnn[0].register_forward_hook(lambda module, inputs, output: widths.append(inputs[0].shape[-1]))
    fast = net.history_features(histories)
    assert min(widths[1:]) < STEPS - 8  # after the all-zero history, some batches start late in the history
    torch.testing.assert_close(fast, net.cnn(histories), **TOLERANCE)


def as_reference(policy: SynapsePolicy) -> SynapsePolicy:
    """``policy`` with the every-slot reference networks (same parameters)."""
    policy.actor.__class__ = policy.critic.__class__ = EverySlotEventNet
    return policy


@pytest.mark.parametrize("scenario, n_nets", [("unsup_single", 1), ("unsup_dual", 2)])
@pytest.mark.parametrize("grad", [False, True])
def test_outputs_equal_every_slot_evaluation(scenario, n_nets, grad):
    env = make_env(scenario)
    rows = observed_rows(env, 6)
    mask = split_rows(rows).scalar("mask")
    assert 0 < mask.sum() < mask.numel()  # real events and padding
    torch.manual_seed(0)
    net = GroupedEventNet(n_nets, with_features=True)
    with torch.set_grad_enabled(grad):
        fast, reference = net(rows), every_slot_outputs(net, rows)
    assert fast.shape == reference.shape == (6, CAPACITY, 1 + 128)
    torch.testing.assert_close(fast, reference, **TOLERANCE)
    assert fast.is_inference() is not grad and fast.requires_grad is grad


def test_only_real_events_and_one_padding_row_are_evaluated():
    rows = observed_rows(make_env("unsup_single"), 4)
    net = GroupedEventNet(1)
    sizes = []
    net.nets[0].mlp[0].register_forward_hook(lambda module, inputs, output: sizes.append(len(inputs[0])))
    with torch.no_grad():
        net(rows)
    assert sizes == [int(split_rows(rows).scalar("mask").sum()) + 1]


def test_gradients_equal_every_slot_evaluation():
    """In float64, so that float32's reassociation error (about 2e-5 relative in sums over all events and steps)
    cannot hide a wrong term."""
    rows = observed_rows(make_env("unsup_single"), 6).double()
    mask = split_rows(rows).scalar("mask")
    torch.manual_seed(0)
    net = GroupedEventNet(1).double()
    gradients = []
    for forward in (net.forward, lambda x: every_slot_outputs(net, x)):
        net.zero_grad()
        (torch.tanh(forward(rows)) * mask).sum().backward()
        gradients.append([p.grad.clone() for p in net.parameters()])
    for fast, reference in zip(*gradients, strict=True):
        torch.testing.assert_close(fast, reference, rtol=1e-10, atol=1e-12)


def trained(policy_kwargs: dict, reference: bool) -> tuple[dict, list[torch.Tensor]]:
    """PPO on tiny ``unsup_dual`` for 2 rollouts: the policy's parameters and the env network's weights."""
    env = make_env("unsup_dual")
    model = PPO(SynapsePolicy, env, n_steps=24, batch_size=12, n_epochs=2, seed=0, policy_kwargs=policy_kwargs)
    if reference:
        as_reference(model.policy)
    model.learn(48)
    return model.policy.state_dict(), [g.weight.clone() for g in env.unwrapped.network.groups]


@pytest.mark.parametrize("policy_kwargs", [{"n_group_nets": 2}, {"coherent_dim": 2}])
def test_ppo_training_matches_every_slot_evaluation(policy_kwargs):
    """Same seed: the same rollouts (the env's weights after 48 steps of Δd) and the same trained policy, up to the
    summation order of the gradients over the batch (padding rows, whose gradient is zero, are left out)."""
    params, weights = trained(policy_kwargs, reference=False)
    expected_params, expected_weights = trained(policy_kwargs, reference=True)
    for key, value in expected_params.items():
        torch.testing.assert_close(params[key], value, rtol=1e-4, atol=1e-6)
    for actual, expected in zip(weights, expected_weights, strict=True):
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-6)
