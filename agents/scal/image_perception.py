"""SCAL perception for binary image frames (NoisyPong): patch means, then the vector SCAL perception.

The statistical denoising of :class:`~agents.scal.perception.SCALPerception` carries over to frames by
pooling over square patches instead of blocks of neighbouring bits. A pixel flipped with probability p
keeps ``1 - 2p`` of its signal: a patch of ``k x k`` pixels whose clean mean is ``m`` has a noisy mean
``p + (1 - 2p) m`` in expectation, and in the bipolar code ``2x - 1`` the noisy patch mean is exactly
``(1 - 2p)`` times the clean one in expectation, a scale that the cosine similarity to the prototypes
removes; the noise around it shrinks as ``1 / k``. The stacked frames are the LIF time steps, so the
membrane also integrates over time. Prototypes, thresholds and LIF dynamics are the vector perception's.

Cost: one ``avg_pool2d`` and one ``(k_h k_w) -> projection_dim`` linear map per frame (84x84 frames,
``patch_size=4``: a 21x21 grid, 441 inputs per frame), far cheaper than the Nature CNN.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from agents.scal.frames import image_stack_shape
from agents.scal.perception import SCALPerception

__all__ = ["SCALImagePerception"]


class SCALImagePerception(SCALPerception):
    """Spiking perception for stacked binary frames: patch means -> bipolar -> projection -> prototypes -> LIF.

    Args:
        observation_space: a channels-first ``uint8`` image space ``(n_frames, H, W)`` (SB3 transposes
            ``H x W x C`` observations with ``VecTransposeImage`` before the policy); each channel is one
            stacked frame and one LIF time step.
        patch_size: side of the square patches whose pixels are averaged (1: no pooling).
        n_components: principal components of the patch grid kept by the unsupervised subspace
            (default 0: off; the eigendecomposition of a ``grid x grid`` covariance in every training
            pass is the costly part for large grids).
        **kwargs: the other arguments of :class:`~agents.scal.perception.SCALPerception` (``n_frames``
            and ``pool_size`` are set here).

    Inputs are binary frames, ``{0, 1}`` after SB3's image scaling or ``{0, 255}`` where SB3 passes raw
    observations (the SCAL callback, the DQN replay samples); ``min(x, 1)`` maps both to bits.

    Example:
        >>> space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
        >>> perception = SCALImagePerception(space, patch_size=4, n_prototypes=32)
        >>> perception.grid, perception.features_dim
        ((21, 21), 64)
        >>> perception(torch.zeros(2, 4, 84, 84)).shape
        torch.Size([2, 64])
    """

    def __init__(self, observation_space: gym.Space, patch_size: int = 4, n_components: int = 0, **kwargs: Any) -> None:
        n_frames, height, width = image_stack_shape(observation_space)
        if isinstance(patch_size, bool) or not isinstance(patch_size, int) or not 1 <= patch_size <= min(height, width):
            raise ValueError(f"patch_size={patch_size!r} must be an integer in [1, {min(height, width)}]")
        for name in ("n_frames", "pool_size"):
            if name in kwargs:
                raise ValueError(f"{name} is set by SCALImagePerception (frames = channels, pooling = patches)")
        self.grid = (math.ceil(height / patch_size), math.ceil(width / patch_size))
        patch_space = gym.spaces.Box(0.0, 1.0, (n_frames * self.grid[0] * self.grid[1],), np.float32)
        super().__init__(patch_space, n_frames=n_frames, pool_size=1, n_components=n_components, **kwargs)
        self._observation_space = observation_space
        self.patch_size = patch_size

    def patch_means(self, observations: torch.Tensor) -> torch.Tensor:
        """Share of on pixels in each patch, ``(batch, n_frames, grid_h, grid_w)``."""
        bits = observations.float().clamp(max=1.0)
        return F.avg_pool2d(bits, self.patch_size, ceil_mode=True)

    def pool(self, observations: torch.Tensor) -> torch.Tensor:
        """Patch means, then the vector perception's bipolar transform (its pooling is the identity here)."""
        return super().pool(self.patch_means(observations).flatten(1))
