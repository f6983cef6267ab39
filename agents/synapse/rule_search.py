"""Learning a plasticity rule without labels: evolution strategies on the pair rule's parameters.

The learner is a cross-entropy method (a Gaussian search distribution over the six parameters of
:class:`~agents.synapse.pair_rule.PairRuleParameters`, amplitudes and time constants on a log scale, moved each
generation to the mean of its best candidates), the
meta-learning of plasticity rules by black-box search (Confavreux et al. 2020). A candidate's fitness is the label-free
reward the unsupervised scenario pays (``unsup_reward``, by default ``discrimination``), averaged over the paying
images of the second half of a run of ``images`` training images on a fresh network; no label is read. All candidates
of a generation share the network and image seeds (common random numbers), which change every generation. The
search starts at Diehl–Cook STDP (or another rule); at the end the best ``finalists`` candidates are scored again
on ``rescore_seeds`` fresh networks and the best mean wins (:func:`select`, which also picks among a finished
search's candidates on more networks).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from agents.synapse.pair_rule import PairRuleParameters, dense_pair_rules
from envs.synapse.config import SynapseEnvConfig
from envs.synapse.data import DigitData
from envs.synapse.dense_plasticity import learn
from envs.synapse.scenarios import UnsupervisedScenario

NAMES = tuple(f.name for f in fields(PairRuleParameters))
# search coordinate of each parameter: (log10 scale?, low, high, initial step) in that coordinate; amplitudes
# 1e-3..10 (Δd is clipped to ±1), time constants 1..100 steps, x_tar 0..1 (a trace's range), mu 0..2
SPACE = {
    "a_post": (True, -3.0, 1.0, 0.5),
    "a_pre": (True, -4.0, 1.0, 0.5),
    "tau_pre": (True, 0.0, 2.0, 0.3),
    "tau_post": (True, 0.0, 2.0, 0.3),
    "x_tar": (False, 0.0, 1.0, 0.1),
    "mu": (False, 0.0, 2.0, 0.3),
}


@dataclass
class SearchSettings:
    """Budget of one search: ``generations`` × ``population`` runs of ``images`` images, then the re-scoring."""

    generations: int = 8
    population: int = 8
    elite: int = 3
    images: int = 400
    sigma_scale: float = 1.0  # times each coordinate's initial step (SPACE)
    min_sigma: float = 0.1  # times each coordinate's initial step
    finalists: int = 3
    rescore_seeds: int = 2

    def __post_init__(self) -> None:
        for name in ("generations", "population", "elite", "images", "finalists", "rescore_seeds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} is not allowed: an integer >= 1")
        if self.elite > self.population:
            raise ValueError(f"elite={self.elite} is not allowed: at most population={self.population}")
        if not 0 < self.min_sigma <= self.sigma_scale:
            raise ValueError(f"min_sigma={self.min_sigma} is not allowed: in (0, sigma_scale={self.sigma_scale}]")


def to_coordinates(params: PairRuleParameters) -> np.ndarray:
    """The search coordinates of ``params`` (clipped to the bounds)."""
    out = []
    for name in NAMES:
        log, low, high, _ = SPACE[name]
        value = getattr(params, name)
        out.append(np.clip(np.log10(max(value, 1e-12)) if log else value, low, high))
    return np.array(out)


def from_coordinates(x: np.ndarray) -> PairRuleParameters:
    """The parameters at search coordinates ``x`` (clipped to the bounds)."""
    values = {}
    for value, name in zip(x, NAMES, strict=True):
        log, low, high, _ = SPACE[name]
        value = float(np.clip(value, low, high))
        values[name] = 10**value if log else value
    return PairRuleParameters(**values)


def fitness(
    params: PairRuleParameters,
    config: SynapseEnvConfig,
    data: DigitData,
    images: int,
    seed: int,
    excitatory: PairRuleParameters | None = None,
) -> float:
    """Mean paid label-free reward over the second half of ``images`` images on a fresh network seeded ``seed``.

    ``params`` is the input→E rule (I→E fixed), or with ``excitatory`` given the I→E rule beside that input→E rule
    (the second policy of ``unsup_dual``, scaled by ``alpha_unsup`` as the env scales it)."""
    scenario = UnsupervisedScenario(config, data.train_x.shape[1], torch.Generator().manual_seed(seed))
    groups = scenario.network.groups
    if excitatory is None:
        rule = dense_pair_rules(groups, params, None)
    else:
        rule = dense_pair_rules(groups, excitatory, params, inhibitory_scale(config))
    records = learn(scenario, rule, data, images, seed)
    paid = [r[config.unsup_reward] for r in records[images // 2 :] if r.get(config.unsup_reward) is not None]
    return float(np.mean(paid)) if paid else -math.inf


def inhibitory_scale(config: SynapseEnvConfig) -> float:
    """The env's action scale of the I→E group: ``alpha_unsup`` in ``unsup_dual``, else 1."""
    return config.alpha_unsup if config.scenario == "unsup_dual" else 1.0


