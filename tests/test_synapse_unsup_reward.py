"""The label-free rewards of the unsupervised synapse scenarios: hand-built cases and the ``unsup_reward`` option."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from envs.synapse import SCENARIO_IDS
from envs.synapse.config import tiny_kwargs
from envs.synapse.rewards import (
    UNSUP_REWARDS,
    decorrelation,
    discrimination,
    reconstruction,
    unsup_candidates,
    unsup_reward,
)

WEIGHT = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # 3 inputs → 2 neurons: fields (1, 1, 0) and (0, 0, 1)


def test_reconstruction_is_the_cosine_of_the_input_with_the_responding_fields():
    image = torch.tensor([2.0, 2.0, 0.0])
    assert reconstruction(image, WEIGHT, torch.tensor([3.0, 0.0])) == pytest.approx(1.0)  # the matching field wins
    assert reconstruction(image, WEIGHT, torch.tensor([0.0, 3.0])) == pytest.approx(0.0)  # the other field wins
    # both respond equally: W·c = (1, 1, 1), cos((2, 2, 0), (1, 1, 1)) = 4 / (√8·√3)
    assert reconstruction(image, WEIGHT, torch.tensor([1.0, 1.0])) == pytest.approx(4 / (8**0.5 * 3**0.5))


def test_decorrelation_and_discrimination_compare_with_other_images():
    response = torch.tensor([1.0, 0.0, 0.0])
    others = [torch.tensor([0.0, 1.0, 0.0]), torch.tensor([1.0, 1.0, 0.0])]  # cos 0 and 1/√2
    assert decorrelation(response, others) == pytest.approx(1 - (0 + 2**-0.5) / 2)
    assert decorrelation(response, []) is None
    same = torch.tensor([2.0, 0.0, 0.0])
    assert discrimination(response, same, others) == pytest.approx(1 - (0 + 2**-0.5) / 2)
    assert discrimination(response, None, others) is None


def test_candidates_of_one_image_and_of_a_silent_network():
    values = unsup_candidates(torch.tensor([2.0, 2.0, 0.0]), WEIGHT, torch.tensor([3.0, 0.0]), None, [])
    assert values == {
        "reconstruction": pytest.approx(1.0),
        "decorrelation": None,
        "predictability": None,
        "discrimination": None,
    }
    represented = unsup_candidates(torch.ones(3), WEIGHT, torch.tensor([1.0, 1.0]), torch.tensor([0.0, 2.0]), [])
    assert represented["predictability"] == pytest.approx(2**-0.5)
    silent = unsup_candidates(torch.ones(3), WEIGHT, torch.zeros(2), torch.ones(2), [torch.ones(2)])
    assert silent == {name: -1.0 for name in UNSUP_REWARDS if name != "design"}


def episodes(reward_name: str, n: int = 6) -> list[tuple[float, dict, float, float | None]]:
    """``n`` episodes of zero plasticity on the tiny ``unsup_single`` env, each image re-presented at every second
    episode. Per episode: the reward, the final info, and computed here from the live network right after the
    episode ``cos(input counts, W·exc counts)`` and (re-presented images) ``cos(exc counts, last exc counts of the
    same image)``."""
    env = gym.make(
        SCENARIO_IDS["unsup_single"], **tiny_kwargs("unsup_single"), unsup_reward=reward_name, represent_every=2
    )
    _, start = env.reset(seed=3)
    out, response_of = [], {}
    for _ in range(n):
        done, total = False, 0.0
        while not done:
            _, reward, done, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
            total += reward
        network = env.unwrapped.network
        counts = network.history.counts["exc"].clone()
        field = network.groups[0].weight @ counts
        recon = float(torch.nn.functional.cosine_similarity(env.unwrapped.input_spikes.sum(0), field, 0))
        previous = response_of.get(start["image"]) if start["represented"] else None
        same = None if previous is None else float(torch.nn.functional.cosine_similarity(counts, previous, 0))
        response_of[start["image"]] = counts
        out.append((total, info, recon, same))
        _, start = env.reset()
    return out


def test_the_option_switches_the_episode_reward():
    design = episodes("design")
    recon = episodes("reconstruction")
    for (r_design, info_design, _, _), (r_recon, info_recon, expected, _) in zip(design, recon, strict=True):
        assert info_design == pytest.approx(info_recon)  # same trajectory: the reward does not act on the network
        assert r_recon == pytest.approx(info_recon["unsup/reconstruction"])
        assert r_recon == pytest.approx(expected, abs=1e-5)  # cos(input counts, W·exc counts) of the live network
        terms = (info_design["sparsity"], 0.05, info_design["diversity"], info_design.get("stability"), (1.0, 1.0, 1.0))
        assert r_design == pytest.approx(unsup_reward(*terms))  # the design's reward stays available
    assert [run[0] for run in design] != pytest.approx([run[0] for run in recon])


def test_predictability_pays_only_re_presented_images():
    runs = episodes("predictability", n=12)  # from the 8th episode on, older images come back
    represented = [(reward, info, same) for reward, info, _, same in runs if same is not None]
    assert represented, "represent_every=2 re-presents images"
    for reward, info, same in represented:
        assert reward == pytest.approx(info["unsup/predictability"])
        assert reward == pytest.approx(same, abs=1e-5)  # against the last response to the same image
    assert all(reward == 0.0 for reward, info, _, same in runs if same is None)


def test_the_default_is_the_validated_reward():
    env = gym.make(SCENARIO_IDS["unsup_dual"], **tiny_kwargs("unsup_dual"))
    assert env.unwrapped.config.unsup_reward == "discrimination"


def test_unknown_reward_name_is_rejected_with_the_allowed_names():
    with pytest.raises(ValueError, match=r"^unsup_reward='sparse' is invalid; allowed: design, reconstruction"):
        gym.make(SCENARIO_IDS["unsup_single"], **tiny_kwargs("unsup_single"), unsup_reward="sparse")
