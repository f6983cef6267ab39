"""SynapseMulti: PettingZoo ``ParallelEnv`` in which every synapse group of a spiking network is an agent."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from envs.synapse.env import SynapsePlasticityEnv, check_delta_d
from envs.synapse.events import EventBatch, event_features, group_events
from envs.synapse.groups import SynapseGroup
from envs.synapse.scenarios import make_scenario
from envs.synapse_multi.simulator_env import SimulatorParallelEnv, pettingzoo_factories

KINDS = ("pre", "post")


def kind_events(group: SynapseGroup, latest: dict[str, torch.Tensor], kind: str | None) -> torch.Tensor:
    """``(E, 2)`` (pre, post) events of ``group`` at this step; ``kind`` keeps post events (the post neuron
    spiked now) or pre events (only the pre neuron spiked), ``None`` keeps both."""
    pairs = group_events(group, latest[group.pre], latest[group.post])
    if kind is None:
        return pairs
    post_spiked = latest[group.post][pairs[:, 1]] > 0
    return pairs[post_spiked if kind == "post" else ~post_spiked]


def sample_events(group: SynapseGroup, pairs: torch.Tensor, capacity: int, rng: np.random.Generator) -> EventBatch:
    """The events ``pairs`` of one group as a batch, uniformly sampled (seeded) down to ``capacity``."""
    n_total = len(pairs)
    if n_total > capacity:
        pairs = pairs[torch.from_numpy(np.sort(rng.choice(n_total, size=capacity, replace=False)))]
    return EventBatch(torch.full((len(pairs),), group.index, dtype=torch.long), pairs[:, 0], pairs[:, 1], n_total)


def concat_batches(batches: list[EventBatch]) -> EventBatch:
    return EventBatch(
        torch.cat([b.group for b in batches]),
        torch.cat([b.pre for b in batches]),
        torch.cat([b.post for b in batches]),
        sum(b.n_total for b in batches),
    )


class _GroupedSimulator(SynapsePlasticityEnv):
    """The single-agent env's simulator with one event batch per agent instead of one joint batch.

    ``reset``, ``step``, ``apply`` and ``evaluate`` are the single-agent env's: ``_advance`` concatenates the
    agents' batches into ``self.batch`` (so the joint capacity is ``n_agents · capacity``) and returns the
    per-agent observations; ``step`` receives the agents' actions laid out in the same order.
    """

    def configure_agents(self, specs: list[tuple[int, str | None]]) -> None:
        """One agent per ``(group index, kind)``; each keeps ``capacity`` event slots."""
        self.agent_specs, self.agent_capacity = specs, self.config.capacity
        self.config = dataclasses.replace(self.config, capacity=self.config.capacity * len(specs))

    def _advance(self) -> list[np.ndarray]:
        spikes = self.network.step(self.input_spikes[self.t])
        groups = self.network.groups
        self.agent_batches = [
            sample_events(groups[i], kind_events(groups[i], spikes, kind), self.agent_capacity, self.np_random)
            for i, kind in self.agent_specs
        ]
        self.batch = concat_batches(self.agent_batches)
        factor = self.scenario.third_factor(self.batch, self.t)
        observations, start = [], 0
        for batch in self.agent_batches:
            part = None if factor is None else factor[start : start + len(batch)]
            rows = event_features(batch, groups, self.network.history, self.agent_capacity, part)
            observations.append(rows.reshape(-1))
            start += len(batch)
        return observations

    def joint_action(self, actions: list[torch.Tensor]) -> np.ndarray:
        """The agents' Δd of their real events, concatenated and zero-padded to the joint capacity."""
        joint = np.zeros(self.config.capacity, np.float32)
        used = torch.cat([a[: len(b)] for a, b in zip(actions, self.agent_batches, strict=True)]).numpy()
        joint[: len(used)] = used
        return joint


