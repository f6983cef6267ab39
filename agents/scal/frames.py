"""Frame stacking for flat binary or Box observations (SB3's ``VecFrameStack`` accepts only ``Box``).

The SCAL perception treats each stacked frame as one LIF time step, so the membrane integrates the
noisy observations over time.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["BinaryFrameStack", "image_stack_shape"]


def image_stack_shape(observation_space: gym.Space) -> tuple[int, int, int]:
    """``(frames, height, width)`` of a channels-first ``uint8`` image Box (SB3 transposes ``H x W x C``
    observations with ``VecTransposeImage`` before the policy); ``ValueError`` for any other space.

    Example:
        >>> image_stack_shape(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8))
        (4, 84, 84)
    """
    if (
        not isinstance(observation_space, gym.spaces.Box)
        or observation_space.dtype != np.uint8
        or len(observation_space.shape) != 3
    ):
        raise ValueError(f"observation_space={observation_space} must be a channels-first uint8 image Box (frames, H, W)")
    frames, height, width = (int(n) for n in observation_space.shape)
    return frames, height, width


class BinaryFrameStack(gym.ObservationWrapper):
    """Concatenate the last ``n_frames`` flat observations, oldest first (the first one repeated at reset).

    Args:
        env: an env with a flat ``MultiBinary`` or ``Box`` observation space.
        n_frames: frames to keep (>= 1).

    Example:
        >>> import envs
        >>> env = BinaryFrameStack(gym.make("NoisyCartPole-v0", bits_per_variable=8), n_frames=3)
        >>> env.observation_space
        MultiBinary(96)
        >>> env.reset(seed=0)[0].shape
        (96,)
    """

    def __init__(self, env: gym.Env, n_frames: int = 4) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, (gym.spaces.MultiBinary, gym.spaces.Box)) or len(space.shape) != 1:
            raise TypeError(f"BinaryFrameStack needs a flat MultiBinary or Box observation space, got {space}")
        if int(n_frames) < 1:
            raise ValueError(f"n_frames={n_frames!r} must be >= 1")
        self.n_frames = int(n_frames)
        if isinstance(space, gym.spaces.MultiBinary):
            self.observation_space = gym.spaces.MultiBinary(space.n * self.n_frames)
        else:
            self.observation_space = gym.spaces.Box(
                np.tile(space.low, self.n_frames), np.tile(space.high, self.n_frames), dtype=space.dtype
            )
        self._frames: deque = deque(maxlen=self.n_frames)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._frames.clear()
        self._frames.extend([obs] * self.n_frames)
        return self.observation(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._frames.append(obs)
        return self.observation(obs), reward, terminated, truncated, info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.concatenate(list(self._frames))
