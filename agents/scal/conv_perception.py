"""Convolutional SCAL perception for stacked binary frames (NoisyPong): patch prototypes at every position.

Whole-frame prototypes see an Atari frame as its static picture: the ball changes a few of hundreds of inputs.
Here the prototypes are small patches instead, compared by cosine similarity with the patch at every position of
a grid (a convolution with the unit prototypes as kernels, divided by each patch's norm). Each (prototype,
position) pair drives one LIF neuron over the stacked frames (each frame one time step); the neurons of a
prototype share its threshold, kept by homeostasis (the target rate over the positions that hold any on pixel)
and the phase-critical rule. The features are the spike rates and the last frame's membrane potentials, averaged
over ``pool_size x pool_size`` cells of the grid, so where each pattern is (the ball, the paddles) survives and
the contrast between the mean and the last frame carries how it moves.

Patch prototypes move by the SCAL rule toward the non-empty patches assigned to them (nearest by cosine), seeded
from patches of the first training batch; nothing in the spiking code is trained by gradients (an optional
convolutional head over the maps and an optional convolution of the pixels beside them are). Empty patches give
no current. For the SCAL policies' episodic memory and value statistics, :meth:`SCALConvPerception.represent`
averages the positive similarities over the frames and over a ``state_grid x state_grid`` grid, and state
prototypes in that space cluster the states (the rule of :class:`~agents.scal.plasticity.SCALPlasticity`).
"""

from __future__ import annotations

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch import nn

from agents.scal.frames import image_stack_shape
from agents.scal.plasticity import SCALPlasticity, check_flags, move_toward_assigned
from spiking.soft_reset_lif import SoftResetLIFParameters, SoftResetLIFState, soft_reset_lif_step

__all__ = ["SCALConvPerception"]


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} must be an integer in [{low}, {high}]")
    return value


def _conv_head(in_channels: int, channels: tuple[int, ...] | list[int]) -> nn.Sequential:
    """Trainable 3x3 convolutions with ReLU (the first with stride 2) over the spike maps, then flatten."""
    if not isinstance(channels, (list, tuple)) or any(isinstance(width, bool) or not isinstance(width, int) or width < 1 for width in channels):
        raise ValueError(f"head_channels={channels!r} must be positive integers (empty: no head)")
    layers: list[nn.Module] = []
    for index, width in enumerate(channels):
        layers += [nn.Conv2d(in_channels, width, 3, stride=2 if index == 0 else 1), nn.ReLU()]
        in_channels = width
    return nn.Sequential(*layers, nn.Flatten())


def _pixel_conv(n_frames: int, channels: int, patch_size: int, stride: int) -> nn.Sequential | None:
    """A trainable convolution of the stacked frames whose outputs sit on the patch grid (None for 0 channels)."""
    if channels == 0:
        return None
    margin = patch_size // 2
    return nn.Sequential(nn.Conv2d(n_frames, channels, patch_size + 2 * margin, stride=stride, padding=margin), nn.ReLU())


