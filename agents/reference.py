"""Non-learning reference agents with SB3's ``predict``/``learn``/``save``/``load`` interface."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv


def env_attribute(env: gym.Env | VecEnv, name: str) -> Any:
    """Read a documented attribute of the (first) underlying environment, or ``None``."""
    if isinstance(env, VecEnv):
        return env.get_attr(name, indices=[0])[0] if env.has_attr(name) else None
    return getattr(env.unwrapped, name, None)


class ReferenceAgent:
    """Base of agents that do not learn: ``learn`` does nothing, ``save`` writes their arguments.

    Args:
        env: the environment (or VecEnv) the agent acts in.
        seed: seed of the agent's own randomness.
    """

    name = "reference"

    def __init__(self, env: gym.Env | VecEnv, seed: int | None = None) -> None:
        self.env = env
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self.seed = seed
        self.num_timesteps = 0

    def learn(self, total_timesteps: int = 0, **kwargs: Any) -> ReferenceAgent:
        """Nothing to learn: return the agent unchanged."""
        return self

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def save(self, path: str | Path) -> None:
        path = Path(path).with_suffix(".json")
        path.write_text(json.dumps({"agent": self.name, "seed": self.seed}))

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | VecEnv) -> ReferenceAgent:
        saved = json.loads(Path(path).with_suffix(".json").read_text())
        return cls(env, seed=saved.get("seed"))


class RandomAgent(ReferenceAgent):
    """Uniformly random actions from the action space (the chance-level reference)."""

    name = "random"

    def __init__(self, env: gym.Env | VecEnv, seed: int | None = None) -> None:
        super().__init__(env, seed)
        self.action_space.seed(seed)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        observation = np.asarray(observation)
        batched = observation.shape != self.observation_space.shape
        if not batched:
            return self.action_space.sample(), state
        return np.stack([self.action_space.sample() for _ in range(len(observation))]), state
