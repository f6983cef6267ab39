"""Metrics: Diehl–Cook label assignment accuracy, and agreement of Δw with −g."""

from __future__ import annotations

from collections import deque

import numpy as np
import torch


class LabelAssignment:
    """Diehl–Cook's readout: each neuron takes the label it responded to most (mean spikes per image of
    that label) over the last ``window`` images; an image is classified as the label whose neurons have
    the highest mean response.

    Example:
        >>> a = LabelAssignment(n_neurons=2, window=10)
        >>> a.add(np.array([3.0, 0.0]), 0); a.add(np.array([0.0, 2.0]), 1)
        >>> a.predict(np.array([0.0, 5.0]))
        1
    """

    def __init__(self, n_neurons: int, window: int) -> None:
        self.n_neurons = n_neurons
        self.records: deque[tuple[np.ndarray, int]] = deque(maxlen=window)

    def add(self, counts: np.ndarray, label: int) -> None:
        self.records.append((np.asarray(counts, dtype=np.float64), int(label)))

    def assignments(self) -> np.ndarray:
        """Label of each neuron (−1 for a neuron that never spiked)."""
        totals, seen = np.zeros((10, self.n_neurons)), np.zeros(10)
        for counts, label in self.records:
            totals[label] += counts
            seen[label] += 1
        means = totals / np.maximum(seen, 1)[:, None]
        labels = means.argmax(0)
        labels[means.max(0) == 0] = -1
        return labels

    def predict(self, counts: np.ndarray, assignments: np.ndarray | None = None) -> int:
        """The label whose assigned neurons respond most to ``counts`` (−1 when nothing is assigned)."""
        assignments = self.assignments() if assignments is None else assignments
        scores = [counts[assignments == k].mean() if (assignments == k).any() else -np.inf for k in range(10)]
        return int(np.argmax(scores)) if np.isfinite(max(scores)) else -1


def sign_agreement(delta_w: torch.Tensor, g: torch.Tensor) -> float:
    """Share of events with ``g ≠ 0`` where ``sign(Δw) = sign(−g)`` (NaN when there are none)."""
    informative = g != 0
    if not informative.any():
        return float("nan")
    return float((torch.sign(delta_w[informative]) == torch.sign(-g[informative])).float().mean())


def cosine(delta_w: torch.Tensor, g: torch.Tensor) -> float:
    """Cosine similarity of ``Δw`` with ``−g`` (NaN when either is zero)."""
    norm = float(delta_w.norm() * g.norm())
    return float(-(delta_w * g).sum()) / norm if norm > 0 else float("nan")
