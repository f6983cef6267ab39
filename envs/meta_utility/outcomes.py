"""Predictions of the backbone for every subset of blocks, precomputed once per data split.

The sequential decisions form a binary tree: node 0 is the stem's output and node ``j`` at depth
``i`` has children ``2j + 1`` (block i skipped: same hidden state) and ``2j + 2`` (block i run).
Each node stores the exit head's class probabilities, so an episode is a walk down the tree and a
step is a table lookup. Only the ``2^K − 1`` "run" children need a block evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from envs.meta_utility.backbone import Backbone
from envs.meta_utility.data import load_split
from envs.meta_utility.training import DEFAULT_RECIPE, TrainingRecipe, load_backbone

CHUNK = 250  # images per batch: bounds the memory of the widest tree level


def child(node: int, run: int) -> int:
    """The tree node reached from ``node`` by skipping (``run=0``) or running (``run=1``) the next block."""
    return 2 * node + 1 + run


def n_nodes(n_blocks: int) -> int:
    return 2 ** (n_blocks + 1) - 1


@dataclass(frozen=True)
class SplitOutcomes:
    """Probabilities ``(N, n_nodes, n_classes)`` (float32) and labels ``(N,)`` of one split."""

    probabilities: np.ndarray
    labels: np.ndarray


def tree_probabilities(model: Backbone, images: torch.Tensor) -> np.ndarray:
    """Exit-head probabilities at every tree node for a batch of images: ``(N, n_nodes, n_classes)``."""
    n_blocks = len(model.blocks)
    out = np.empty((len(images), n_nodes(n_blocks), model.config.n_classes), dtype=np.float32)
    with torch.no_grad():
        level = {0: model.stem(images)}
        out[:, 0] = torch.softmax(model.head(level[0]), dim=1).numpy()
        for block in model.blocks:
            next_level = {}
            for node, hidden in level.items():
                next_level[child(node, 0)] = hidden
                next_level[child(node, 1)] = ran = block(hidden)
                out[:, child(node, 0)] = out[:, node]
                out[:, child(node, 1)] = torch.softmax(model.head(ran), dim=1).numpy()
            level = next_level
    return out


@lru_cache(maxsize=8)
def split_outcomes(split: str, recipe: TrainingRecipe = DEFAULT_RECIPE) -> SplitOutcomes:
    """The outcome table of ``split`` for the backbone of ``recipe`` (computed once per process)."""
    model = load_backbone(recipe)
    images, labels = load_split(split)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        chunks = [
            tree_probabilities(model, torch.from_numpy(images[i : i + CHUNK])) for i in range(0, len(images), CHUNK)
        ]
    finally:
        torch.set_num_threads(threads)
    probabilities = np.concatenate(chunks)
    probabilities.setflags(write=False)
    labels.setflags(write=False)
    return SplitOutcomes(probabilities, labels)
