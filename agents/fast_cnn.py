"""Atari CNN features extractors laid out for fast CPU training: channels-last input and, optionally, bfloat16.

PyTorch's CPU convolutions (oneDNN) run much faster on channels-last (NHWC) input than on the default NCHW
layout. Only the input is reordered; the network, its weights (and their layout, so SB3's orthogonal
initialisation and saved models are unchanged) and its outputs stay the same: ``precision="fp32"`` is a pure
speed-up (results agree to float rounding). ``precision="bf16"`` also runs the network under
``torch.autocast`` in bfloat16, which CPUs with AVX-512 BF16 or AMX execute several times faster again; the
features come back as float32, so the policy and value heads, the loss and the optimizer state stay float32
(mixed precision).

``architecture="nature"`` is SB3's :class:`~stable_baselines3.common.torch_layers.NatureCNN` (Mnih et al.,
2015: three convolutions, 512 features), layer for layer and with the same initialisation for a seed;
``"nips"`` is the smaller network of Mnih et al. (2013) (16 8x8/4 and 32 4x4/2 filters, 256 features), about
a third of the multiply-adds. Speeds on this project's CPU: ``benchmarks/bench_noisy_pong.py --train``.

From a hyperparameter YAML::

    policy_kwargs:
      features_extractor_class: agents.fast_cnn.FastCNN
      features_extractor_kwargs: {precision: bf16, architecture: nature}
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["ARCHITECTURES", "PRECISIONS", "FastCNN"]

#: ``precision`` values: ``"fp32"`` (channels-last only) or ``"bf16"`` (channels-last + bfloat16 autocast).
PRECISIONS = ("fp32", "bf16")
#: Convolutions (filters, kernel, stride) and default feature size of each ``architecture``.
ARCHITECTURES = {
    "nature": (((32, 8, 4), (64, 4, 2), (64, 3, 1)), 512),
    "nips": (((16, 8, 4), (32, 4, 2)), 256),
}


def _check_choice(name: str, value: str, allowed: tuple[str, ...] | dict) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


class FastCNN(BaseFeaturesExtractor):
    """An Atari CNN (``architecture``) with channels-last input and the given ``precision`` (module docstring)."""

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int | None = None,
                 normalized_image: bool = False, architecture: str = "nature", precision: str = "fp32") -> None:
        convolutions, default_dim = ARCHITECTURES[_check_choice("architecture", architecture, ARCHITECTURES)]
        self.precision = _check_choice("precision", precision, PRECISIONS)
        features_dim = default_dim if features_dim is None else features_dim
        super().__init__(observation_space, features_dim)
        if not is_image_space(observation_space, check_channels=False, normalized_image=normalized_image):
            raise ValueError(f"observation_space={observation_space} must be a channel-first image (FastCNN)")
        layers: list[nn.Module] = []
        channels = observation_space.shape[0]
        for filters, kernel, stride in convolutions:
            layers += [nn.Conv2d(channels, filters, kernel_size=kernel, stride=stride, padding=0), nn.ReLU()]
            channels = filters
        self.cnn = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            n_flatten = self.cnn(torch.as_tensor(observation_space.sample()[None]).float()).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flatten, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        dtype = torch.bfloat16 if self.precision == "bf16" else observations.dtype
        observations = observations.to(dtype=dtype, memory_format=torch.channels_last)  # one pass: cast + reorder
        with torch.autocast(observations.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            features = self.linear(self.cnn(observations))
        return features.float()
