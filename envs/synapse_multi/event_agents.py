"""SynapseEvents: PettingZoo ``ParallelEnv`` in which every event slot of a step is an agent (per-event credit).

The single-agent env pays one scalar per step for all of its events (up to ``capacity`` actions). Where the
scenario's reward is a sum over events (``grad_mimicry``: ``−ĝ·Δd − λ·Δd²`` per event), this env gives each
event its own term, so a policy-gradient learner sees the effect of each Δd instead of a sum diluted by the
other events' exploration noise (the credit problem of the third-factor signal).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.synapse.variants import make_synapse_env
from envs.synapse_multi.simulator_env import SimulatorParallelEnv, pettingzoo_factories


class SynapseEventAgentsEnv(SimulatorParallelEnv):
    """
    ## Description
    The synapse-plasticity simulator of :class:`envs.synapse.env.SynapsePlasticityEnv` as a
    cooperative PettingZoo game whose agents are the ``capacity`` event slots of a step: agent ``event_i``
    observes the local state of the step's i-th event and answers with its Δd. Slots hold different synapses
    from step to step, so an agent is a role (one event of the step), not a synapse; a shared policy is the
    per-synapse rule of the single-agent env, and its parameters transfer to it unchanged.

    ## Action Space
    Per agent ``Box(-1, 1, (1,), float32)``: Δd of its event (ignored at a padding slot).

    ## Observation Space
    Per agent ``Box((2K + 7,), float32)``: one event row of the single-agent env (pre and post histories,
    mask, weight, pre/post event, group id, l_norm, third factor); all zeros (mask 0) at a padding slot.

    ## Rewards
    ``r_i = e_i + (R − Σ_j e_j)``: the event's own share ``e_i`` of the step reward ``R`` where the scenario
    reports one (``info["event_rewards"]``, ``grad_mimicry``: ``e_i = −ĝ_i·Δd_i − λ·Δd_i²``; 0 at padding),
    plus the undivided rest of ``R`` (end-of-image reward, shaping), which every agent shares. In the
    other scenarios no share is reported and every agent receives ``R``. ``R`` is the single-agent env's reward
    with the reward variants the arguments switch on (:mod:`envs.synapse.variants`).

    ## Starting State
    As the single-agent env: weights drawn at the first ``reset``, at every ``reset(seed=...)`` and, with
    ``renew_every = N``, after every N episodes.

    ## Episode End
    Termination (all agents): after ``n_steps`` steps the image has been presented.

    ## Arguments
    ``render_mode`` (``None`` or ``"rgb_array"``), every field of :class:`envs.synapse.config.SynapseEnvConfig`
    (``scenario`` defaults to ``"grad_mimicry"``) and the variants' arguments of
    :func:`envs.synapse.variants.make_synapse_env` (``paired_baseline``, ``replay_reward``, ``renew_every``, ...).

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1, "name": "synapse_events_v0", "is_parallelizable": True}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("scenario", "grad_mimicry")
        self.env = make_synapse_env(render_mode=render_mode, **kwargs)  # the simulator and its reward variants
        self.sim = self.env.unwrapped
        self.render_mode = render_mode
        capacity = self.sim.config.capacity
        self.possible_agents = [f"event_{i:0{len(str(capacity - 1))}d}" for i in range(capacity)]
        box = self.sim.observation_space
        width = box.shape[0] // capacity
        row = gym.spaces.Box(box.low[:width], box.high[:width], dtype=box.dtype)
        self._observation_spaces = {a: row for a in self.possible_agents}
        self._action_spaces = {a: gym.spaces.Box(-1.0, 1.0, (1,), np.float32) for a in self.possible_agents}
        self.agents: list[str] = []

    def _split(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        rows = flat.reshape(len(self.possible_agents), -1)
        return dict(zip(self.possible_agents, rows, strict=True))

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self._seed_action_spaces(seed)
        obs, info = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        return self._split(obs), {a: dict(info) for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        self._check_started(actions)
        joint = []
        for agent in self.agents:
            action = np.asarray(actions[agent], dtype=np.float32).reshape(-1)
            if action.shape != (1,):
                raise ValueError(f"action of {agent!r} has {action.size} values; allowed: one Δd in [-1, 1]")
            joint.append(action[0])
        obs, reward, terminated, _, info = self.env.step(np.array(joint, np.float32))
        shares = info.pop("event_rewards", None)
        if shares is None:
            rewards = np.full(len(self.agents), reward)
        else:
            rewards = shares + (reward - float(shares.sum()))
        agents = self.agents
        if terminated:
            self.agents = []
        return (
            self._split(obs),
            dict(zip(agents, rewards.astype(float).tolist(), strict=True)),
            dict.fromkeys(agents, terminated),
            dict.fromkeys(agents, False),
            {a: dict(info) for a in agents},
        )


raw_env, parallel_env, env = pettingzoo_factories(SynapseEventAgentsEnv)
