"""Random action and observation delays.

An action sent at step ``t`` arrives at step ``t + d`` with ``d`` drawn uniformly from
``[min_delay, max_delay]``; at every step the environment applies the freshest action that has
arrived (the one sent last). Until the first action arrives a no-op is applied.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = [
    "ActionDelayLine",
    "ActionDelayQueue",
    "RandomActionDelay",
    "RandomObservationDelay",
    "applied_action_probabilities",
    "check_delay_range",
    "draw_delays",
]


def check_delay_range(min_delay: int, max_delay: int, *, lowest: int = 0, prefix: str = "") -> None:
    """Raise ``ValueError`` unless ``lowest <= min_delay <= max_delay`` are integers."""
    for name, value in ((f"{prefix}min_delay", min_delay), (f"{prefix}max_delay", max_delay)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lowest:
            raise ValueError(f"{name}={value!r} must be an integer >= {lowest}")
    if min_delay > max_delay:
        raise ValueError(f"{prefix}min_delay={min_delay} must not exceed {prefix}max_delay={max_delay}")


def draw_delays(rng: np.random.Generator, low: int, high: int, size: int | None = None) -> Any:
    """Uniform integers in ``[low, high]`` from raw 64-bit draws (4x faster than ``rng.integers``
    for one value; the modulo bias is below 2**-60)."""
    span = high - low + 1
    if size is None:
        return low + int(rng.bit_generator.random_raw()) % span
    return low + (rng.bit_generator.random_raw(size) % np.uint64(span)).astype(np.int64)


def applied_action_probabilities(min_delay: int, max_delay: int) -> np.ndarray:
    """P(the action applied now was sent ``k`` steps ago), ``k = 0..max_delay``, in steady state.

    The action sent ``k`` steps ago is the freshest arrived one when it has arrived (``d <= k``)
    and none sent later has (``d_j > j`` for every ``j < k``).
    """
    span = max_delay - min_delay + 1
    arrived = np.clip((np.arange(max_delay + 1) - min_delay + 1) / span, 0.0, 1.0)
    not_yet = np.concatenate([[1.0], np.cumprod(1.0 - arrived)[:-1]])
    return arrived * not_yet


class ActionDelayQueue:
    """Delay line of one action stream (pure Python: cheap per step).

    Args:
        min_delay: smallest delay in steps (>= 0).
        max_delay: largest delay in steps.
    """

    def __init__(self, min_delay: int, max_delay: int) -> None:
        check_delay_range(min_delay, max_delay)
        self.min_delay, self.max_delay = int(min_delay), int(max_delay)
        self.reset()

    def reset(self) -> None:
        self._pending: dict[int, tuple[int, Any]] = {}  # arrival step -> (send step, action)
        self.applied_action: Any = None  # None until the first action arrives
        self.applied_sent, self.time = -1, 0

    def send(self, action: Any, rng: np.random.Generator) -> int:
        """Send ``action`` now, deliver what arrives, move time on; return the delay drawn."""
        delay = draw_delays(rng, self.min_delay, self.max_delay)
        self._pending[self.time + delay] = (self.time, action)  # replaces an older send arriving then
        arrived = self._pending.pop(self.time, None)
        if arrived is not None and arrived[0] > self.applied_sent:
            self.applied_sent, self.applied_action = arrived
        self.time += 1
        return delay


class ActionDelayLine:
    """Batched delay line of ``num_envs`` independent action streams (for vector envs).

    Same semantics as :class:`ActionDelayQueue`, and for one stream the same random draws.

    Args:
        num_envs: number of independent streams.
        min_delay: smallest delay in steps (>= 0).
        max_delay: largest delay in steps.
    """

    def __init__(self, num_envs: int, min_delay: int, max_delay: int) -> None:
        check_delay_range(min_delay, max_delay)
        self.num_envs, self.min_delay, self.max_delay = num_envs, int(min_delay), int(max_delay)
        slots = self.max_delay + 1
        self._pending_action = np.zeros((num_envs, slots), dtype=np.int64)
        self._pending_sent = np.full((num_envs, slots), -1, dtype=np.int64)
        self.applied_action = np.zeros(num_envs, dtype=np.int64)
        self.applied_sent = np.full(num_envs, -1, dtype=np.int64)
        self.time = np.zeros(num_envs, dtype=np.int64)
        self._rows = np.arange(num_envs)

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Empty the streams selected by ``mask`` (all by default)."""
        mask = slice(None) if mask is None else mask
        self._pending_sent[mask] = -1
        self.applied_sent[mask] = -1
        self.time[mask] = 0

    def send(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Send one action per stream, deliver what arrives, move time on.

        Returns:
            The delays drawn, and whether each stream has received any action yet.
        """
        slots = self.max_delay + 1
        delays = draw_delays(rng, self.min_delay, self.max_delay, self.num_envs)
        target = (self.time + delays) % slots
        fresher = self._pending_sent[self._rows, target] < self.time
        rows, target = self._rows[fresher], target[fresher]
        self._pending_action[rows, target] = actions[fresher]
        self._pending_sent[rows, target] = self.time[fresher]
        now = self.time % slots
        arriving = self._pending_sent[self._rows, now]
        newer = arriving > self.applied_sent
        self.applied_action[newer] = self._pending_action[self._rows[newer], now[newer]]
        self.applied_sent[newer] = arriving[newer]
        self._pending_sent[self._rows, now] = -1
        self.time += 1
        return delays, self.applied_sent >= 0


def _default_noop(space: gym.Space) -> Any:
    if isinstance(space, gym.spaces.Discrete):
        return space.start
    if isinstance(space, gym.spaces.Box):
        return np.clip(np.zeros(space.shape, space.dtype), space.low, space.high)
    if isinstance(space, (gym.spaces.MultiBinary, gym.spaces.MultiDiscrete)):
        return np.zeros(space.shape, space.dtype) + getattr(space, "start", 0)
    raise TypeError(f"no default no-op for {space}: pass `noop_action`")


class RandomActionDelay(gym.ActionWrapper):
    """Deliver each action after a random delay of ``min_delay..max_delay`` steps.

    The env applies the freshest delivered action; before any arrives it applies ``noop_action``
    (default: 0 for ``Discrete``, zeros for ``Box``). Delays are drawn from the env's ``np_random``.

    Example:
        >>> import gymnasium as gym
        >>> env = RandomActionDelay(gym.make("CartPole-v1"), min_delay=1, max_delay=1)
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(1)
        >>> env.delay_line.applied_action is None  # nothing has arrived: the no-op 0 was applied
        True
    """

    def __init__(self, env: gym.Env, min_delay: int = 0, max_delay: int = 2, noop_action: Any = None) -> None:
        super().__init__(env)
        space = env.action_space
        self.noop_action = _default_noop(space) if noop_action is None else noop_action
        if not space.contains(np.asarray(self.noop_action, dtype=space.dtype).reshape(space.shape)):
            raise ValueError(f"noop_action={noop_action!r} is not in the action space {space}")
        self.delay_line = ActionDelayQueue(min_delay, max_delay)

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        self.delay_line.reset()
        return super().reset(**kwargs)

    def action(self, action: Any) -> Any:
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in the action space {self.action_space}")
        self.delay_line.send(action, self.np_random)
        applied = self.delay_line.applied_action
        return self.noop_action if applied is None else applied


class RandomObservationDelay(gym.ObservationWrapper):
    """Show the observation from ``d`` steps ago, ``d`` drawn uniformly in ``[min_delay, max_delay]``.

    Before enough history exists, the reset observation stands in for older ones.

    Example:
        >>> import gymnasium as gym
        >>> env = RandomObservationDelay(gym.make("CartPole-v1"), min_delay=1, max_delay=3)
        >>> first, _ = env.reset(seed=0)
        >>> obs, *_ = env.step(0)
        >>> bool((obs == first).all())  # one step in, every delay shows the reset frame
        True
    """

    def __init__(self, env: gym.Env, min_delay: int = 1, max_delay: int = 3) -> None:
        super().__init__(env)
        check_delay_range(min_delay, max_delay)
        self.min_delay, self.max_delay = int(min_delay), int(max_delay)
        self._history: deque = deque(maxlen=self.max_delay + 1)
        self.last_delay = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self._history.clear()
        self._history.extend([obs] * (self.max_delay + 1))
        return self.observation(None), info

    def observation(self, observation: Any) -> Any:
        if observation is not None:
            self._history.append(observation)
        self.last_delay = draw_delays(self.np_random, self.min_delay, self.max_delay)
        return self._history[-1 - self.last_delay]
