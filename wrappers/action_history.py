"""Action history: the last ``k`` actions appended to a flat binary observation, one-hot each.

With actions that reach the system up to ``max_delay`` steps late, the observation alone is not a Markov
state: the actions still in flight matter too. Appending the last ``max_delay`` actions restores the Markov
property (state augmentation for delayed MDPs; Katsikopoulos & Engelbrecht 2003, "Markov decision processes
with delays and asynchronous cost collection", IEEE TAC 48(4)). The history is oldest first; slots not yet
filled in the episode (and all slots after a reset) are zeros, which no one-hot action is.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space

from wrappers.encoding import is_binary_space

__all__ = ["ActionHistory", "ActionHistoryBits", "ActionHistoryVector", "env_max_delay"]


def env_max_delay(env: Any) -> int | None:
    """The largest action delay ``env`` declares (a ``max_delay`` attribute of the env or one of its wrappers,
    or of their ``config`` or ``delay_line``), or ``None``."""
    layer = env
    while layer is not None:
        for holder in (layer, getattr(layer, "config", None), getattr(layer, "delay_line", None)):
            value = getattr(holder, "max_delay", None)
            if value is not None:
                return int(value)
        layer = getattr(layer, "env", None)
    return None


def _history_length(env: Any, k: int | None) -> int:
    if k is None:
        k = env_max_delay(env)
        if k is None:
            raise ValueError(f"k=None needs an env that declares max_delay; {env} does not: pass k (an integer >= 0)")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k={k!r} must be an integer >= 0 (the number of past actions kept)")
    return int(k)


def _n_actions(action_space: gym.Space) -> int:
    if not isinstance(action_space, gym.spaces.Discrete):
        raise TypeError(f"action_space={action_space} must be Discrete (each past action is one-hot coded)")
    return int(action_space.n)


def _with_history(observation_space: gym.Space, n_bits: int) -> gym.Space:
    """``observation_space`` with ``n_bits`` more bits at the end."""
    if not isinstance(observation_space, (gym.spaces.MultiBinary, gym.spaces.Box)) or len(observation_space.shape) != 1:
        raise TypeError(f"observation_space={observation_space} must be a flat MultiBinary or Box space")
    if not is_binary_space(observation_space):
        raise ValueError(f"observation_space={observation_space} must be binary: MultiBinary or a Box in [0, 1]")
    if isinstance(observation_space, gym.spaces.MultiBinary):
        return gym.spaces.MultiBinary(observation_space.n + n_bits)
    size = observation_space.shape[0] + n_bits
    return gym.spaces.Box(0, 1, (size,), dtype=observation_space.dtype)


class ActionHistoryBits:
    """The last ``k`` actions of ``n_envs`` streams, one-hot over ``n_actions``, oldest first.

    Args:
        n_envs: independent streams.
        k: actions kept per stream.
        n_actions: size of the ``Discrete`` action space.
    """

    def __init__(self, n_envs: int, k: int, n_actions: int) -> None:
        self.k, self.n_actions = k, n_actions
        self.bits = np.zeros((n_envs, k, n_actions), dtype=np.int8)
        self._one_hot = np.eye(n_actions, dtype=np.int8)

    def clear(self, mask: np.ndarray | slice = slice(None)) -> None:
        """Forget the history of the streams in ``mask`` (all by default)."""
        self.bits[mask] = 0

    def push(self, actions: np.ndarray) -> None:
        """Append one action per stream (the oldest falls out)."""
        if self.k == 0:
            return
        self.bits[:, :-1] = self.bits[:, 1:]
        self.bits[:, -1] = self._one_hot[np.asarray(actions, dtype=np.int64).reshape(-1)]

    def append_to(self, observations: np.ndarray) -> np.ndarray:
        """``observations`` (``(n_envs, n)``, or ``(n,)`` for one stream) with the history appended."""
        flat = self.bits.reshape(self.bits.shape[0], -1).astype(observations.dtype)
        if observations.ndim == 1:
            return np.concatenate([observations, flat[0]])
        return np.concatenate([observations, flat], axis=1)


class ActionHistory(gym.Wrapper):
    """Append the last ``k`` actions, one-hot each, to a flat binary observation.

    Args:
        env: an env with a flat ``MultiBinary`` (or ``Box`` in [0, 1]) observation space and a ``Discrete``
            action space.
        k: past actions kept (>= 0); ``None``: the env's ``max_delay`` (:func:`env_max_delay`).

    Example:
        >>> import envs
        >>> env = ActionHistory(gym.make("NoisyCartPole-v0", bits_per_variable=8))  # max_delay 2
        >>> env.observation_space
        MultiBinary(36)
        >>> obs, _ = env.reset(seed=0)
        >>> obs, *_ = env.step(1)
        >>> obs[-4:].tolist()  # no action before the last one, then action 1
        [0, 0, 0, 1]
    """

    def __init__(self, env: gym.Env, k: int | None = None) -> None:
        super().__init__(env)
        self.k = _history_length(env, k)
        n_actions = _n_actions(env.action_space)
        self.observation_space = _with_history(env.observation_space, self.k * n_actions)
        self.history = ActionHistoryBits(1, self.k, n_actions)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.history.clear()
        return self.history.append_to(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.history.push(np.asarray(action))
        return self.history.append_to(obs), reward, terminated, truncated, info


class ActionHistoryVector(VectorWrapper):
    """:class:`ActionHistory` for a Gymnasium ``VectorEnv`` (e.g. ``NoisyCartPoleVectorEnv``).

    An env that restarts clears its history: under ``NEXT_STEP`` autoreset on the step that returns its first
    observation (that step's action was ignored), under ``SAME_STEP`` on the step that ended it.

    Args:
        env: a vector env with flat binary single observations and a ``Discrete`` single action space.
        k: past actions kept (>= 0); ``None``: the env's ``max_delay``.

    Example:
        >>> import envs
        >>> vec = gym.make_vec("NoisyCartPole-v0", 3, vectorization_mode="vector_entry_point", bits_per_variable=8)
        >>> vec = ActionHistoryVector(vec)
        >>> vec.reset(seed=0)[0].shape
        (3, 36)
    """

    def __init__(self, env: VectorEnv, k: int | None = None) -> None:
        super().__init__(env)
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if self.autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"env autoreset_mode={self.autoreset_mode} is not supported; allowed: NEXT_STEP, SAME_STEP")
        self.k = _history_length(env, k)
        n_actions = _n_actions(env.single_action_space)
        self.single_observation_space = _with_history(env.single_observation_space, self.k * n_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.history = ActionHistoryBits(self.num_envs, self.k, n_actions)
        self._restarting = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.history.clear()
        self._restarting[:] = False
        return self.history.append_to(obs), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self.history.push(actions)
        ended = np.logical_or(terminated, truncated)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self.history.clear(self._restarting)
            self._restarting = ended
        else:
            self.history.clear(ended)
        return self.history.append_to(obs), reward, terminated, truncated, info
