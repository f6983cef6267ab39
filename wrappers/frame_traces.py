"""Leaky traces of a flat observation: the current frame and its exponential averages over past steps.

A frame stack remembers the last few frames equally and forgets the rest at once. A leaky trace
``trace <- decay * trace + (1 - decay) * frame`` (a membrane potential without a threshold) remembers every
past frame with a weight that fades with its age, so a slowly changing variable (NoisyCartPole's cart
position) is averaged over about ``(1 + decay) / (1 - decay)`` frames' worth of noise, while the current
frame keeps what changes fast. The traces restart from the first frame of every episode. After a frame stack,
``frame_size`` traces only the newest frame and keeps the whole stack: slow averages in front of a short window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["FrameTraces"]


class FrameTraces(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Observe ``[trace_1, ..., trace_m, observation]``: leaky averages of the frames, slowest first, then the
    observation.

    Args:
        env: an env with a flat ``MultiBinary`` or ``Box`` observation space.
        decays: one factor in (0, 1) per trace, in decreasing order (e.g. ``[0.95, 0.8]``).
        frame_size: the frame is the last ``frame_size`` values of each observation (the newest frame of a
            :class:`agents.scal.frames.BinaryFrameStack`); ``None``: the whole observation.

    The observation is a ``Box`` of ``len(decays) * frame_size + n`` float32 values in the bounds of the input
    (bits: in [0, 1], which SCAL-RL's pooling reads as bits); consumers that stack frames see ``len(decays)``
    frames more than the input holds (``n_frames`` of :class:`agents.scal.perception.SCALPerception`).

    Example:
        >>> import envs
        >>> env = FrameTraces(gym.make("NoisyCartPole-v0", bits_per_variable=8), decays=[0.9])
        >>> env.observation_space.shape
        (64,)
    """

    def __init__(self, env: gym.Env, decays: Sequence[float] = (0.95, 0.8), frame_size: int | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, decays=decays, frame_size=frame_size)
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, (gym.spaces.MultiBinary, gym.spaces.Box)) or len(space.shape) != 1:
            raise TypeError(f"FrameTraces needs a flat MultiBinary or Box observation space, got {space}")
        if isinstance(decays, (str, bytes)) or not isinstance(decays, Sequence) or len(decays) < 1:
            raise ValueError(f"decays={decays!r} must be a non-empty list of factors in (0, 1)")
        values = [float(decay) for decay in decays]
        if not all(0.0 < decay < 1.0 for decay in values) or values != sorted(values, reverse=True):
            raise ValueError(f"decays={decays!r} must be factors in (0, 1), in decreasing order (slowest first)")
        size = space.shape[0]
        if frame_size is None:
            frame_size = size
        elif isinstance(frame_size, bool) or not isinstance(frame_size, int) or not 1 <= frame_size <= size:
            raise ValueError(f"frame_size={frame_size!r} must be an integer in [1, {size}] (or None: the whole observation)")
        self.frame_size = frame_size
        self.decays = np.asarray(values, dtype=np.float32)[:, None]
        low = np.zeros(space.shape, np.float32) if isinstance(space, gym.spaces.MultiBinary) else space.low
        high = np.ones(space.shape, np.float32) if isinstance(space, gym.spaces.MultiBinary) else space.high
        n_traces = len(values)

        def with_traces(bound: np.ndarray) -> np.ndarray:  # each trace has the bounds of the frame it averages
            return np.concatenate([np.tile(bound[size - frame_size :], n_traces), bound]).astype(np.float32)

        self.observation_space = gym.spaces.Box(with_traces(low), with_traces(high), dtype=np.float32)
        self._traces = np.zeros((n_traces, frame_size), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        observation = np.asarray(obs, np.float32)
        self._traces[:] = observation[-self.frame_size :]
        return self._observe(observation), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        observation = np.asarray(obs, np.float32)
        self._traces *= self.decays
        self._traces += (1.0 - self.decays) * observation[-self.frame_size :]
        return self._observe(observation), reward, terminated, truncated, info

    def _observe(self, observation: np.ndarray) -> np.ndarray:
        return np.concatenate([self._traces.ravel(), observation])