class SynapseMultiAgentEnv(SimulatorParallelEnv):
    """
    ## Description
    The synapse-plasticity simulator of :class:`envs.synapse.env.SynapsePlasticityEnv` (docs/synapse.md, docs/synapse_multi.md) as a
    cooperative PettingZoo game: every learnable synapse group is an agent (Diehl–Cook: ``input_exc`` and
    ``inh_exc``); with ``split_by_kind=True`` each group splits further into ``<group>_pre`` (events where
    only the presynaptic neuron spiked) and ``<group>_post`` (the postsynaptic neuron spiked). At every
    simulation step each agent receives its own batch of events and answers with Δd for each; the env
    applies ``Δw = η_group·Δd`` clipped to the group's bounds. One episode is one image; weights persist.

    ## Action Space
    Per agent ``Box(-1, 1, (capacity,), float32)``: Δd for each of the agent's event slots.

    ## Observation Space
    Per agent the single-agent env's flat ``Box((capacity · (2K + 7),), float32)``, one row per event slot
    with the same columns (pre and post histories, mask, weight, pre/post event, group id, l_norm, third
    factor), restricted to the agent's events. The group id column tells a shared policy whose events it sees.

    ## Rewards
    Shared: every agent receives the scenario's reward (``unsup_*``: at the last step ``R`` from sparsity,
    winner diversity and stability; see :class:`envs.synapse.env.SynapsePlasticityEnv`).

    ## Starting State
    As the single-agent env: weights drawn at the first ``reset`` and at every ``reset(seed=...)``.

    ## Episode End
    1. Termination (all agents): after ``n_steps`` steps the image has been presented.
    2. Truncation (all agents): after ``max_cycles`` steps, if ``max_cycles < n_steps``. The image is cut
       short and its end-of-image reward is not paid; the next ``reset`` starts a new image.

    ## Arguments
    ``split_by_kind`` (default ``False``), ``max_cycles`` (``None``: no time limit), ``render_mode``
    (``None`` or ``"rgb_array"``) and every field of :class:`envs.synapse.config.SynapseEnvConfig`
    (``scenario`` defaults to ``"unsup_single"``; ``capacity`` is per agent).

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1, "name": "synapse_multi_v0", "is_parallelizable": True}

    def __init__(
        self, split_by_kind: bool = False, max_cycles: int | None = None, render_mode: str | None = None, **kwargs: Any
    ) -> None:
        if split_by_kind not in (True, False):
            raise ValueError(f"split_by_kind={split_by_kind!r} is invalid; allowed: True, False")
        if max_cycles is not None and (not isinstance(max_cycles, int) or max_cycles < 1):
            raise ValueError(f"max_cycles={max_cycles!r} is invalid; allowed: None or an integer >= 1")
        kwargs.setdefault("scenario", "unsup_single")
        self.sim = _GroupedSimulator(render_mode=render_mode, **kwargs)
        self.render_mode, self.split_by_kind, self.max_cycles = render_mode, split_by_kind, max_cycles
        # the groups (hence the agents) of the scenario's network; its weights are drawn again at reset
        groups = make_scenario(self.sim.config, self.sim.n_input, torch.Generator().manual_seed(0)).network.groups
        kinds = KINDS if split_by_kind else (None,)
        specs = [(g.index, kind) for g in groups for kind in kinds]
        self.possible_agents = [g.name if k is None else f"{g.name}_{k}" for g in groups for k in kinds]
        self.sim.configure_agents(specs)
        box = self.sim.observation_space
        self._observation_spaces = {a: gym.spaces.Box(box.low, box.high, dtype=box.dtype) for a in self.possible_agents}
        shape = self.sim.action_space.shape
        self._action_spaces = {a: gym.spaces.Box(-1.0, 1.0, shape, np.float32) for a in self.possible_agents}
        self.agents: list[str] = []

    @property
    def group_names(self) -> list[str]:
        """Names of the network's synapse groups in group-id order (read by the STDP reference agent)."""
        return self.sim.group_names

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self._seed_action_spaces(seed)
        observations, info = self.sim.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        return dict(zip(self.agents, observations, strict=True)), {a: dict(info) for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        self._check_started(actions)
        deltas = [check_delta_d(actions[a], self.sim.agent_capacity) for a in self.agents]
        counts = [(len(b), b.n_total) for b in self.sim.agent_batches]
        observations, reward, terminated, _, info = self.sim.step(self.sim.joint_action(deltas))
        truncated = not terminated and self.max_cycles is not None and self.sim.t >= self.max_cycles
        if terminated:  # the image is over: like the single-agent env, a zero observation
            observations = [np.zeros(self.observation_space(a).shape, np.float32) for a in self.agents]
        agents, infos = self.agents, {}
        for agent, (n_events, n_total) in zip(agents, counts, strict=True):
            infos[agent] = {**info, "n_events": n_events, "n_events_total": n_total}
        if terminated or truncated:
            self.agents = []
        return (
            dict(zip(agents, observations, strict=True)),
            dict.fromkeys(agents, reward),
            dict.fromkeys(agents, terminated),
            dict.fromkeys(agents, truncated),
            infos,
        )


raw_env, parallel_env, env = pettingzoo_factories(SynapseMultiAgentEnv)
