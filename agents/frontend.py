"""The front end of SCAL-RL's perception, on its own: block means of stacked binary frames in the bipolar code.

A bit flipped with probability p keeps ``1 - 2p`` of its signal; the mean of ``pool_size`` neighbouring
bits keeps that signal and divides the noise's standard deviation by ``sqrt(pool_size)``. Together with a
frame stack (:class:`agents.scal.frames.BinaryFrameStack`) this is all that stands between the raw bits
and the first SCAL layer (:class:`agents.scal.perception.SCALPerception` pools with :class:`BlockPooling`),
so a baseline given :class:`PooledFrames` sees what SCAL-RL sees, and a comparison shows what the SCAL
layers add. The agents ``ppo_frontend``, ``a2c_frontend``, ``dqn_frontend`` and ``recurrent_ppo_frontend``
are their plain versions' hyperparameters with this front end (``agents/hyperparams/*_frontend.yml``).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from wrappers.encoding import is_binary_space

__all__ = ["BlockPooling", "PooledFrames", "check_flat_space"]


def check_flat_space(observation_space: gym.Space) -> int:
    """The size of a flat ``MultiBinary`` or ``Box`` space; any other space raises ``ValueError``."""
    if (
        not isinstance(observation_space, (gym.spaces.MultiBinary, gym.spaces.Box))
        or len(observation_space.shape) != 1
    ):
        raise ValueError(f"observation_space={observation_space} must be a flat MultiBinary or Box space")
    return int(observation_space.shape[0])


class BlockPooling(nn.Module):
    """Split an observation into frames, average blocks of ``pool_size`` inputs, bipolar code for bits.

    Args:
        frame_size: inputs in one frame.
        n_frames: frames in one observation (oldest first).
        pool_size: neighbouring inputs averaged into one value (1: no pooling); a last, shorter block is
            padded with "no evidence" (0.5 for bits, 0 otherwise).
        bipolar: inputs are bits: map the block means ``m`` to ``2m - 1`` (the bipolar transform ``2x - 1``
            is affine, so applying it after the average is the same and cheaper).

    Example:
        >>> pooling = BlockPooling(frame_size=6, n_frames=2, pool_size=4, bipolar=True)
        >>> pooling(torch.tensor([[1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1]]))
        tensor([[[ 1.0000,  0.0000],
                 [-1.0000,  0.5000]]])
    """

    def __init__(self, frame_size: int, n_frames: int = 1, pool_size: int = 16, bipolar: bool = True) -> None:
        super().__init__()
        for name, value in (("frame_size", frame_size), ("n_frames", n_frames), ("pool_size", pool_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}={value!r} must be an integer >= 1")
        self.frame_size, self.n_frames, self.pool_size = int(frame_size), int(n_frames), int(pool_size)
        self.bipolar = bool(bipolar)
        self.n_pooled = math.ceil(self.frame_size / self.pool_size)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Block means, ``(batch, n_frames, n_pooled)``, from observations ``(batch, n_frames * frame_size)``."""
        x = observations.reshape(observations.shape[0], self.n_frames, self.frame_size).float()
        padding = self.n_pooled * self.pool_size - self.frame_size
        if padding:  # padded with 0.5 for bits, i.e. 0 ("no evidence") in the bipolar code
            x = F.pad(x, (0, padding), value=0.5 if self.bipolar else 0.0)
        batch = x.shape[0]
        pooled = F.avg_pool1d(x.reshape(batch * self.n_frames, 1, -1), self.pool_size)
        pooled = pooled.reshape(batch, self.n_frames, self.n_pooled)
        if self.bipolar:
            pooled = 2.0 * pooled - 1.0
        return pooled

    def extra_repr(self) -> str:
        return f"frame_size={self.frame_size}, n_frames={self.n_frames}, pool_size={self.pool_size}, bipolar={self.bipolar}"


class PooledFrames(BaseFeaturesExtractor):
    """SB3 features extractor: the block means of every stacked frame, flattened (``n_frames * n_pooled``).

    Args:
        observation_space: a flat ``MultiBinary`` or ``Box`` space holding ``n_frames`` stacked frames
            (wrap the env in :class:`agents.scal.frames.BinaryFrameStack` with the same ``n_frames``).
        n_frames: frames stacked in one observation.
        pool_size: neighbouring inputs averaged into one feature.

    Example:
        >>> extractor = PooledFrames(gym.spaces.MultiBinary(4 * 4096), n_frames=4, pool_size=16)
        >>> extractor.features_dim
        1024
    """

    def __init__(self, observation_space: gym.Space, n_frames: int = 1, pool_size: int = 16) -> None:
        n_inputs = check_flat_space(observation_space)
        if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 1 or n_inputs % n_frames:
            raise ValueError(f"n_frames={n_frames!r} must be an integer >= 1 that divides the observation size {n_inputs}")
        pooling = BlockPooling(n_inputs // n_frames, n_frames, pool_size, is_binary_space(observation_space))
        super().__init__(observation_space, features_dim=n_frames * pooling.n_pooled)
        self.pooling = pooling

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.pooling(observations).flatten(1)
