"""MetaUtility backbone: FLOP counting against hand counts, the data split, and the cached weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from envs.meta_utility.backbone import Backbone, BackboneConfig, ResidualBlock
from envs.meta_utility.data import SPLIT_SIZES, load_split
from envs.meta_utility.flops import count_flops
from envs.meta_utility.training import (
    TrainingRecipe,
    full_model_accuracy,
    load_backbone,
    read_record,
    save_backbone,
    train_backbone,
)


def test_flops_of_a_small_residual_block_match_a_hand_count():
    # two 3×3 convolutions 2→2 on 4×4 with bias, a ReLU between them, a residual addition:
    # conv: 32 outputs × (2·2·9 multiply-adds ×2 + 1 bias) = 32 × 37 = 1184; ReLU: 32; add: 32
    assert count_flops(ResidualBlock(2), (2, 4, 4)) == 2 * 1184 + 32 + 32


def test_flops_of_linear_pool_and_strided_conv_match_hand_counts():
    assert count_flops(nn.Linear(5, 3, bias=False), (5,)) == 3 * 10
    assert count_flops(nn.AvgPool2d(2), (1, 4, 4)) == 16 + 4
    # stride 2: 3 channels × 2×2 outputs, each 1·3·3 multiply-adds ×2 + 1 bias
    assert count_flops(nn.Conv2d(1, 3, 3, stride=2, padding=1), (1, 4, 4)) == 12 * 19


def test_an_unknown_layer_with_parameters_is_refused():
    with pytest.raises(ValueError, match="no FLOP counter for layer BatchNorm2d"):
        count_flops(nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1)), (1, 2, 2))


def test_backbone_costs_add_up():
    model = Backbone(BackboneConfig())
    costs = model.block_costs()
    assert len(costs) == 6 and len(set(costs)) == 1
    assert model.full_flops() == model.stem_flops() + sum(costs) + model.head_flops()
    assert sum(costs) > 0.9 * model.full_flops()  # the blocks are where the compute is


def test_splits_are_disjoint_fixed_and_balanced():
    parts = {name: load_split(name) for name in SPLIT_SIZES}
    assert {name: len(labels) for name, (_, labels) in parts.items()} == SPLIT_SIZES
    rows = [set(map(bytes, images.reshape(len(images), -1))) for images, _ in parts.values()]
    assert sum(len(r) for r in rows) == len(set().union(*rows))  # no image in two splits
    np.testing.assert_array_equal(load_split("test")[1], parts["test"][1])
    assert np.bincount(parts["test"][1], minlength=10).min() > 70
    assert 0.0 <= parts["test"][0].min() and parts["test"][0].max() <= 1.0


def test_cached_backbone_loads_and_matches_its_recorded_accuracy():
    record = read_record()
    assert record is not None, "the committed cache envs/meta_utility/backbone.pt/.json is missing"
    assert record["recipe"] == TrainingRecipe().as_dict()
    model = load_backbone()
    for split, accuracy in record["accuracy"].items():
        assert full_model_accuracy(model, split) == pytest.approx(accuracy, abs=1e-9)
    assert record["accuracy"]["test"] > 0.9
    assert record["full_flops"] == model.full_flops()


def test_training_is_reproducible_and_the_cache_round_trips(tmp_path):
    recipe = TrainingRecipe(backbone=BackboneConfig(channels=8, n_blocks=2), epochs=2, batch_size=32)
    torch.set_num_threads(1)
    first, second = train_backbone(recipe), train_backbone(recipe)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    record = save_backbone(first, recipe, tmp_path)
    loaded = load_backbone(recipe, tmp_path)
    assert full_model_accuracy(loaded, "test") == record["accuracy"]["test"]
    assert record["accuracy"]["test"] > 0.3  # two epochs of a small net: far above chance (0.1)
