"""FastCNN (channels-last, optional bfloat16) against SB3's NatureCNN, and the trainer's --allocator setting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.torch_layers import NatureCNN

from agents.fast_cnn import FastCNN
from agents.hyperparams import load_hyperparams
from agents.registry import load_agent
from train.allocator import configure_allocator
from train.run import main

FRAMES = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
ROOT = Path(__file__).resolve().parents[1]


def batch(size: int = 16, seed: int = 0) -> torch.Tensor:
    frames = np.random.default_rng(seed).integers(0, 2, (size, 4, 84, 84)) * 255
    return torch.as_tensor(frames, dtype=torch.float32) / 255.0


def seeded(make, seed: int = 0):
    torch.manual_seed(seed)
    return make()


def test_nature_float32_is_natures_network_with_the_same_initialisation():
    reference, fast = seeded(lambda: NatureCNN(FRAMES)), seeded(lambda: FastCNN(FRAMES))
    assert list(reference.state_dict()) == list(fast.state_dict())
    for name, value in reference.state_dict().items():
        assert torch.equal(value, fast.state_dict()[name]), name
    x = batch()
    torch.testing.assert_close(fast(x), reference(x), rtol=1e-5, atol=1e-5)  # float rounding only
    assert fast.features_dim == 512


def test_bfloat16_features_are_float32_and_close_to_float32():
    fp32, bf16 = seeded(lambda: FastCNN(FRAMES)), seeded(lambda: FastCNN(FRAMES, precision="bf16"))
    x = batch()
    exact, mixed = fp32(x), bf16(x)
    assert mixed.dtype == torch.float32
    assert not torch.equal(mixed, exact)  # it did run in bfloat16
    assert (mixed - exact).norm() / exact.norm() < 0.03
    mixed.sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in bf16.parameters())


def test_nips_architecture_is_the_smaller_network():
    nips = FastCNN(FRAMES, architecture="nips")
    convolutions = [m for m in nips.cnn if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convolutions] == [(16, (8, 8), (4, 4)), (32, (4, 4), (2, 2))]
    assert nips(batch()).shape == (16, 256)
    size = sum(p.numel() for p in nips.parameters())
    assert size < sum(p.numel() for p in FastCNN(FRAMES).parameters()) / 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"precision": "fp16"}, "precision='fp16': expected one of fp32, bf16"),
        ({"architecture": "resnet"}, "architecture='resnet': expected one of nature, nips"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FastCNN(FRAMES, **kwargs)


def test_a_flat_space_is_rejected():
    with pytest.raises(ValueError, match="must be a channel-first image"):
        FastCNN(gym.spaces.Box(0, 1, (64,), np.float32))


def test_ppo_fast_is_ppo_with_the_bfloat16_network():
    plain, fast = load_hyperparams("ppo", "NoisyPong-v0"), load_hyperparams("ppo_fast", "NoisyPong-v0")
    assert "policy_kwargs" not in plain  # RL Zoo reads ppo.yml: no class paths in it
    assert fast.pop("policy_kwargs") == {"features_extractor_class": "agents.fast_cnn.FastCNN",
                                         "features_extractor_kwargs": {"precision": "bf16"}}
    assert fast == plain


def test_noisy_pong_ppo_fast_trains_saves_and_loads_the_bfloat16_network(log_folder):
    argv = "--env NoisyPong-v0 --agent ppo_fast -n 128 --eval-freq 0 --save-freq 0 --final-eval-episodes 1 --no-tensorboard"
    argv += " --verbose 0 --env-kwargs max_num_frames_per_episode:2000 -params n_envs:2 n_steps:64 batch_size:64"
    summary = main([*argv.split(), "-f", log_folder])
    model = load_agent("ppo_fast", f"{summary['run_dir']}/model.zip")
    extractor = model.policy.features_extractor
    assert isinstance(extractor, FastCNN) and extractor.precision == "bf16"
    frames = np.random.default_rng(0).integers(0, 2, (8, 84, 84, 4), dtype=np.uint8) * 255
    model.save(f"{log_folder}/again")
    again = load_agent("ppo_fast", f"{log_folder}/again.zip")
    np.testing.assert_array_equal(model.predict(frames, deterministic=True)[0], again.predict(frames, deterministic=True)[0])


def test_allocator_modes_and_a_bad_one():
    assert configure_allocator("system")
    if sys.platform.startswith("linux"):
        assert configure_allocator("retain")  # glibc takes the thresholds
    with pytest.raises(ValueError, match="--allocator 'huge': expected one of retain, system"):
        configure_allocator("huge")


def _trained_weights(folder: Path, allocator: str) -> dict[str, torch.Tensor]:
    argv = ["--agent", "ppo", "-n", "512", "--eval-freq", "0", "--save-freq", "0", "--no-tensorboard", "--verbose", "0",
            "--final-eval-episodes", "1", "--allocator", allocator, "-f", str(folder)]
    subprocess.run([sys.executable, "train/run.py", *argv], cwd=ROOT, check=True, capture_output=True)
    run_dir = json.loads(next(folder.glob("*/summary.json")).read_text())["run_dir"]
    return load_agent("ppo", f"{run_dir}/model.zip").policy.state_dict()


def test_the_allocator_setting_changes_no_result(tmp_path):
    """Each run in its own process (the setting is process-wide): same seed, bit-identical trained weights."""
    retained, system = _trained_weights(tmp_path / "retain", "retain"), _trained_weights(tmp_path / "system", "system")
    assert list(retained) == list(system)
    assert all(torch.equal(retained[name], system[name]) for name in retained)
