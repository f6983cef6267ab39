"""Linear probe: how much of the ball's and the agent's paddle's position a perception's features carry.

    python eval/experiments/noisy_pong/feature_probe.py --flip-prob 0.0 --frames 6000

Plays NoisyPong-v0 (no frame delay) with uniformly random actions, stacks 4 frames as the agents do, and reads
the ball's y and x and the agent's paddle y from the emulator's RAM (bytes 54, 49 and 51) on frames where the
ball is in play. Each perception adapts on the first two thirds of the frames in batches of 32 (its training
mode, as in DQN's updates), then its evaluation-mode features are fitted by ridge regression on those frames and
scored by R² on the last third. The reference is the 4x4 patch means of every stacked frame (what
``SCALImagePerception`` pools before its projection).
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

import envs  # noqa: F401  (registers NoisyPong-v0)
from agents.scal.conv_perception import SCALConvPerception
from wrappers.frames import ChannelFrameStack

TARGETS = {"ball_y": 54, "ball_x": 49, "paddle_y": 51}
PERCEPTIONS = {
    "conv, 8 prototypes, 2x2 pooling": {"n_patch_prototypes": 8, "pool_size": 2},
    "conv, 8 prototypes, frame spikes": {"n_patch_prototypes": 8, "pool_size": 2, "frame_spikes": True},
    "conv, 8 prototypes, no pooling": {"n_patch_prototypes": 8, "pool_size": 1},
    "conv, 16 prototypes, 2x2 pooling": {"n_patch_prototypes": 16, "pool_size": 2},
}


def play(flip_prob: float, n_frames: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Stacked channels-first frames ``(n, 4, 84, 84)`` and the RAM targets ``(n, 3)`` of random play."""
    env = ChannelFrameStack(gym.make("NoisyPong-v0", flip_prob=flip_prob, obs_delay=None), n_frames=4)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    observations, targets = [], []
    for _ in range(n_frames):
        obs, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        ram = env.unwrapped.ale.getRAM()
        observations.append(np.transpose(obs, (2, 0, 1)).copy())
        targets.append([ram[address] for address in TARGETS.values()])
        if terminated or truncated:
            env.reset()
    return torch.as_tensor(np.stack(observations)), np.asarray(targets, dtype=np.float64)


def ridge_r2(features: np.ndarray, targets: np.ndarray, train: np.ndarray, test: np.ndarray) -> list[float]:
    """R² on ``test`` of a ridge regression (penalty 1) fitted on ``train``, one per target column."""
    design = np.c_[features, np.ones(len(features))]
    gram = design[train].T @ design[train] + np.eye(design.shape[1])
    weights = np.linalg.solve(gram, design[train].T @ targets[train])
    residuals = targets[test] - design[test] @ weights
    return [1.0 - residuals[:, j].var() / targets[test, j].var() for j in range(targets.shape[1])]


def conv_features(observations: torch.Tensor, n_adapt: int, **kwargs) -> torch.Tensor:
    torch.manual_seed(0)
    perception = SCALConvPerception(gym.spaces.Box(0, 255, tuple(observations.shape[1:]), np.uint8), **kwargs)
    perception.train()
    for start in range(0, n_adapt, 32):
        perception(observations[start : start + 32])
    perception.eval()
    with torch.no_grad():
        return torch.cat([perception(observations[i : i + 256]) for i in range(0, len(observations), 256)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flip-prob", type=float, default=0.0, help="pixel flip probability of the camera")
    parser.add_argument("--frames", type=int, default=6000, help="env steps of random play")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    observations, targets = play(args.flip_prob, args.frames, args.seed)
    in_play = (targets[:, 0] > 0) & (targets[:, 1] > 40)
    split = len(targets) * 2 // 3
    train, test = np.where(in_play[:split])[0], split + np.where(in_play[split:])[0]
    print(f"flip_prob {args.flip_prob}: {len(targets)} frames, ball in play on {in_play.mean():.0%}")
    print("| features | width | " + " | ".join(f"R² {name}" for name in TARGETS) + " |")
    print("|---|---|" + "---|" * len(TARGETS))
    candidates = {"4x4 patch means (reference)": F.avg_pool2d((observations > 0).float(), 4).flatten(1)}
    candidates.update({name: conv_features(observations, split, **kw) for name, kw in PERCEPTIONS.items()})
    for name, features in candidates.items():
        scores = ridge_r2(features.numpy().astype(np.float64), targets, train, test)
        print(f"| {name} | {features.shape[1]} | " + " | ".join(f"{r2:.2f}" for r2 in scores) + " |")


if __name__ == "__main__":
    main()
