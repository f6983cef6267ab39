"""Spike histories of length K for every neuron of every layer (a ring buffer per layer)."""

from __future__ import annotations

import torch


class SpikeHistory:
    """The last ``k`` steps of spikes of each layer, and the spike counts since the last ``clear``.

    Args:
        sizes: number of neurons per layer name.
        k: history length K.

    Example:
        >>> h = SpikeHistory({"a": 2}, k=3)
        >>> h.push({"a": torch.tensor([1.0, 0.0])}); h.push({"a": torch.tensor([0.0, 1.0])})
        >>> h.window("a", torch.tensor([0, 1])).tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """

    def __init__(self, sizes: dict[str, int], k: int) -> None:
        self.k = k
        self.buffers = {name: torch.zeros(n, k) for name, n in sizes.items()}
        self.counts = {name: torch.zeros(n) for name, n in sizes.items()}
        self.position = 0  # column that receives the next push
        self.steps = 0

    def clear(self) -> None:
        """Forget all spikes (a new image)."""
        for name in self.buffers:
            self.buffers[name].zero_()
            self.counts[name].zero_()
        self.position, self.steps = 0, 0

    def push(self, spikes: dict[str, torch.Tensor]) -> None:
        """Record one step of spikes for every layer."""
        for name, s in spikes.items():
            self.buffers[name][:, self.position] = s
            self.counts[name] += s
        self.position = (self.position + 1) % self.k
        self.steps += 1

    def window(self, layer: str, neurons: torch.Tensor) -> torch.Tensor:
        """``(len(neurons), K)`` histories, oldest step first, the current step last."""
        order = (self.position + torch.arange(self.k)) % self.k
        return self.buffers[layer][neurons][:, order]

    def latest(self, layer: str) -> torch.Tensor:
        """Spikes of ``layer`` at the most recent step."""
        return self.buffers[layer][:, (self.position - 1) % self.k]
