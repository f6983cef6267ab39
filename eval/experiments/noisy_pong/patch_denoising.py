"""How much of the clean picture the SCAL image perception's patch means recover at a given flip rate.

    python eval/experiments/noisy_pong/patch_denoising.py [--flip-prob 0.3] [--steps 400]

Plays the same seeded game twice (same actions; the emulator's randomness does not depend on the flips),
once with pixel flips and once without (no delay in either), and prints, for each patch size k, the
correlation between noisy and clean patch means (the input of ``SCALImagePerception``, pooled with the
same ``avg_pool2d``) over all patches of all frames, and the mean absolute error of the debiased noisy
mean ``(m_noisy - p) / (1 - 2p)`` against the clean one.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

import envs  # noqa: F401
from train.cli import OneLineParser, check_numbers


def frames(flip_prob: float, steps: int, seed: int = 0) -> torch.Tensor:
    env = gym.make("NoisyPong-v0", flip_prob=flip_prob, obs_delay=None)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for t in range(steps):
        obs, _, terminated, truncated, _ = env.step(t % 6)
        out.append(obs)
        if terminated or truncated:
            break
    return torch.as_tensor(np.stack(out)[..., 0] / 255.0, dtype=torch.float32)[:, None]


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flip-prob", type=float, default=0.3)
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    check_numbers(parser, args, positive=["steps"], non_negative=["flip_prob"])
    torch.set_num_threads(1)
    p = args.flip_prob
    noisy, clean = frames(p, args.steps), frames(0.0, args.steps)
    print(f"flip_prob {p}, {len(clean)} frames of 84x84")
    print("| patch | grid | corr(noisy, clean) | MAE of debiased mean | predicted std of debiased mean |")
    print("|---|---|---|---|---|")
    for k in (1, 2, 4, 6, 12):
        m_noisy = F.avg_pool2d(noisy, k, ceil_mode=True).flatten()
        m_clean = F.avg_pool2d(clean, k, ceil_mode=True).flatten()
        corr = float(torch.corrcoef(torch.stack([m_noisy, m_clean]))[0, 1])
        mae = float(((m_noisy - p) / (1 - 2 * p) - m_clean).abs().mean())
        grid = F.avg_pool2d(clean[:1], k, ceil_mode=True).shape[-1]
        predicted = np.sqrt(p * (1 - p) / k**2) / (1 - 2 * p)
        print(f"| {k}x{k} | {grid}x{grid} | {corr:.3f} | {mae:.3f} | {predicted:.3f} |")


if __name__ == "__main__":
    main()