def search(
    config: SynapseEnvConfig,
    data: DigitData,
    settings: SearchSettings,
    seed: int,
    report: Callable[[dict], None] = lambda row: None,
    excitatory: PairRuleParameters | None = None,
    start: PairRuleParameters | None = None,
) -> tuple[PairRuleParameters, list[dict]]:
    """Run the search; returns the chosen parameters and one row per scored candidate (also passed to ``report``).
    With ``excitatory`` the search is over the I→E rule beside that fixed input→E rule (:func:`fitness`). The search
    distribution starts at ``start`` (default: the pair rule's defaults, Diehl–Cook STDP at the env's η = 0.01).

    Networks are seeded ``1000 * (seed + 1) + generation`` (and ``+ 100 + i`` for the re-scoring), so a search never
    sees the networks of evaluation seeds 0..999.
    """
    rng = np.random.default_rng(seed)
    steps = np.array([SPACE[name][3] for name in NAMES])
    mean, sigma = to_coordinates(start or PairRuleParameters()), settings.sigma_scale * steps
    rows: list[dict] = []
    scored: list[tuple[float, np.ndarray]] = []
    for generation in range(settings.generations):
        network_seed = 1000 * (seed + 1) + generation
        candidates = [mean] + [mean + sigma * rng.standard_normal(len(NAMES)) for _ in range(settings.population - 1)]
        candidates = [to_coordinates(from_coordinates(c)) for c in candidates]  # inside the bounds
        values = []
        for i, x in enumerate(candidates):
            value = fitness(from_coordinates(x), config, data, settings.images, network_seed, excitatory)
            values.append(value)
            scored.append((value, x))
            row = {"phase": "search", "generation": generation, "candidate": i, "network_seed": network_seed,
                   **asdict(from_coordinates(x)), "fitness": value}
            rows.append(row)
            report(row)
        elite = np.array([candidates[i] for i in np.argsort(values)[::-1][: settings.elite]])
        mean = elite.mean(0)
        sigma = np.maximum(0.5 * sigma + 0.5 * elite.std(0), settings.min_sigma * steps)
    finalists = [from_coordinates(x) for _, x in sorted(scored, key=lambda s: -s[0])[: settings.finalists]]
    networks = [1000 * (seed + 1) + 100 + j for j in range(settings.rescore_seeds)]
    chosen, final_rows = select(finalists, config, data, settings.images, networks, excitatory=excitatory)
    for row in final_rows:
        row.update(phase="rescore", generation=settings.generations)
        report(row)
    return chosen, rows + final_rows


def select(
    candidates: list[PairRuleParameters],
    config: SynapseEnvConfig,
    data: DigitData,
    images: int,
    network_seeds: list[int],
    report: Callable[[dict], None] = lambda row: None,
    excitatory: PairRuleParameters | None = None,
) -> tuple[PairRuleParameters, list[dict]]:
    """The candidate of highest mean :func:`fitness` over the networks ``network_seeds`` (the same networks for
    every candidate); one row per candidate with that mean, its spread and the per-network values."""
    if not candidates or not network_seeds:
        raise ValueError("select needs at least one candidate and one network seed")
    rows = []
    for i, params in enumerate(candidates):
        values = [fitness(params, config, data, images, network, excitatory) for network in network_seeds]
        row = {"phase": "select", "generation": -1, "candidate": i, "network_seed": -1, **asdict(params),
               "fitness": float(np.mean(values)), "fitness_std": float(np.std(values)),
               "per_network": " ".join(f"{v:.4f}" for v in values)}
        rows.append(row)
        report(row)
    return candidates[int(np.argmax([row["fitness"] for row in rows]))], rows
