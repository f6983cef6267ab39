"""Per-group prototypes: SCAL centroids of each slice of the pooled frame (one encoded variable each).

A code that spreads one variable over many neighbouring bits (NoisyCartPole's thermometer: bits below the
level on, the others off) is decoded best from that variable's own slice. Under independent bit flips the
correlation of a noisy slice with the template of a level is, up to constants, that level's log-likelihood,
so the best-matching template is the maximum-likelihood level and the similarities to all templates carry its
posterior. A joint projection of the whole frame or a linear principal subspace keeps little more than the
slice's mean, whose noise is several times larger. Prototypes moved by the SCAL rule toward the slices
assigned to them become such templates: centroids of the slices whose levels fall near them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GroupPrototypes(nn.Module):
    """``n_prototypes`` prototypes for each of ``n_groups`` equal slices of an ``n_inputs`` vector.

    Args:
        n_inputs: size of the pooled frame; a multiple of ``n_groups``.
        n_groups: slices (e.g. the encoded variables, when each occupies a contiguous equal slice).
        n_prototypes: prototypes per slice, one neuron each.

    The prototypes (``running_prototypes``, ``(n_groups, n_prototypes, n_inputs // n_groups)``) start as
    evenly spaced inputs of the first batch they adapt to, then follow the SCAL rule.
    """

    def __init__(self, n_inputs: int, n_groups: int, n_prototypes: int) -> None:
        super().__init__()
        if n_groups < 1 or n_prototypes < 1:
            raise ValueError(f"n_groups={n_groups!r} and group_prototypes={n_prototypes!r} must be >= 1")
        if n_inputs % n_groups:
            raise ValueError(
                f"n_groups={n_groups} must divide the pooled frame size {n_inputs}; allowed: "
                f"{[d for d in range(1, n_inputs + 1) if n_inputs % d == 0]}"
            )
        self.n_groups, self.group_size, self.n_prototypes = n_groups, n_inputs // n_groups, n_prototypes
        prototypes = F.normalize(torch.randn(n_groups, n_prototypes, self.group_size), dim=-1)
        self.register_buffer("running_prototypes", prototypes)
        self.register_buffer("running_initialised", torch.tensor(False))

    @property
    def n_neurons(self) -> int:
        return self.n_groups * self.n_prototypes

    def _slices(self, pooled: torch.Tensor) -> torch.Tensor:
        """``(..., n_inputs)`` -> unit-norm slices ``(..., n_groups, group_size)``."""
        return F.normalize(pooled.unflatten(-1, (self.n_groups, self.group_size)), dim=-1)

    def similarities(self, pooled: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of each slice to its group's prototypes, ``(..., n_groups * n_prototypes)``."""
        prototypes = self.running_prototypes.clone()  # a copy: the in-place SCAL update stays legal
        return torch.einsum("...gs,gps->...gp", self._slices(pooled), prototypes).flatten(-2)

    def soft_assignments(self, pooled: torch.Tensor, gain: float) -> torch.Tensor:
        """Soft winner-take-all within each group, ``softmax(gain * similarities)``: ``(..., n_groups * n_prototypes)``.

        With template-like prototypes this is the posterior over each slice's level; unlike the similarities
        themselves (linear in the input), it localises the level, so a few frames of it combine into a much
        better estimate than the same frames' linear read-out.
        """
        similarities = self.similarities(pooled).unflatten(-1, (self.n_groups, self.n_prototypes))
        return torch.softmax(gain * similarities, dim=-1).flatten(-2)

    @torch.no_grad()
    def update(self, pooled: torch.Tensor, rate: float) -> None:
        """SCAL rule on a batch ``(batch, n_inputs)``: each prototype moves by ``rate`` toward the mean of the
        slices assigned to it (nearest by cosine); the first call places them on evenly spaced inputs."""
        slices = self._slices(pooled)
        if not self.running_initialised:
            picks = torch.linspace(0, slices.shape[0] - 1, self.n_prototypes).round().long()
            self.running_prototypes.copy_(slices[picks].transpose(0, 1))
            self.running_initialised.fill_(True)
            return
        assignment = torch.einsum("bgs,gps->bgp", slices, self.running_prototypes).argmax(dim=-1)
        members = F.one_hot(assignment, self.n_prototypes).to(slices.dtype)  # (batch, groups, prototypes)
        counts = members.sum(dim=0)
        means = torch.einsum("bgp,bgs->gps", members, slices) / counts.clamp(min=1.0)[..., None]
        old = self.running_prototypes
        moved = F.normalize(old + rate * (means - old), dim=-1)
        self.running_prototypes.copy_(torch.where((counts > 0)[..., None], moved, old))
