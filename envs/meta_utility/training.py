"""Reproducible backbone training and its cache (``backbone.pt`` + ``backbone.json`` in this package).

Training: Adam on the ``backbone`` split; each sample drops each block independently with
probability ``drop_prob`` and the cross-entropy is averaged over every depth (the shared exit head
after the stem and after each block), so every subset of blocks gives a usable prediction. One
thread and fixed seeds make it reproducible; it takes one to two minutes on one CPU core. The committed
cache is used when its recipe matches; otherwise the backbone is rebuilt once and saved.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from envs.meta_utility.backbone import Backbone, BackboneConfig
from envs.meta_utility.data import SPLITS, load_split

CACHE_DIR = Path(__file__).parent
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingRecipe:
    """Everything that determines the trained weights."""

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    seed: int = 0
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 3e-3
    drop_prob: float = 0.5

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_RECIPE = TrainingRecipe()


def _depth_losses(model: Backbone, images: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the exit head after the stem and after each (possibly skipped) block."""
    loss_fn = nn.CrossEntropyLoss()
    hidden = model.stem(images)
    loss = loss_fn(model.head(hidden), labels)
    for i, block in enumerate(model.blocks):
        keep = mask[:, i].view(-1, 1, 1, 1)
        hidden = hidden + keep * (block(hidden) - hidden)
        loss = loss + loss_fn(model.head(hidden), labels)
    return loss / (len(model.blocks) + 1)


def train_backbone(recipe: TrainingRecipe = DEFAULT_RECIPE) -> Backbone:
    """Train a backbone from scratch, deterministically for a given ``recipe``."""
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = Backbone(recipe.backbone)
    images, labels = (torch.from_numpy(a) for a in load_split("backbone"))
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs)
    n_blocks = recipe.backbone.n_blocks
    for _ in range(recipe.epochs):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(labels), recipe.batch_size):
            batch = order[start : start + recipe.batch_size]
            mask = (torch.rand(len(batch), n_blocks, generator=generator) >= recipe.drop_prob).float()
            optimizer.zero_grad()
            _depth_losses(model, images[batch], labels[batch], mask).backward()
            optimizer.step()
        schedule.step()
    return model.eval()


def full_model_accuracy(model: Backbone, split: str) -> float:
    """Accuracy of the model with every block on one split."""
    images, labels = load_split(split)
    with torch.no_grad():
        predictions = model(torch.from_numpy(images)).argmax(dim=1).numpy()
    return float(np.mean(predictions == labels))


def save_backbone(model: Backbone, recipe: TrainingRecipe, directory: Path = CACHE_DIR) -> dict:
    """Write the weights and a record of the recipe, costs and full-model accuracy per split."""
    torch.save(model.state_dict(), directory / "backbone.pt")
    record = {
        "recipe": recipe.as_dict(),
        "block_flops": model.block_costs(),
        "stem_flops": model.stem_flops(),
        "head_flops": model.head_flops(),
        "full_flops": model.full_flops(),
        "accuracy": {split: full_model_accuracy(model, split) for split in SPLITS},
    }
    (directory / "backbone.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def read_record(directory: Path = CACHE_DIR) -> dict | None:
    """The cached record, or None when there is no cache."""
    path = directory / "backbone.json"
    return json.loads(path.read_text()) if path.exists() and (directory / "backbone.pt").exists() else None


@lru_cache(maxsize=4)
def load_backbone(recipe: TrainingRecipe = DEFAULT_RECIPE, directory: Path = CACHE_DIR) -> Backbone:
    """The trained backbone for ``recipe``: from the cache when it matches, else trained and cached."""
    record = read_record(directory)
    model = Backbone(recipe.backbone)
    if record is not None and record["recipe"] == recipe.as_dict():
        model.load_state_dict(torch.load(directory / "backbone.pt", weights_only=True))
        return model.eval()
    logger.warning(
        "MetaUtility: no cached backbone for this recipe in %s; training one (1-2 minutes on one core)", directory
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = train_backbone(recipe)
    finally:
        torch.set_num_threads(threads)
    save_backbone(model, recipe, directory)
    return model
