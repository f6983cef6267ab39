"""SCAL episodic memory: a bounded buffer of state representations, actions and rewards.

As in docs/scal_rl.md: reward-weighted consolidation into centroids and top-k
cosine retrieval (10,000 entries in under 10 ms; the memory stays under 1 GB). The entries are module
buffers, so they travel with the policy's ``save``/``load``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_BYTES = 1 << 30  # the spec's bound: under 1 GB


class EpisodicMemory(nn.Module):
    """Ring buffer of unit-norm keys with the action taken and the reward received.

    Args:
        capacity: entries kept (the oldest are overwritten).
        dim: size of one key (the perception's ``projection_dim``).
        n_centroids: centroids kept by :meth:`consolidate` (the ``centroids`` buffer).
    """

    def __init__(self, capacity: int = 10_000, dim: int = 64, n_centroids: int = 64) -> None:
        super().__init__()
        if capacity < 1 or dim < 1:
            raise ValueError(f"capacity={capacity} and dim={dim} must be >= 1")
        if self.bytes_needed(capacity, dim) > MAX_BYTES:
            raise ValueError(f"capacity={capacity} x dim={dim} needs more than 1 GB; lower capacity or dim")
        self.register_buffer("keys", torch.zeros(capacity, dim))
        self.register_buffer("actions", torch.zeros(capacity, dtype=torch.long))
        self.register_buffer("rewards", torch.zeros(capacity))
        self.register_buffer("position", torch.tensor(0))
        self.register_buffer("count", torch.tensor(0))
        self.register_buffer("centroids", torch.zeros(n_centroids, dim))

    @staticmethod
    def bytes_needed(capacity: int, dim: int) -> int:
        """Bytes of the buffers: float32 keys and rewards, int64 actions."""
        return capacity * (4 * dim + 8 + 4)

    @property
    def capacity(self) -> int:
        return int(self.keys.shape[0])

    def __len__(self) -> int:
        return int(self.count)

    @torch.no_grad()
    def add(self, keys: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor) -> None:
        """Store a batch (keys are normalised to unit length)."""
        n = keys.shape[0]
        if n > self.capacity:
            keys, actions, rewards, n = (
                keys[-self.capacity :],
                actions[-self.capacity :],
                rewards[-self.capacity :],
                self.capacity,
            )
        slots = (int(self.position) + torch.arange(n, device=self.keys.device)) % self.capacity
        self.keys[slots] = F.normalize(keys.float(), dim=-1)
        self.actions[slots] = actions.long().reshape(-1)
        self.rewards[slots] = rewards.float().reshape(-1)
        self.position.copy_((self.position + n) % self.capacity)
        self.count.copy_(torch.clamp(self.count + n, max=self.capacity))

    @torch.no_grad()
    def retrieve(self, queries: torch.Tensor, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` entries by cosine similarity: ``(similarities, indices)``, each ``(batch, k)``."""
        if len(self) == 0:
            raise ValueError("retrieve() on an empty memory: add() entries first")
        similarities = F.normalize(queries.float(), dim=-1) @ self.keys[: len(self)].T
        return similarities.topk(min(k, len(self)), dim=1)

    @torch.no_grad()
    def consolidate(self, centroids: torch.Tensor, n_iterations: int = 3) -> torch.Tensor:
        """Reward-weighted spherical k-means of the stored keys, started from ``centroids``.

        Each entry weighs ``softmax(reward)`` so rewarding states pull the centroids harder; a centroid
        that no entry picks restarts at a
        stored key drawn with the same weights. Returns the new unit-norm centroids, also kept in ``centroids``
        when their number matches.
        """
        if len(self) == 0:
            return centroids.clone()
        keys = self.keys[: len(self)]
        weights = torch.softmax(self.rewards[: len(self)], dim=0)
        centroids = F.normalize(centroids.clone(), dim=1)
        for _ in range(n_iterations):
            assignment = (keys @ centroids.T).argmax(dim=1)
            sums = torch.zeros_like(centroids).index_add_(0, assignment, keys * weights[:, None])
            used = sums.norm(dim=1) > 0
            centroids[used] = F.normalize(sums[used], dim=1)
        empty = torch.nonzero(~used).flatten()
        if empty.numel():  # a centroid no entry picked restarts at a stored key drawn by reward weight
            centroids[empty] = keys[torch.multinomial(weights, empty.numel(), replacement=True)]
        if centroids.shape == self.centroids.shape:
            self.centroids.copy_(centroids)
        return centroids
