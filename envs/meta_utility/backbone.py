"""The backbone: a convolutional stem, residual blocks that can each be skipped, one shared exit head.

Skipping block i keeps the hidden state unchanged (the residual identity path), so every subset of
blocks still yields a prediction; the exit head reads any hidden state, which is what early exit
needs. Trained with random block dropping and a loss at every depth (see ``training.py``), in the
spirit of BlockDrop (Wu et al., CVPR 2018) and stochastic depth (Huang et al., ECCV 2016).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from envs.meta_utility.flops import count_flops

INPUT_SHAPE = (1, 28, 28)


@dataclass(frozen=True)
class BackboneConfig:
    """Architecture of the backbone.

    Attributes:
        channels: channels of the stem and of every block (at 14×14 resolution).
        n_blocks: number of skippable residual blocks.
        n_classes: classes of the exit head.
        head_pool: the exit head average-pools the 14×14 hidden state with this window before its
            linear layer (7: a 2×2 summary, so the head alone cannot do the blocks' work).
    """

    channels: int = 12
    n_blocks: int = 6
    n_classes: int = 10
    head_pool: int = 7

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ResidualBlock(nn.Module):
    """``h + conv(relu(conv(h)))`` with 3×3 convolutions that keep the shape."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)
        )

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.body(hidden)

    def own_flops(self, inputs: torch.Tensor, output: torch.Tensor) -> int:
        """The residual addition: one FLOP per output element."""
        return output[0].numel()


class Backbone(nn.Module):
    """Stem → blocks (each optional) → shared exit head.

    Args:
        config: the architecture.
    """

    def __init__(self, config: BackboneConfig = BackboneConfig()) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, stride=2, padding=1), nn.ReLU())
        self.blocks = nn.ModuleList(ResidualBlock(c) for _ in range(config.n_blocks))
        side = 14 // config.head_pool
        self.head = nn.Sequential(
            nn.AvgPool2d(config.head_pool), nn.Flatten(), nn.Linear(c * side * side, config.n_classes)
        )

    @property
    def hidden_shape(self) -> tuple[int, int, int]:
        return (self.config.channels, 14, 14)

    def forward(self, images: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits after running the blocks where ``mask`` (``(batch, n_blocks)``, 0/1) is 1 (all if None)."""
        hidden = self.stem(images)
        for i, block in enumerate(self.blocks):
            keep = 1.0 if mask is None else mask[:, i].view(-1, 1, 1, 1).to(hidden.dtype)
            hidden = hidden + keep * (block(hidden) - hidden)
        return self.head(hidden)

    def block_costs(self) -> list[int]:
        """FLOPs C_i of each block, counted from its layers."""
        return [count_flops(block, self.hidden_shape) for block in self.blocks]

    def stem_flops(self) -> int:
        return count_flops(self.stem, INPUT_SHAPE)

    def head_flops(self) -> int:
        return count_flops(self.head, self.hidden_shape)

    def full_flops(self) -> int:
        """FLOPs of the plain network with every block and one exit: the reference for savings."""
        return self.stem_flops() + sum(self.block_costs()) + self.head_flops()
