"""Plasticity outside the env: a rule applied to every event of each step, with the env's image schedule and rewards.

A rule here is any object with ``begin_image()`` and ``step(spikes)`` (the network's spikes of each layer at the step)
that changes the network's weights itself, e.g. :class:`agents.synapse.pair_rule.DensePairRule`. No event rows are
built and none is dropped (the env keeps at most ``capacity`` events per step), so a run is many times faster than
through the env; the scenario computes each image's reward exactly as the env pays it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from envs.synapse.data import DigitData
from envs.synapse.evaluation import encode
from envs.synapse.scenarios import UnsupervisedScenario


class DenseRule(Protocol):
    def begin_image(self) -> None: ...

    def step(self, spikes: dict[str, torch.Tensor]) -> None: ...


class CombinedRule:
    """Several dense rules (e.g. one per synapse group) applied at every step, in order."""

    def __init__(self, rules: list[DenseRule]) -> None:
        self.rules = rules

    def begin_image(self) -> None:
        for rule in self.rules:
            rule.begin_image()

    def step(self, spikes: dict[str, torch.Tensor]) -> None:
        for rule in self.rules:
            rule.step(spikes)


def next_image(
    rng: np.random.Generator, episode: int, scenario: UnsupervisedScenario, n_train: int
) -> tuple[int, bool]:
    """The env's schedule: every ``represent_every``-th image one of the last ``diversity_window`` images again."""
    c = scenario.config
    recent = list(scenario.winner_of)[-c.diversity_window :]
    if recent and c.represent_every and episode % c.represent_every == c.represent_every - 1:
        return int(recent[rng.integers(len(recent))]), True
    return int(rng.integers(n_train)), False


def learn(scenario: UnsupervisedScenario, rule: DenseRule, data: DigitData, n_images: int, seed: int) -> list[dict]:
    """Plasticity over ``n_images`` training images; per image the paid reward (``reward``), the response's
    ``sparsity`` and the winners' ``diversity``, and every label-free candidate the scenario reports
    (``info["unsup/<name>"]``, under ``<name>``; ``None`` where undefined)."""
    rng, config, records = np.random.default_rng(seed), scenario.config, []
    for episode in range(n_images):
        image, represented = next_image(rng, episode, scenario, len(data.train_x))
        spikes = encode(data.train_x[image], config, rng)
        scenario.begin_image(int(data.train_y[image]), spikes, represented, image)
        rule.begin_image()
        for s in spikes:
            rule.step(scenario.network.step(s))
        reward, info = scenario.end_image()
        scenario.network.end_image()
        statistics = {k: info[k] for k in ("sparsity", "diversity") if k in info}
        records.append({"reward": reward, **statistics, **{k.split("/")[1]: v for k, v in info.items() if k.startswith("unsup/")}})
    return records
