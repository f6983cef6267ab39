"""What the synapse ``ParallelEnv``s share: a single-agent simulator ``sim`` behind PettingZoo's API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils import parallel_to_aec

from envs.synapse.env import SynapsePlasticityEnv


class SimulatorParallelEnv(ParallelEnv):
    """Base of the synapse ``ParallelEnv``s: per-agent spaces, action seeding and the simulator's services.

    Subclasses set ``sim``, ``possible_agents``, ``_observation_spaces`` and ``_action_spaces`` in
    ``__init__`` and implement ``reset`` (calling :meth:`_seed_action_spaces`) and ``step``.
    """

    sim: SynapsePlasticityEnv
    _observation_spaces: dict[str, gym.spaces.Box]
    _action_spaces: dict[str, gym.spaces.Box]

    @functools.cache  # noqa: B019 - the same object on every call, as PettingZoo asks
    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._observation_spaces[agent]

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> gym.spaces.Box:
        return self._action_spaces[agent]

    @property
    def network(self):
        """The spiking network (built at the first reset)."""
        return self.sim.network

    def _seed_action_spaces(self, seed: int | None) -> None:
        if seed is not None:
            for i, agent in enumerate(self.possible_agents):
                self._action_spaces[agent].seed(seed + i)

    def _check_started(self, actions: dict[str, Any]) -> None:
        """Raise unless an episode is running and ``actions`` has an entry for each of its agents."""
        if not self.agents:
            raise RuntimeError("call reset() before step(): the episode has ended or not begun")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"actions is missing agents {missing[:5]}; expected one action for each of the agents")

    def render(self) -> np.ndarray | None:
        """``rgb_array``: receptive fields of the first layer (see the single-agent env)."""
        return self.sim.render()

    def evaluate(self, n_images: int | None = None, n_assign: int = 1000) -> float:
        """Held-out accuracy with frozen weights (:func:`envs.synapse.evaluation.frozen_accuracy`)."""
        return self.sim.evaluate(n_images, n_assign)

    def close(self) -> None:
        self.sim.close()


def pettingzoo_factories(env_class: type[SimulatorParallelEnv]) -> tuple[Callable, Callable, Callable]:
    """PettingZoo's module-level ``raw_env``, ``parallel_env`` and ``env`` (AEC) for ``env_class``."""

    def raw_env(**kwargs: Any) -> SimulatorParallelEnv:
        return env_class(**kwargs)

    def parallel_env(**kwargs: Any) -> SimulatorParallelEnv:
        return env_class(**kwargs)

    def env(**kwargs: Any):
        return parallel_to_aec(env_class(**kwargs))

    raw_env.__doc__ = f"The ``ParallelEnv`` itself: ``{env_class.__name__}(**kwargs)``."
    parallel_env.__doc__ = f"The parallel API (all agents act at every step): ``{env_class.__name__}(**kwargs)``."
    env.__doc__ = f"The AEC API (agents act in turn): ``{env_class.__name__}`` through ``parallel_to_aec``."
    return raw_env, parallel_env, env
