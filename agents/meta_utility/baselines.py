"""Static and heuristic compute-allocation baselines for MetaUtility-v0 (docs/meta_utility.md).

They act on the env's ``Discrete(2)`` decision (0 skip, 1 run the next block) with SB3's
``predict`` interface; the confidence exit reads the documented ``feature_index`` attribute of the
env to find the confidence in the observation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from agents.reference import ReferenceAgent, env_attribute


def _batch(observation: np.ndarray, single_shape: tuple[int, ...]) -> tuple[np.ndarray, bool]:
    """Observations as a batch ``(n, ...)`` and whether the input was already batched."""
    observation = np.asarray(observation)
    batched = observation.shape != single_shape
    return (observation if batched else observation[None]), batched


def check_unit_interval(name: str, value: float) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` naming ``name`` when it is outside [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r} must be in [0, 1]")
    return float(value)


class _ParametrisedAgent(ReferenceAgent):
    """A reference agent with one float parameter that ``save``/``load`` keep."""

    parameter = ""

    def _unbatch(self, actions: np.ndarray, batched: bool, state: Any) -> tuple[np.ndarray, Any]:
        return (actions if batched else actions[0]), state

    def save(self, path: str | Path) -> None:
        data = {"agent": self.name, "seed": self.seed}
        if self.parameter:
            data[self.parameter] = getattr(self, self.parameter)
        Path(path).with_suffix(".json").write_text(json.dumps(data))

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | VecEnv) -> ReferenceAgent:
        saved = json.loads(Path(path).with_suffix(".json").read_text())
        kwargs = {cls.parameter: saved[cls.parameter]} if cls.parameter else {}
        return cls(env, seed=saved.get("seed"), **kwargs)


class AllBlocksAgent(_ParametrisedAgent):
    """Runs every block: the full model (the accuracy reference, no FLOPs saved)."""

    name = "all_blocks"

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        batch, batched = _batch(observation, self.observation_space.shape)
        return self._unbatch(np.ones(len(batch), dtype=np.int64), batched, state)


class RandomSkipAgent(_ParametrisedAgent):
    """Runs each block independently with probability ``keep_prob`` (set it to match another agent's budget).

    Args:
        env: the environment (or VecEnv).
        seed: seed of the agent's coin flips.
        keep_prob: probability of running a block, in [0, 1]; the expected share of block FLOPs used
            (the blocks of MetaUtility-v0 all cost the same).
    """

    name = "random_skip"
    parameter = "keep_prob"

    def __init__(self, env: gym.Env | VecEnv, seed: int | None = None, keep_prob: float = 0.5) -> None:
        self.keep_prob = check_unit_interval("keep_prob", keep_prob)
        super().__init__(env, seed)
        self.rng = np.random.default_rng(seed)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        batch, batched = _batch(observation, self.observation_space.shape)
        actions = (self.rng.random(len(batch)) < self.keep_prob).astype(np.int64)
        return self._unbatch(actions, batched, state)


class ConfidenceExitAgent(_ParametrisedAgent):
    """Early exit: run the next block while the exit head's confidence is below ``threshold``.

    Skipping leaves the hidden state (and so the confidence) unchanged, so once the confidence
    reaches the threshold every remaining block is skipped: an exit. (Teerapittayanon et al.,
    BranchyNet, 2016, exit on a confidence criterion.)

    Args:
        env: a MetaUtility env or VecEnv (its ``feature_index`` attribute locates the confidence).
        seed: unused (the rule is deterministic); kept for the common interface.
        threshold: confidence in [0, 1] at which the agent exits; 1 runs every block (unless the
            head is certain), 0 runs none.
    """

    name = "confidence_exit"
    parameter = "threshold"

    def __init__(self, env: gym.Env | VecEnv, seed: int | None = None, threshold: float = 0.9) -> None:
        self.threshold = check_unit_interval("threshold", threshold)
        super().__init__(env, seed)
        feature_index = env_attribute(env, "feature_index")
        if not isinstance(feature_index, dict) or "confidence" not in feature_index:
            raise ValueError("env has no feature_index with a 'confidence' entry: use a MetaUtility-v0 env")
        self.confidence_index = int(feature_index["confidence"])

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        batch, batched = _batch(observation, self.observation_space.shape)
        actions = (batch[:, self.confidence_index] < self.threshold).astype(np.int64)
        return self._unbatch(actions, batched, state)
