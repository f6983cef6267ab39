"""A PettingZoo ``ParallelEnv`` as a Stable-Baselines3 ``VecEnv``: one slot per agent of every env copy.

SuperSuit's ``pettingzoo_env_to_vec_env_v1`` + ``concat_vec_envs_v1`` do the same job but drop seeding and
report time-limit truncations as terminations; this adapter keeps both. Guarantees:

* **Seeding**: ``seed(s)`` (called by ``train/run.py`` through SB3) seeds copy ``c`` with ``s + c`` at the next
  ``reset``; that one seed drives the copy's network, images, event sampling and every agent in it.
* **Truncation**: when a copy's episode ends every slot of that copy is ``done``; its info holds
  ``terminal_observation`` (the agent's last observation) and ``TimeLimit.truncated`` (``True`` when the
  episode was truncated and not terminated), which SB3's on- and off-policy algorithms use to bootstrap.
  The copy is then reset automatically without a seed (its new first observation is returned, as in
  ``DummyVecEnv``; seeds given by ``seed()`` apply at the next explicit ``reset()`` only, so SB3 re-seeding a
  loaded model's env never rebuilds a network mid-run).
* **Episode statistics**: ``info["episode"] = {"r", "l", "t"}`` (Monitor's keys) appears once per episode of
  a copy, in that copy's first slot: ``r`` is the team return (the mean of the agents' rewards, i.e. the shared
  reward's sum over the episode), not multiplied by the number of agents. Because the other slots carry no
  ``episode`` key, ``env_is_wrapped(Monitor)`` answers ``False`` so that ``evaluate_policy`` counts episodes per
  slot from ``dones`` (each slot's return is then the shared episode return).

All agents of a copy must end their episodes at the same step (a slot cannot sit idle), and they must share
one observation space and one action space.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn


class ParallelVecEnv(VecEnv):
    """SB3 ``VecEnv`` over ``len(env_fns)`` copies of a ``ParallelEnv``, slot ``c · n_agents + i`` being agent
    ``possible_agents[i]`` of copy ``c``.

    Args:
        env_fns: callables that each build one ``ParallelEnv`` (same agents and spaces in every copy).
    """

    def __init__(self, env_fns: Sequence[Callable[[], ParallelEnv]]) -> None:
        if not env_fns:
            raise ValueError("env_fns is empty; allowed: a list of at least one ParallelEnv factory")
        self.envs = [fn() for fn in env_fns]
        self.agents = list(self.envs[0].possible_agents)
        self.n_agents = len(self.agents)
        observation_space = self.envs[0].observation_space(self.agents[0])
        action_space = self.envs[0].action_space(self.agents[0])
        for env in self.envs:
            if list(env.possible_agents) != self.agents:
                raise ValueError("every ParallelEnv copy must have the same possible_agents")
            for agent in self.agents:
                if env.observation_space(agent) != observation_space or env.action_space(agent) != action_space:
                    raise ValueError(f"agent {agent!r}: every agent must share one observation and one action space")
        super().__init__(len(self.envs) * self.n_agents, observation_space, action_space)
        self.returns = np.zeros(len(self.envs))
        self.lengths = np.zeros(len(self.envs), dtype=np.int64)
        self.started = time.time()
        self.actions: np.ndarray | None = None

    def _copy(self, index: int) -> ParallelEnv:
        return self.envs[index // self.n_agents]

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed copy ``c`` with ``seed + c`` at the next reset (every slot of a copy reports its copy's seed)."""
        base = super().seed(seed)[0]
        self._seeds = [base + i // self.n_agents for i in range(self.num_envs)]
        return self._seeds

    def _stack(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        return np.stack([observations[a] for a in self.agents])

    def _reset_copy(self, c: int, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        observations, infos = self.envs[c].reset(seed=seed, **({"options": options} if options else {}))
        self.returns[c], self.lengths[c] = 0.0, 0
        return self._stack(observations), infos

    def reset(self) -> VecEnvObs:
        """Reset every copy, with the seeds and options set since the last reset (used once, as in SB3)."""
        blocks = []
        for c in range(len(self.envs)):
            first = c * self.n_agents
            block, infos = self._reset_copy(c, self._seeds[first], self._options[first])
            blocks.append(block)
            for i, agent in enumerate(self.agents):
                self.reset_infos[c * self.n_agents + i] = infos.get(agent, {})
        self._reset_seeds()
        self._reset_options()
        return np.concatenate(blocks)

    def step_async(self, actions: np.ndarray) -> None:
        self.actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = [], [], [], []
        for c in range(len(self.envs)):
            obs, reward, done, info = self._step_copy(c, self.actions[c * self.n_agents : (c + 1) * self.n_agents])
            observations.append(obs)
            rewards.append(reward)
            dones.append(done)
            infos.extend(info)
        return np.concatenate(observations), np.concatenate(rewards), np.concatenate(dones), infos

    def _step_copy(self, c: int, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        env = self.envs[c]
        observations, rewards, terminated, truncated, infos = env.step(dict(zip(self.agents, actions, strict=True)))
        ended = [terminated[a] or truncated[a] for a in self.agents]
        if any(ended) and not all(ended):
            raise RuntimeError("ParallelVecEnv needs all agents of a copy to end their episode at the same step")
        reward = np.array([rewards[a] for a in self.agents], dtype=np.float32)
        self.returns[c] += float(np.mean(reward))
        self.lengths[c] += 1
        info = [dict(infos.get(a, {})) for a in self.agents]
        obs = self._stack(observations)
        if all(ended):
            for slot, agent in zip(info, self.agents, strict=True):
                slot["terminal_observation"] = observations[agent]
                slot["TimeLimit.truncated"] = bool(truncated[agent] and not terminated[agent])
            info[0]["episode"] = {
                "r": round(float(self.returns[c]), 6),
                "l": int(self.lengths[c]),
                "t": round(time.time() - self.started, 6),
            }
            obs, reset_infos = self._reset_copy(c)  # auto-reset: no seed (pending seeds wait for reset())
            for i, agent in enumerate(self.agents):
                self.reset_infos[c * self.n_agents + i] = reset_infos.get(agent, {})
        return obs, reward, np.array(ended, dtype=bool), info

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [self._copy(i).render() for i in range(self.num_envs)]

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self._copy(i), attr_name) for i in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for c in sorted({i // self.n_agents for i in self._indices(indices)}):
            setattr(self.envs[c], attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        return [getattr(self._copy(i), method_name)(*method_args, **method_kwargs) for i in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """``False``: the copies are PettingZoo envs; episode statistics come from this adapter (see above)."""
        return [False for _ in self._indices(indices)]


def make_parallel_vec_env(env_fn: Callable[..., ParallelEnv], n_envs: int, seed: int | None, **env_kwargs: Any):
    """``n_envs`` copies of ``env_fn(**env_kwargs)`` as a :class:`ParallelVecEnv` seeded ``seed + copy``."""
    if not isinstance(n_envs, int) or n_envs < 1:
        raise ValueError(f"n_envs={n_envs!r} is invalid; allowed: an integer >= 1")
    vec_env = ParallelVecEnv([lambda: env_fn(**env_kwargs) for _ in range(n_envs)])
    vec_env.seed(seed)
    return vec_env
