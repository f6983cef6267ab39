"""The convolutional SCAL perception: where a pattern is, how it moves, the SCAL rule on patches, its errors."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from agents.hyperparams import resolve_hyperparams
from agents.registry import load_agent
from agents.scal.conv_perception import SCALConvPerception
from train.config import _conf_file_entry
from train.run import main

SPACE = gym.spaces.Box(0, 255, (4, 32, 32), np.uint8)


def perception(**kwargs) -> SCALConvPerception:
    torch.manual_seed(0)
    return SCALConvPerception(SPACE, **{"patch_size": 4, "n_patch_prototypes": 4, "pool_size": 1, **kwargs})


def frames_with_blob(positions: list[tuple[int, int]]) -> torch.Tensor:
    """One observation of 4 frames, a 2x2 blob at ``positions[t]`` (top-left pixel) in frame ``t``."""
    frames = torch.zeros(1, 4, 32, 32, dtype=torch.uint8)
    for t, (row, col) in enumerate(positions):
        frames[0, t, row : row + 2, col : col + 2] = 255
    return frames


def maps(module: SCALConvPerception, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Spike-rate and last-potential maps, ``(prototypes, gh, gw)`` each, of one observation."""
    rates, last = module(observations).view(2, module.n_patch_prototypes, *module.pooled_grid)
    return rates, last


