"""SCAL-RL's front end for every agent: block pooling shared with the SCAL perception, the *_frontend agents."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents import hyperparams as hyperparams_module
from agents.frontend import BlockPooling, PooledFrames
from agents.hyperparams import load_hyperparams, merge_entries
from agents.registry import load_agent
from agents.scal.perception import SCALPerception
from train.run import main

FRONTEND_KEYS = ("env_wrapper", "policy_kwargs")
SMALL_ENV = ["--env-kwargs", "bits_per_variable:64", "flip_prob:0.2"]  # 256 bits per frame


def pooled_by_hand(bits: np.ndarray, n_frames: int, pool_size: int) -> np.ndarray:
    """Block means in the bipolar code, padding the last block with 0.5 (no evidence)."""
    frames = bits.reshape(bits.shape[0], n_frames, -1).astype(np.float64)
    n_pooled = -(-frames.shape[2] // pool_size)
    padded = np.full((*frames.shape[:2], n_pooled * pool_size), 0.5)
    padded[..., : frames.shape[2]] = frames
    return 2.0 * padded.reshape(*frames.shape[:2], n_pooled, pool_size).mean(axis=-1) - 1.0


@pytest.mark.parametrize("frame_size, pool_size", [(64, 16), (70, 16), (5, 1)])
def test_block_pooling_averages_blocks_of_each_frame_in_the_bipolar_code(frame_size, pool_size):
    bits = np.random.default_rng(0).integers(0, 2, (3, 2 * frame_size))
    pooling = BlockPooling(frame_size, n_frames=2, pool_size=pool_size, bipolar=True)
    pooled = pooling(torch.as_tensor(bits, dtype=torch.int8))
    assert pooled.shape == (3, 2, pooling.n_pooled)
    np.testing.assert_allclose(pooled.numpy(), pooled_by_hand(bits, 2, pool_size), atol=1e-6)


@pytest.mark.parametrize("pool_size", [16, 10])
@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.bool])
def test_block_pooling_counts_integer_bits_to_exactly_the_float_means(dtype, pool_size):
    bits = torch.as_tensor(np.random.default_rng(3).integers(0, 2, (4, 3 * 80)))
    pooling = BlockPooling(80, n_frames=3, pool_size=pool_size, bipolar=True)
    assert torch.equal(pooling(bits.to(dtype)), pooling(bits.float()))


def test_block_pooling_of_real_values_is_a_plain_mean_padded_with_zeros():
    pooling = BlockPooling(frame_size=3, n_frames=1, pool_size=2, bipolar=False)
    assert pooling(torch.tensor([[0.2, 0.4, 3.0]])).tolist() == [[[pytest.approx(0.3), pytest.approx(1.5)]]]


def test_scal_perception_pools_with_the_front_end_the_baselines_get():
    space = gym.spaces.MultiBinary(4 * 256)
    front_end = PooledFrames(space, n_frames=4, pool_size=16)
    perception = SCALPerception(space, n_frames=4, pool_size=16, n_components=0, projection_dim=8, n_prototypes=4)
    observations = torch.as_tensor(np.random.default_rng(1).integers(0, 2, (5, 4 * 256)), dtype=torch.int8)
    pooled = front_end(observations).reshape(5, 4, 16)
    assert front_end.features_dim == 64
    torch.testing.assert_close(perception.project(observations), torch.tanh(perception.projection(pooled)))


def test_unpooled_inputs_pass_through_in_the_bipolar_code_and_leave_the_pooling_alone():
    bits = np.random.default_rng(2).integers(0, 2, (3, 2 * 32 + 4))
    front_end = PooledFrames(gym.spaces.MultiBinary(2 * 32 + 4), n_frames=2, pool_size=16, n_unpooled=4)
    features = front_end(torch.as_tensor(bits, dtype=torch.int8))
    assert front_end.features_dim == features.shape[1] == 2 * 2 + 4
    np.testing.assert_allclose(features[:, :4].numpy(), pooled_by_hand(bits[:, :64], 2, 16).reshape(3, 4), atol=1e-6)
    assert features[:, 4:].tolist() == (2 * bits[:, 64:] - 1).tolist()
    perception = SCALPerception(gym.spaces.MultiBinary(68), n_frames=2, n_components=0, n_prototypes=4, n_unpooled=4)
    flipped = bits.copy()
    flipped[:, 64:] ^= 1
    observations, flipped = (torch.as_tensor(b, dtype=torch.int8) for b in (bits, flipped))
    torch.testing.assert_close(perception.project(observations), perception.project(flipped))
    assert perception.features_dim == 2 * 4 + 4
    assert perception.eval()(observations)[:, -4:].tolist() == (2 * bits[:, 64:] - 1).tolist()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"observation_space": gym.spaces.MultiBinary(12), "n_frames": 4, "n_unpooled": 2}, "n_unpooled=2"),
        ({"observation_space": gym.spaces.MultiBinary(12), "n_unpooled": -1}, "n_unpooled=-1"),
        ({"observation_space": gym.spaces.MultiBinary([4, 4])}, "observation_space"),
        ({"observation_space": gym.spaces.Discrete(3)}, "observation_space"),
        ({"observation_space": gym.spaces.MultiBinary(10), "n_frames": 3}, "n_frames=3"),
        ({"observation_space": gym.spaces.MultiBinary(10), "n_frames": 0}, "n_frames=0"),
        ({"observation_space": gym.spaces.MultiBinary(10), "pool_size": 0}, "pool_size=0"),
    ],
)
def test_front_end_rejects_bad_arguments_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PooledFrames(**kwargs)


@pytest.mark.parametrize("agent", ["ppo", "a2c", "dqn", "recurrent_ppo"])
def test_frontend_agents_are_the_plain_agents_plus_the_front_end(agent):
    plain, frontend = load_hyperparams(agent, "NoisyCartPole-v0"), load_hyperparams(f"{agent}_frontend", "NoisyCartPole-v0")
    assert frontend["env_wrapper"] == [{"agents.scal.frames.BinaryFrameStack": {"n_frames": 4}}]
    added = {"features_extractor_class": "agents.frontend.PooledFrames",
             "features_extractor_kwargs": {"n_frames": 4, "pool_size": 16}}
    assert frontend["policy_kwargs"] == {**plain.get("policy_kwargs", {}), **added}
    assert {k: v for k, v in frontend.items() if k not in FRONTEND_KEYS} == {
        k: v for k, v in plain.items() if k not in FRONTEND_KEYS
    }


def test_base_entries_merge_mappings_and_reject_unknown_bases(tmp_path, monkeypatch):
    assert merge_entries({"a": 1, "k": {"x": 1, "y": 2}}, {"k": {"y": 3}, "b": [1]}) == {
        "a": 1, "k": {"x": 1, "y": 3}, "b": [1]
    }
    (tmp_path / "mine.yml").write_text("default:\n  base: nowhere\n")
    monkeypatch.setattr(hyperparams_module, "HYPERPARAMS_DIR", tmp_path)
    with pytest.raises(ValueError, match="base='nowhere'"):
        load_hyperparams("mine", "NoisyCartPole-v0")


DQN_SHORT = ["-params", "buffer_size:2000", "learning_starts:64", "train_freq:64", "gradient_steps:4"]


@pytest.mark.parametrize(
    "agent, n_frames, history_bits",
    [("ppo_frontend", 4, 0), ("a2c_frontend", 4, 0), ("dqn_frontend", 4, 0), ("recurrent_ppo_frontend", 4, 0),
     ("ppo_frontend_history", 4, 4), ("ppo_frontend_8frames", 8, 16), ("scal_rl", 8, 16), ("scal_rl_history", 4, 4),
     ("scal_rl_no_history", 4, 0)],
)
def test_frontend_agents_train_on_pooled_stacked_frames(agent, n_frames, history_bits, log_folder):
    extra = DQN_SHORT if agent == "dqn_frontend" else []
    argv = ["--agent", agent, "-n", "256", "--eval-freq", "0", "--save-freq", "0", "--final-eval-episodes", "1"]
    summary = main([*argv, "-f", log_folder, "--verbose", "0", *SMALL_ENV, *extra])
    model = load_agent(agent, f"{summary['run_dir']}/model.zip")
    assert model.observation_space == gym.spaces.MultiBinary(n_frames * 256 + history_bits)
    extractor = model.policy.q_net.features_extractor if agent == "dqn_frontend" else model.policy.features_extractor
    assert extractor.pooling.n_unpooled == history_bits and extractor.pooling.frame_size == 256
    if not agent.startswith("scal_rl"):
        assert isinstance(extractor, PooledFrames) and extractor.features_dim == n_frames * 16 + history_bits
    assert summary["timesteps"] >= 256 and summary["updates"] > 0