class SCALConvPerception(SCALPlasticity):
    """Spiking perception of stacked binary frames by patch prototypes compared at every grid position.

    Args:
        observation_space: a channels-first ``uint8`` image Box ``(n_frames, H, W)``; each channel is one stacked
            frame and one LIF time step (pixels > 0 are on).
        patch_size: side of the square patches (and prototypes).
        stride: step between patches (default: ``patch_size``, no overlap).
        n_patch_prototypes: patch prototypes, each one LIF neuron per grid position.
        pool_size: grid cells averaged into one feature (1: every position).
        min_patch_pixels: on pixels a patch needs to drive the neurons and move a prototype.
        n_prototypes: state prototypes of the memory and value statistics.
        state_grid: side of the grid the state representation averages the similarity maps into.
        max_adapt_batch: observations of a training batch the adaptation looks at (the first ones; a PPO
            minibatch of 256 costs the rule 8x what the features cost, and its statistics need far fewer).
        frame_spikes: output the spikes of every frame instead of their rate (the order of the frames, so the
            direction of motion, is kept; ``(n_frames + 1) x`` instead of ``2 x`` maps per prototype).
        head_channels: a trainable convolutional head over the pooled maps (3x3 kernels, ReLU, the first with
            stride 2), e.g. ``[32, 64]``; empty: the flattened maps are the features.
        pixel_maps: add each frame's fraction of on pixels per patch to the maps (``n_frames`` more channels: the
            input beside the spikes, as a skip connection from the retina).
        pixel_channels: channels of a trainable convolution of the stacked frames (ReLU) added to the maps: kernel
            ``patch_size + 2 * (patch_size // 2)`` (8 for 4x4 patches, the NatureCNN's first layer) centred on
            each grid position; 0: none. It is the one part trained by gradients before the head.
        spike_features: pass the spike maps to the head (``False`` with ``pixel_channels``: the head sees only
            the trainable convolution; the spiking code still runs for the state prototypes and adapts).
        gain, decay, target_rate, homeostasis_rate, gamma_th, threshold_bounds, prototype_lr,
            plasticity_half_life, surrogate_slope: as in :class:`~agents.scal.perception.SCALPerception`.

    Example:
        >>> import numpy as np
        >>> space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
        >>> perception = SCALConvPerception(space, patch_size=4, n_patch_prototypes=8, pool_size=3)
        >>> perception.grid, perception.pooled_grid, perception.features_dim
        ((21, 21), (7, 7), 784)
        >>> perception(torch.zeros(2, 4, 84, 84)).shape
        torch.Size([2, 784])
    """

    def __init__(
        self,
        observation_space: gym.Space,
        patch_size: int = 4,
        stride: int | None = None,
        n_patch_prototypes: int = 16,
        pool_size: int = 2,
        min_patch_pixels: int = 1,
        n_prototypes: int = 32,
        state_grid: int = 4,
        max_adapt_batch: int = 32,
        frame_spikes: bool = False,
        head_channels: tuple[int, ...] | list[int] = (),
        pixel_maps: bool = False,
        pixel_channels: int = 0,
        spike_features: bool = True,
        gain: float = 5.0,
        decay: float = 0.6,
        target_rate: float = 0.125,
        homeostasis_rate: float = 0.01,
        gamma_th: float = 0.01,
        threshold_bounds: tuple[float, float] = (0.05, 5.0),
        prototype_lr: float = 0.005,
        plasticity_half_life: float | None = None,
        surrogate_slope: float = 5.0,
    ) -> None:
        n_frames, height, width = image_stack_shape(observation_space)
        patch_size = _check_int("patch_size", patch_size, 1, min(height, width))
        stride = _check_int("stride", patch_size if stride is None else stride, 1, patch_size)
        grid = ((height - patch_size) // stride + 1, (width - patch_size) // stride + 1)
        _check_int("n_patch_prototypes", n_patch_prototypes, 1, 4096)
        _check_int("pool_size", pool_size, 1, min(grid))
        _check_int("min_patch_pixels", min_patch_pixels, 1, patch_size * patch_size)
        _check_int("n_prototypes", n_prototypes, 1, 1_000_000)
        _check_int("state_grid", state_grid, 1, min(grid))
        _check_int("max_adapt_batch", max_adapt_batch, 1, 1_000_000)
        pooled_grid = tuple(-(-side // pool_size) for side in grid)
        patch_prototypes = F.normalize(torch.rand(n_patch_prototypes, patch_size * patch_size), dim=1)
        state_prototypes = F.normalize(torch.rand(n_prototypes, n_patch_prototypes * state_grid**2), dim=1)
        check_flags(frame_spikes=frame_spikes, pixel_maps=pixel_maps, spike_features=spike_features)
        pixel_conv = _pixel_conv(n_frames, _check_int("pixel_channels", pixel_channels, 0, 4096), patch_size, stride)
        if not spike_features and pixel_conv is None:
            raise ValueError("spike_features=False needs pixel_channels > 0 (the head would see nothing)")
        n_spike_maps = (n_frames + 1 if frame_spikes else 2) * n_patch_prototypes if spike_features else 0
        n_maps = n_spike_maps + (n_frames if pixel_maps else 0) + pixel_channels
        head = _conv_head(n_maps, head_channels)
        try:
            with torch.no_grad():
                features_dim = int(head(torch.zeros(1, n_maps, *pooled_grid)).shape[1])
        except RuntimeError as error:
            raise ValueError(f"head_channels={head_channels!r} shrink the {pooled_grid} maps below a 3x3 kernel") from error
        super().__init__(observation_space, features_dim, state_prototypes, n_patch_prototypes, gain, decay, surrogate_slope,
                         target_rate, homeostasis_rate, gamma_th, threshold_bounds, prototype_lr, plasticity_half_life)
        self.n_frames, self.patch_size, self.stride = n_frames, patch_size, stride
        self.grid, self.pooled_grid, self.pool_size = grid, pooled_grid, pool_size
        self.min_patch_pixels, self.state_grid, self.max_adapt_batch = min_patch_pixels, state_grid, max_adapt_batch
        self.frame_spikes, self.pixel_maps, self.spike_features = frame_spikes, pixel_maps, spike_features
        self.pixel_conv, self.head = pixel_conv, head
        self.register_buffer("running_patch_prototypes", patch_prototypes)
        self.register_buffer("running_patch_drift", torch.tensor(0.0))

    @property
    def n_patch_prototypes(self) -> int:
        return int(self.running_patch_prototypes.shape[0])

    def _frames(self, observations: torch.Tensor) -> torch.Tensor:
        """Each stacked frame as a one-channel bit image: ``(batch * frames, 1, H, W)``."""
        return (observations > 0).float().reshape(-1, 1, *observations.shape[-2:])

    def patch_similarities(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cosine similarity of every patch to every prototype, ``(batch, frames, prototypes, gh, gw)`` (0 where a
        patch has fewer than ``min_patch_pixels`` on pixels), and which patches are that full, ``(batch, frames,
        gh, gw)``."""
        frames = self._frames(observations)
        kernels = F.normalize(self.running_patch_prototypes, dim=1).view(-1, 1, self.patch_size, self.patch_size)
        dots = F.conv2d(frames, kernels, stride=self.stride)
        on_pixels = F.avg_pool2d(frames, self.patch_size, stride=self.stride) * self.patch_size**2  # = |patch|^2
        full = on_pixels >= self.min_patch_pixels - 0.5
        similarities = dots / on_pixels.clamp(min=1.0).sqrt() * full
        batch = observations.shape[0]
        return similarities.view(batch, self.n_frames, -1, *self.grid), full.view(batch, self.n_frames, *self.grid)

    def state_features(self, similarities: torch.Tensor) -> torch.Tensor:
        """Positive similarities averaged over the frames and into a ``state_grid`` grid, unit norm."""
        maps = similarities.clamp(min=0.0).mean(dim=1)
        return F.normalize(F.adaptive_avg_pool2d(maps, self.state_grid).flatten(1), dim=-1)

    @torch.no_grad()
    def represent(self, observations: torch.Tensor) -> torch.Tensor:
        return self.state_features(self.patch_similarities(observations)[0])

    def _pooled(self, maps: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(maps, self.pool_size, ceil_mode=True)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            maps = self.spiking_maps(observations)
        if self.pixel_conv is not None:
            frames = self._frames(observations).view(-1, self.n_frames, *observations.shape[-2:])
            maps = torch.cat([maps, self._pooled(self.pixel_conv(frames))], dim=1)
        return self.head(maps)

    def spiking_maps(self, observations: torch.Tensor) -> torch.Tensor:
        """The pooled spike maps ``(batch, channels, pooled_h, pooled_w)`` (adapting the perception in training
        mode): per prototype the spike rate (or, with ``frame_spikes``, the spikes of each frame) and the last
        frame's membrane potential over ``gain``; with ``pixel_maps``, then each frame's on-pixel fractions."""
        if self.training and self.running_adaptations == 0:
            self.seed_patch_prototypes(observations[: self.max_adapt_batch])
        maps: list[torch.Tensor] = []
        if self.spike_features or self.training:  # without spike features the code runs only to adapt
            n = self.max_adapt_batch
            coded = observations if self.spike_features else observations[:n]  # adapting needs only the first n
            similarities, full = self.patch_similarities(coded)
            spikes, last = self.spike_maps(similarities)
            rates = spikes.mean(dim=1)
            if self.training:
                self._adapt(coded[:n], similarities[:n], full[:n], rates[:n])
            if self.spike_features:
                maps += [spikes.flatten(1, 2) if self.frame_spikes else rates, last / self.gain]
        if self.pixel_maps:
            maps.append(self.on_pixel_fractions(observations))
        if not maps:
            return torch.zeros(observations.shape[0], 0, *self.pooled_grid, device=observations.device)
        return self._pooled(torch.cat(maps, dim=1))

    def on_pixel_fractions(self, observations: torch.Tensor) -> torch.Tensor:
        """Each frame's fraction of on pixels in the patch at every position, ``(batch, frames, gh, gw)``."""
        fractions = F.avg_pool2d(self._frames(observations), self.patch_size, stride=self.stride)
        return fractions.view(observations.shape[0], self.n_frames, *self.grid)

    def spike_maps(self, similarities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the LIF neurons over the frames: the spikes of every frame ``(batch, frames, prototypes, gh, gw)``
        and the last frame's membrane potentials (before its reset) ``(batch, prototypes, gh, gw)``."""
        batch, n_frames, n_prototypes = similarities.shape[:3]
        currents = self.gain * similarities.flatten(2)  # (batch, frames, prototypes * positions)
        thresholds = self.running_thresholds.repeat_interleave(currents.shape[-1] // n_prototypes)
        params = SoftResetLIFParameters(self.decay, thresholds, self.slope)
        state = SoftResetLIFState(v=torch.zeros_like(currents[:, 0]))
        spikes = []
        for t in range(n_frames):
            spiked, state = soft_reset_lif_step(currents[:, t], state, params)
            spikes.append(spiked)
        last_potential = state.v + spiked * thresholds
        shape = (batch, n_prototypes, *self.grid)
        return torch.stack(spikes, dim=1).view(batch, n_frames, *shape[1:]), last_potential.view(shape)

    def patches(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every patch as a row ``(batch * frames * positions, patch_size**2)`` and whether it is full enough."""
        frames = self._frames(observations)
        rows = F.unfold(frames, self.patch_size, stride=self.stride).transpose(1, 2).reshape(-1, self.patch_size**2)
        return rows, rows.sum(dim=1) >= self.min_patch_pixels

    def seed_patch_prototypes(self, observations: torch.Tensor) -> None:
        """Start the patch prototypes at distinct full patches of the first training batch (where there are
        enough of them; otherwise they keep their random start)."""
        rows, full = self.patches(observations)
        distinct = torch.unique(rows[full], dim=0)
        if distinct.shape[0] >= self.n_patch_prototypes:
            chosen = distinct[torch.randperm(distinct.shape[0])[: self.n_patch_prototypes]]
            self.running_patch_prototypes.copy_(F.normalize(chosen, dim=1))

    def _adapt(
        self, observations: torch.Tensor, similarities: torch.Tensor, full: torch.Tensor, rates: torch.Tensor
    ) -> None:
        """SCAL rule on the patch and state prototypes, homeostasis and phase-critical thresholds."""
        rows, row_full = self.patches(observations)
        assignment = similarities.permute(0, 1, 3, 4, 2).reshape(rows.shape[0], -1).argmax(dim=1)
        if bool(row_full.any()):
            rate = self.prototype_lr * self.plasticity
            features = F.normalize(rows[row_full], dim=1)
            _, drift = move_toward_assigned(self.running_patch_prototypes, features, assignment[row_full], rate)
            self.running_patch_drift.copy_(drift)
        self.update_prototypes(self.state_features(similarities))
        # rates and current variances over the positions that hold a pattern (in any frame, for the rates)
        mask = full.unsqueeze(2).float()
        n_full = mask.sum(dim=(0, 1, 3, 4)).clamp(min=1.0)
        anywhere = mask.amax(dim=1)
        prototype_rates = (rates * anywhere).sum(dim=(0, 2, 3)) / anywhere.sum(dim=(0, 2, 3)).clamp(min=1.0)
        mean = (similarities * mask).sum(dim=(0, 1, 3, 4)) / n_full
        variance = ((similarities - mean.view(1, 1, -1, 1, 1)) ** 2 * mask).sum(dim=(0, 1, 3, 4)) / n_full
        self.update_thresholds(prototype_rates, variance)
        self.running_adaptations.add_(1.0)
