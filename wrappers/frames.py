"""Binary image frames: threshold grayscale frames to {0, 255}, and flip their pixels at random.

Binary frames are stored as ``uint8`` images with values 0 and 255 (not 0/1) so that SB3 treats them as
images (``CnnPolicy``, ``VecTransposeImage``, division by 255 in the policy).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from wrappers.noise import check_probability, flip_mask

__all__ = ["BinarizeFrames", "ChannelFrameStack", "FrameBitFlipNoise", "check_threshold", "flip_pixels"]

ON = np.uint8(255)


def check_threshold(threshold: int) -> int:
    """Return ``threshold`` as an int, or raise ``ValueError`` unless it is an integer in [0, 254]."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or not 0 <= threshold <= 254:
        raise ValueError(f"threshold={threshold!r} must be an integer gray level in [0, 254]")
    return int(threshold)


def flip_pixels(frame: np.ndarray, flip_prob: float, rng: np.random.Generator) -> np.ndarray:
    """Flip every pixel of a {0, 255} ``uint8`` frame independently with probability ``flip_prob``.

    Uses :func:`wrappers.noise.flip_mask`, so the draws come from ``rng``'s bit generator. Returns a new array.
    """
    if flip_prob == 0.0:
        return frame.copy()
    return np.bitwise_xor(frame, flip_mask(frame.shape, flip_prob, rng).view(np.uint8) * ON)


def _image_space(space: gym.Space, wrapper: str) -> gym.spaces.Box:
    if not isinstance(space, gym.spaces.Box) or space.dtype != np.uint8 or len(space.shape) not in (2, 3):
        raise TypeError(f"{wrapper} needs a uint8 Box image space (H, W) or (H, W, C), got {space}")
    return space


class BinarizeFrames(gym.ObservationWrapper):
    """Threshold a grayscale ``uint8`` frame: 255 where the gray level exceeds ``threshold``, else 0.

    The output always has a channel axis, ``(H, W, 1)`` for an ``(H, W)`` input, so SB3 sees an image.

    Args:
        env: env with a ``uint8`` ``Box`` observation of shape ``(H, W)`` or ``(H, W, C)``.
        threshold: gray level in [0, 254]; a pixel is on when it is strictly brighter.

    Example:
        >>> import numpy as np
        >>> binary = BinarizeFrames.binarize(np.array([[0, 87, 90, 236]], np.uint8), threshold=88)
        >>> binary[..., 0].tolist()
        [[0, 0, 255, 255]]
    """

    def __init__(self, env: gym.Env, threshold: int = 90) -> None:
        super().__init__(env)
        space = _image_space(env.observation_space, "BinarizeFrames")
        self.threshold = check_threshold(threshold)
        shape = space.shape if len(space.shape) == 3 else (*space.shape, 1)
        self.observation_space = gym.spaces.Box(0, 255, shape, dtype=np.uint8)

    @staticmethod
    def binarize(frame: np.ndarray, threshold: int) -> np.ndarray:
        """``frame > threshold`` as {0, 255} ``uint8``, with a channel axis added to 2-D frames."""
        binary = (frame > threshold).view(np.uint8) * ON
        return binary[..., None] if binary.ndim == 2 else binary

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.binarize(observation, self.threshold)


class FrameBitFlipNoise(gym.ObservationWrapper):
    """Flip each pixel of a binary {0, 255} ``uint8`` frame independently with probability ``flip_prob``.

    The image counterpart of :class:`wrappers.noise.BitFlipNoise`; draws come from the wrapped env's
    ``np_random``, so a seeded reset gives the same noise.

    Args:
        env: env with a binary ``uint8`` ``Box`` image observation (e.g. :class:`BinarizeFrames`).
        flip_prob: probability in [0, 1] that a pixel is flipped.

    Example:
        >>> import numpy as np
        >>> frame = np.zeros((84, 84, 1), np.uint8)
        >>> noisy = flip_pixels(frame, 0.3, np.random.default_rng(0))
        >>> sorted(np.unique(noisy).tolist()), round(float((noisy == 255).mean()), 1)
        ([0, 255], 0.3)
    """

    def __init__(self, env: gym.Env, flip_prob: float = 0.3) -> None:
        super().__init__(env)
        _image_space(env.observation_space, "FrameBitFlipNoise")
        self.flip_prob = check_probability("flip_prob", flip_prob)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return flip_pixels(observation, self.flip_prob, self.np_random)


class ChannelFrameStack(gym.ObservationWrapper):
    """Stack the last ``n_frames`` ``(H, W, C)`` images along the channel axis, oldest first.

    The Gymnasium-level counterpart of SB3's ``VecFrameStack`` (same layout, ``(H, W, n_frames * C)``, an
    image for ``CnnPolicy``); being a plain wrapper it pickles with its env (run checkpoints). At reset the
    first frame fills the stack.

    Args:
        env: env with a ``uint8`` ``Box`` image observation ``(H, W, C)``.
        n_frames: frames to stack (>= 1).

    Example:
        >>> import ale_py
        >>> gym.register_envs(ale_py)
        >>> env = ChannelFrameStack(BinarizeFrames(gym.make("ALE/Pong-v5", obs_type="grayscale")), n_frames=4)
        >>> env.observation_space.shape
        (210, 160, 4)
    """

    def __init__(self, env: gym.Env, n_frames: int = 4) -> None:
        super().__init__(env)
        space = _image_space(env.observation_space, "ChannelFrameStack")
        if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
            raise ValueError(f"n_frames={n_frames!r} must be an integer >= 1")
        if len(space.shape) != 3:
            raise TypeError(f"ChannelFrameStack needs (H, W, C) images, got shape {space.shape}")
        self.n_frames = int(n_frames)
        self.observation_space = gym.spaces.Box(
            np.tile(space.low, self.n_frames), np.tile(space.high, self.n_frames), dtype=np.uint8
        )
        self._frames: deque = deque(maxlen=self.n_frames)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._frames.extend([obs] * self.n_frames)
        return np.concatenate(self._frames, axis=-1), info

    def observation(self, observation: Any) -> np.ndarray:
        self._frames.append(observation)
        return np.concatenate(self._frames, axis=-1)
