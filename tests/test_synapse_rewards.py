"""Reward formulas and metrics of the synapse environments on constructed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from envs.synapse.metrics import LabelAssignment, cosine, sign_agreement
from envs.synapse.rewards import grad_mimicry_rewards, semi_reward, unsup_reward


def test_semi_reward_correct_wrong_margin_and_spike_cost():
    counts = torch.zeros(10)
    counts[3], counts[5] = 8.0, 2.0
    # correct: +1 + 1.0·(0.8 − 0.2) − 0.5·10/(10·10)
    assert semi_reward(counts, 3, 10, 1.0, 0.5) == pytest.approx(1.0 + 0.6 - 0.05)
    # wrong: −1 + (0.2 − 0.8) − 0.05
    assert semi_reward(counts, 5, 10, 1.0, 0.5) == pytest.approx(-1.0 - 0.6 - 0.05)
    assert semi_reward(torch.zeros(10), 0, 10, 1.0, 0.5) == -1.0  # silence is wrong
    tie = torch.zeros(10)
    tie[[1, 2]] = 3.0
    assert semi_reward(tie, 1, 10, 0.0, 0.0) == -1.0


def test_grad_mimicry_reward_is_maximal_at_the_gradient_step():
    g, lam = torch.tensor([0.8]), 0.5
    best = -g / (2 * lam)
    grid = torch.linspace(-1, 1, 201)
    rewards = grad_mimicry_rewards(g.expand(201), grid, lam)
    assert float(grid[rewards.argmax()]) == pytest.approx(float(best), abs=0.01)
    assert float(grad_mimicry_rewards(g, best, lam)[0]) == pytest.approx(0.32)  # g²/(4λ)


def test_unsup_reward_terms():
    assert unsup_reward(0.05, 0.05, 0.5, None, (1.0, 2.0, 3.0)) == pytest.approx(1.0 + 1.0)
    assert unsup_reward(0.05, 0.05, 0.5, 1.0, (1.0, 2.0, 3.0)) == pytest.approx(1.0 + 1.0 + 3.0)
    assert unsup_reward(1.0, 0.05, 0.5, 0.0, (1.0, 0.0, 0.0)) == pytest.approx(0.0)  # all neurons fire
    assert unsup_reward(0.0, 0.05, 1.0, 1.0, (1.0, 1.0, 1.0)) == -1.0  # silent network


def test_label_assignment_follows_diehl_cook():
    assignment = LabelAssignment(n_neurons=3, window=10)
    assignment.add(np.array([5.0, 1.0, 0.0]), 7)
    assignment.add(np.array([0.0, 4.0, 0.0]), 2)
    assignment.add(np.array([1.0, 3.0, 0.0]), 2)
    assert assignment.assignments().tolist() == [7, 2, -1]
    assert assignment.predict(np.array([0.0, 3.0, 9.0])) == 2
    assert assignment.predict(np.array([4.0, 1.0, 0.0])) == 7


def test_sign_agreement_and_cosine():
    g = torch.tensor([1.0, -2.0, 0.0, 3.0])
    assert sign_agreement(-g, g) == 1.0 and sign_agreement(g, g) == 0.0
    assert sign_agreement(torch.tensor([-1.0, -1.0, 5.0, -1.0]), g) == pytest.approx(2 / 3)
    assert cosine(-2 * g, g) == pytest.approx(1.0) and math.isnan(cosine(torch.zeros(4), g))


def test_margin_shaping_is_potential_based_and_leaves_the_dynamics_unchanged():
    import gymnasium as gym

    import envs  # noqa: F401
    from envs.synapse.config import tiny_kwargs

    kwargs = {k: v for k, v in tiny_kwargs("semi").items() if k != "scenario"}
    runs = {}
    for weight in (0.0, 2.0):
        env = gym.make("SynapseSemi-v0", **{**kwargs, "n_steps": 12, "init_gain": 6.0, "margin_shaping": weight})
        env.reset(seed=4)
        rng = np.random.default_rng(0)
        episodes = []
        for _ in range(3):
            phi0, rewards, done = env.unwrapped.phi, [], False
            while not done:
                _, reward, done, _, _ = env.step(rng.uniform(-1, 1, 32).astype(np.float32))
                rewards.append(reward)
            episodes.append((phi0, rewards, env.unwrapped.scenario.last_reward))
            env.reset()
        runs[weight] = (episodes, env.unwrapped.network.groups[0].weight.clone())
    torch.testing.assert_close(runs[0.0][1], runs[2.0][1])  # same weights: shaping changes only rewards
    for (phi0, plain, r), (phi0_s, shaped, r_s) in zip(runs[0.0][0], runs[2.0][0], strict=True):
        assert r == r_s and phi0 == 0.0 and sum(plain) == pytest.approx(r)
        assert sum(shaped) == pytest.approx(r - phi0_s)  # Σ(Φ_{t+1} − Φ_t) with Φ = 0 at the end
    assert any(any(x != 0 for x in shaped[:-1]) for _, shaped, _ in runs[2.0][0])  # dense signal
