"""The front end of SCAL-RL's perception, on its own: block means of stacked binary frames in the bipolar code.

A bit flipped with probability p keeps ``1 - 2p`` of its signal; the mean of ``pool_size`` neighbouring
bits keeps that signal and divides the noise's standard deviation by ``sqrt(pool_size)``. Together with a
frame stack (:class:`agents.scal.frames.BinaryFrameStack`) this is all that stands between the raw bits
and the first SCAL layer (:class:`agents.scal.perception.SCALPerception` pools with :class:`BlockPooling`),
so a baseline given :class:`PooledFrames` sees what SCAL-RL sees, and a comparison shows what the SCAL
layers add. The agents ``ppo_frontend``, ``a2c_frontend``, ``dqn_frontend`` and ``recurrent_ppo_frontend``
are their plain versions' hyperparameters with this front end (``agents/hyperparams/*_frontend.yml``);
``ppo_frontend_history`` also passes on its last actions unpooled (``n_unpooled``).
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


def _check_count(name: str, value: int, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lowest:
        raise ValueError(f"{name}={value!r} must be an integer >= {lowest}")
    return int(value)


class BlockPooling(nn.Module):
    """Split an observation into frames, average blocks of ``pool_size`` inputs, bipolar code for bits.

    Args:
        frame_size: inputs in one frame.
        n_frames: frames in one observation (oldest first).
        pool_size: neighbouring inputs averaged into one value (1: no pooling); a last, shorter block is
            padded with "no evidence" (0.5 for bits, 0 otherwise).
        bipolar: inputs are bits: map the block means ``m`` to ``2m - 1`` (the bipolar transform ``2x - 1``
            is affine, so applying it after the average is the same and cheaper).
        n_unpooled: inputs after the frames that are not pooled (:meth:`unpooled`), e.g. the action history
            of :class:`wrappers.action_history.ActionHistory` applied after the frame stack.

    Example:
        >>> pooling = BlockPooling(frame_size=6, n_frames=2, pool_size=4, bipolar=True)
        >>> pooling(torch.tensor([[1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1]]))
        tensor([[[ 1.0000,  0.0000],
                 [-1.0000,  0.5000]]])
    """

    def __init__(
        self, frame_size: int, n_frames: int = 1, pool_size: int = 16, bipolar: bool = True, n_unpooled: int = 0
    ) -> None:
        super().__init__()
        self.frame_size, self.n_frames = _check_count("frame_size", frame_size, 1), _check_count("n_frames", n_frames, 1)
        self.pool_size, self.n_unpooled = _check_count("pool_size", pool_size, 1), _check_count("n_unpooled", n_unpooled, 0)
        self.bipolar = bool(bipolar)
        self.n_pooled = math.ceil(self.frame_size / self.pool_size)

    @classmethod
    def for_space(
        cls, observation_space: gym.Space, n_frames: int = 1, pool_size: int = 16, n_unpooled: int = 0
    ) -> BlockPooling:
        """The pooling of a flat space holding ``n_frames`` frames then ``n_unpooled`` inputs (bad values:
        ``ValueError``)."""
        n_inputs = check_flat_space(observation_space)
        n_frames, n_unpooled = _check_count("n_frames", n_frames, 1), _check_count("n_unpooled", n_unpooled, 0)
        framed = n_inputs - n_unpooled
        if framed < n_frames or framed % n_frames:
            raise ValueError(
                f"n_frames={n_frames} must divide the observation size {n_inputs} less n_unpooled={n_unpooled}"
            )
        return cls(framed // n_frames, n_frames, pool_size, is_binary_space(observation_space), n_unpooled)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Block means, ``(batch, n_frames, n_pooled)``, of the frames (the first ``n_frames * frame_size`` inputs)."""
        # views, not copies, of the frames (a copy of every stacked frame would cost more than the pooling)
        x = observations[:, : self.n_frames * self.frame_size].unflatten(1, (self.n_frames, self.frame_size))
        padding = self.n_pooled * self.pool_size - self.frame_size
        if padding:  # padded with 0.5 for bits, i.e. 0 ("no evidence") in the bipolar code
            x = F.pad(x.float(), (0, padding), value=0.5 if self.bipolar else 0.0)
        blocks = x.unflatten(2, (self.n_pooled, self.pool_size))
        if self.bipolar and not blocks.is_floating_point() and self.pool_size < 2**15:
            # bits as integers: counting them in int16 costs a third of turning every bit into a float first
            pooled = blocks.sum(dim=-1, dtype=torch.int16).float() / self.pool_size
        else:
            pooled = blocks.float().mean(dim=-1)
        if self.bipolar:
            pooled = 2.0 * pooled - 1.0
        return pooled

    def unpooled(self, observations: torch.Tensor) -> torch.Tensor:
        """The last ``n_unpooled`` inputs as they are (bits in the bipolar code), ``(batch, n_unpooled)``."""
        extra = observations[:, self.n_frames * self.frame_size :].float()
        return 2.0 * extra - 1.0 if self.bipolar else extra

    def extra_repr(self) -> str:
        return (f"frame_size={self.frame_size}, n_frames={self.n_frames}, pool_size={self.pool_size}, "
                f"bipolar={self.bipolar}, n_unpooled={self.n_unpooled}")


class PooledFrames(BaseFeaturesExtractor):
    """SB3 features extractor: the block means of every stacked frame, flattened (``n_frames * n_pooled``),
    then the ``n_unpooled`` last inputs.

    Args:
        observation_space: a flat ``MultiBinary`` or ``Box`` space holding ``n_frames`` stacked frames
            (wrap the env in :class:`agents.scal.frames.BinaryFrameStack` with the same ``n_frames``), then
            ``n_unpooled`` inputs.
        n_frames: frames stacked in one observation.
        pool_size: neighbouring inputs averaged into one feature.
        n_unpooled: last inputs passed on unpooled (the bits of an action history: ``k`` one-hot actions).

    Example:
        >>> extractor = PooledFrames(gym.spaces.MultiBinary(4 * 4096), n_frames=4, pool_size=16)
        >>> extractor.features_dim
        1024
    """

    def __init__(self, observation_space: gym.Space, n_frames: int = 1, pool_size: int = 16, n_unpooled: int = 0) -> None:
        pooling = BlockPooling.for_space(observation_space, n_frames, pool_size, n_unpooled)
        super().__init__(observation_space, features_dim=n_frames * pooling.n_pooled + pooling.n_unpooled)
        self.pooling = pooling

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        pooled = self.pooling(observations).flatten(1)
        return torch.cat([pooled, self.pooling.unpooled(observations)], dim=1) if self.pooling.n_unpooled else pooled