def test_a_blob_drives_the_units_at_its_position_only():
    module = perception().eval()
    for row, col in [(4, 4), (20, 12)]:
        rates, _ = maps(module, frames_with_blob([(row, col)] * 4))
        active = torch.nonzero(rates.sum(dim=0))
        assert active.tolist() == [[row // 4, col // 4]]
        assert rates.max() > 0


def test_overlapping_patches_see_a_blob_from_every_window_that_holds_it():
    module = perception(patch_size=8, stride=4).eval()
    assert module.grid == (7, 7)
    rates, _ = maps(module, frames_with_blob([(10, 18)] * 4))  # rows 10-11, columns 18-19
    active = torch.nonzero(rates.sum(dim=0)).tolist()
    assert active == [[1, 3], [1, 4], [2, 3], [2, 4]]  # windows [4i, 4i + 8) holding rows 10-11, columns 18-19


def test_empty_frames_give_no_current_and_no_spikes():
    features = perception().eval()(torch.zeros(3, 4, 32, 32, dtype=torch.uint8))
    assert torch.count_nonzero(features) == 0


def test_the_last_potential_tells_the_direction_of_motion():
    module = perception().eval()
    rightward = frames_with_blob([(8, 4), (8, 8), (8, 12), (8, 16)])
    leftward = frames_with_blob([(8, 16), (8, 12), (8, 8), (8, 4)])
    rates_right, last_right = maps(module, rightward)
    rates_left, last_left = maps(module, leftward)
    assert torch.equal(rates_right.sum(dim=0) > 0, rates_left.sum(dim=0) > 0)  # the same cells are visited
    assert last_right[:, 2, 4].sum() > last_right[:, 2, 1].sum()  # the blob ends on the right
    assert last_left[:, 2, 1].sum() > last_left[:, 2, 4].sum()


def test_frame_spikes_keep_the_order_of_the_frames():
    module = perception(frame_spikes=True).eval()
    rightward = module(frames_with_blob([(8, 4), (8, 8), (8, 12), (8, 16)])).view(5, 4, 8, 8)
    leftward = module(frames_with_blob([(8, 16), (8, 12), (8, 8), (8, 4)])).view(5, 4, 8, 8)
    assert module.features_dim == 5 * 4 * 8 * 8
    for maps, columns in [(rightward, [1, 2, 3, 4]), (leftward, [4, 3, 2, 1])]:
        spiking_frames = [frame for frame in range(4) if maps[frame].sum() > 0]
        assert len(spiking_frames) >= 2
        for frame in spiking_frames:  # each frame's spikes sit where the blob was in that frame
            assert torch.nonzero(maps[frame].sum(dim=0)).tolist() == [[2, columns[frame]]]


def test_pixel_maps_add_each_frames_on_pixel_fractions_after_the_spike_maps():
    plain, with_pixels = perception().eval(), perception(pixel_maps=True).eval()
    assert with_pixels.features_dim == plain.features_dim + 4 * 8 * 8
    observation = frames_with_blob([(8, 4), (8, 8), (8, 12), (8, 16)])
    features = with_pixels(observation)
    assert torch.equal(features[:, : plain.features_dim], plain(observation))
    fractions = features[0, plain.features_dim :].view(4, 8, 8)
    for frame, column in enumerate([1, 2, 3, 4]):  # the 2x2 blob fills a quarter of one 4x4 patch per frame
        assert torch.nonzero(fractions[frame]).tolist() == [[2, column]]
        assert float(fractions[frame, 2, column]) == 0.25


def test_the_convolutional_head_is_trained_by_gradients_and_the_spiking_part_is_not():
    module = perception(head_channels=[6, 5], frame_spikes=True).train()
    assert module.features_dim == 5  # 8x8 maps -> 3x3 (3x3 kernel, stride 2) -> 1x1, 5 channels
    features = module(frames_with_blob([(8, 8)] * 4).repeat(2, 1, 1, 1))
    features.sum().backward()
    assert all(parameter.grad is not None for parameter in module.head.parameters())
    assert [name for name, _ in module.named_parameters()] == [f"head.{i}.{w}" for i in (0, 2) for w in ("weight", "bias")]


def test_the_pixel_convolution_sits_on_the_patch_grid_and_learns_beside_the_spikes():
    spikes_only = perception(frame_spikes=True).eval()
    both = perception(frame_spikes=True, pixel_channels=3).eval()
    assert both.features_dim == spikes_only.features_dim + 3 * 8 * 8  # one 8x8 kernel output per 4x4 patch
    observation = frames_with_blob([(8, 8)] * 4)
    features = both(observation)
    assert torch.equal(features[:, : spikes_only.features_dim], spikes_only(observation))
    features.sum().backward()
    assert all(parameter.grad is not None for parameter in both.pixel_conv.parameters())
    with torch.no_grad():  # one kernel that counts the on pixels: a 2x2 blob at rows/cols 8-9 reaches the cells
        both.pixel_conv[0].weight.zero_()  # whose 8x8 window (the 4x4 patch and 2 pixels around it) covers it
        both.pixel_conv[0].bias.zero_()
        both.pixel_conv[0].weight[0] = 1.0
        counts = both(observation)[0, spikes_only.features_dim :].view(3, 8, 8)[0]
    assert torch.nonzero(counts).tolist() == [[1, 1], [1, 2], [2, 1], [2, 2]]
    assert float(counts[2, 2]) == 16.0  # 4 pixels in each of the 4 frames


def test_without_spike_features_the_head_sees_only_the_pixels_while_the_spiking_code_adapts():
    module = perception(frame_spikes=True, pixel_channels=3, spike_features=False).train()
    assert module.features_dim == 3 * 8 * 8
    observation = frames_with_blob([(8, 8)] * 4)
    before = module.running_thresholds.clone()
    features = module(observation)
    assert not torch.equal(module.running_thresholds, before)  # homeostasis still runs
    module.eval()
    module.spike_maps = None  # acting (eval mode) does not run the spiking code: nothing would use it
    with torch.no_grad():
        module.running_thresholds.fill_(0.06)
        assert torch.equal(module(observation), module.pixel_conv(observation.float().clamp(max=1.0)).flatten(1))
    assert features.shape == (1, 3 * 8 * 8)
    adapting_one = perception(pixel_channels=3, spike_features=False, pixel_maps=True, max_adapt_batch=1).train()
    assert adapting_one(observation.repeat(3, 1, 1, 1)).shape == (3, (4 + 3) * 8 * 8)  # every observation's features


def test_prototypes_start_at_patches_of_the_first_batch_and_move_toward_assigned_patches():
    module = perception(n_patch_prototypes=2, prototype_lr=0.5).train()
    first = torch.cat([frames_with_blob([(0, 0)] * 4), frames_with_blob([(4, 5)] * 4)])
    module(first)
    seeded = {tuple(torch.nonzero(row).flatten().tolist()) for row in module.running_patch_prototypes}
    assert seeded == {(0, 1, 4, 5), (1, 2, 5, 6)}  # the two full patches of the batch (blobs at (0,0) and (0,1))
    target = torch.zeros(16)
    target[[5, 6, 9, 10]] = 0.5  # a 2x2 blob in the middle of a patch
    before = module.running_patch_prototypes @ target
    module(frames_with_blob([(1, 1)] * 4).repeat(8, 1, 1, 1))
    after = module.running_patch_prototypes @ target
    nearest = int(before.argmax())
    assert after[nearest] > before[nearest]
    assert torch.equal(after[1 - nearest], before[1 - nearest])  # not assigned: unchanged
    assert float(module.running_patch_drift) > 0


def test_homeostasis_raises_the_thresholds_of_prototypes_that_fire_too_often():
    module = perception(target_rate=0.05, homeostasis_rate=0.05, gamma_th=0.0).train()
    busy = frames_with_blob([(8, 8)] * 4).repeat(4, 1, 1, 1)
    busy[:, :, 16:30, 2:30] = 255
    module(busy)
    first = module.running_thresholds.clone()
    for _ in range(5):
        module(busy)
    assert (module.running_thresholds > first).any()
    assert float(module.running_spike_rate) > 0.05


def test_evaluation_mode_does_not_adapt():
    module = perception().eval()
    before = {key: value.clone() for key, value in module.state_dict().items()}
    module(frames_with_blob([(8, 8)] * 4))
    assert all(torch.equal(before[key], value) for key, value in module.state_dict().items())


def test_represent_is_unit_norm_in_the_state_prototypes_space():
    module = perception(n_prototypes=5, state_grid=2)
    keys = module.represent(frames_with_blob([(8, 8)] * 4))
    assert keys.shape == (1, module.representation_dim) == (1, 4 * 2 * 2)
    assert torch.allclose(keys.norm(dim=1), torch.ones(1))
    assert module.assign(frames_with_blob([(8, 8)] * 4)).shape == (1,)


@pytest.mark.parametrize(
    "space, kwargs, message",
    [
        (gym.spaces.Box(0, 1, (4, 32, 32), np.float32), {}, "channels-first uint8"),
        (SPACE, {"patch_size": 0}, "patch_size=0"),
        (SPACE, {"patch_size": True}, "patch_size=True"),
        (SPACE, {"stride": 5}, r"stride=5 must be an integer in \[1, 4\]"),
        (SPACE, {"pool_size": 9}, "pool_size=9"),
        (SPACE, {"min_patch_pixels": 17}, "min_patch_pixels=17"),
        (SPACE, {"n_patch_prototypes": 0}, "n_patch_prototypes=0"),
        (SPACE, {"gain": -1.0}, "gain=-1.0"),
        (SPACE, {"decay": 1.0}, "decay=1.0"),
        (SPACE, {"threshold_bounds": (1.0, 0.5)}, "threshold_bounds"),
        (SPACE, {"head_channels": [32, 0]}, r"head_channels=\[32, 0\]"),
        (SPACE, {"frame_spikes": "yes"}, "frame_spikes='yes'"),
        (SPACE, {"pixel_maps": 1.5}, "pixel_maps=1.5"),
        (SPACE, {"pixel_channels": -1}, "pixel_channels=-1"),
        (SPACE, {"pixel_channels": 2.0}, "pixel_channels=2.0"),
        (SPACE, {"spike_features": "no"}, "spike_features='no'"),
        (SPACE, {"spike_features": False}, "spike_features=False needs pixel_channels > 0"),
        (SPACE, {"head_channels": 32}, "head_channels=32"),
        (SPACE, {"pool_size": 4, "head_channels": [8, 8]}, r"head_channels=\[8, 8\] shrink the \(2, 2\) maps"),
    ],
)
def test_bad_arguments_name_the_argument(space, kwargs, message):
    with pytest.raises(ValueError, match=message):
        SCALConvPerception(space, **kwargs)


CONF = """NoisyPong-v0:
  policy_kwargs:
    net_arch: {pi: [32], vf: [32]}
    features_extractor_class: agents.scal.conv_perception.SCALConvPerception
    features_extractor_kwargs: {patch_size: 4, n_patch_prototypes: 4, pool_size: 3}
"""


def test_scal_rl_on_pong_saves_and_resumes_the_conv_perception_exactly(tmp_path):
    """SCAL-RL on the conv perception: the adapted patch prototypes travel with the model; resume is exact."""
    conf = tmp_path / "conv.yml"
    conf.write_text(CONF)
    common = [
        "--env", "NoisyPong-v0", "--agent", "scal_rl", "--seed", "1", "-conf", str(conf), "-n", "256",
        "--env-kwargs", "max_num_frames_per_episode:2000", "--eval-freq", "0", "--final-eval-episodes", "1",
        "--no-tensorboard", "--verbose", "0", "-params", "n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1",
    ]  # fmt: skip
    straight = main([*common, "-f", str(tmp_path / "straight")])
    stopped = main([*common, "-f", str(tmp_path / "stopped"), "--steps", "128"])
    resumed = main(["--resume", stopped["checkpoint"], "--verbose", "0"])
    expected = PPO.load(Path(straight["run_dir"]) / "model.zip").policy
    actual = PPO.load(Path(resumed["run_dir"]) / "model.zip").policy
    assert isinstance(actual.scal_perception, SCALConvPerception)
    assert all(torch.equal(value, actual.state_dict()[key]) for key, value in expected.state_dict().items())
    torch.manual_seed(1)
    initial = SCALConvPerception(actual.scal_perception._observation_space, n_patch_prototypes=4, pool_size=3)
    assert not torch.equal(actual.scal_perception.running_patch_prototypes, initial.running_patch_prototypes)
    assert len(actual.scal_memory) > 0


def test_scal_dqn_trains_on_the_conv_perception_with_a_head(tmp_path):
    """The Q policy takes the conv perception; its trainable head travels with the model."""
    conf = tmp_path / "conv.yml"
    conf.write_text(CONF.replace("net_arch: {pi: [32], vf: [32]}", "net_arch: [32]").replace(
        "pool_size: 3}", "pool_size: 1, frame_spikes: true, head_channels: [8]}"))
    summary = main([
        "--env", "NoisyPong-v0", "--agent", "scal_dqn", "--seed", "0", "-conf", str(conf), "-n", "256",
        "--env-kwargs", "max_num_frames_per_episode:2000", "--eval-freq", "0", "--final-eval-episodes", "1",
        "--no-tensorboard", "--verbose", "0", "--checkpoint-minutes", "0", "-f", str(tmp_path),
        "-params", "learning_starts:64", "buffer_size:1000",
    ])  # fmt: skip
    policy = load_agent("scal_dqn", f"{summary['run_dir']}/model.zip").policy
    perception = policy.scal_perception
    assert isinstance(perception, SCALConvPerception) and perception.frame_spikes
    assert float(perception.running_adaptations) > 0  # adapted in the gradient steps
    assert sum(p.numel() for p in perception.head.parameters()) == 8 * (5 * 4 * 9 + 1)


CONF_DIR = Path(__file__).resolve().parents[1] / "eval" / "results" / "noisy_pong" / "conv_perception"


@pytest.mark.parametrize("conf", sorted(CONF_DIR.glob("*.yml")), ids=lambda path: path.stem)
def test_every_committed_conf_file_builds_its_perception_on_pong_frames(conf):
    """The results' ``-conf`` files stay runnable: each builds its perception on NoisyPong's stacked frames."""
    policy_kwargs = resolve_hyperparams(_conf_file_entry(str(conf), "NoisyPong-v0"))["policy_kwargs"]
    assert policy_kwargs["features_extractor_class"] is SCALConvPerception
    torch.manual_seed(0)
    space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    module = SCALConvPerception(space, **policy_kwargs["features_extractor_kwargs"]).eval()
    frames = torch.from_numpy(np.stack([space.sample() for _ in range(2)]))
    assert module(frames).shape == (2, module.features_dim)
