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
