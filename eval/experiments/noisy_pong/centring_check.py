"""Does ``center_inputs`` make the SCAL image perception react to the game? Similarity variation over play.

    python eval/experiments/noisy_pong/centring_check.py [--steps 600]

Plays NoisyPong-v0 with random actions (seed 0) on the clean pipeline and at flips 0.30 with the default
delay, stacks 4 frames, and feeds them to a fresh ``SCALImagePerception`` (seeded, untrained projection and
prototypes). It prints the standard deviation over time of the cosine similarity between each frame stack's
embedding and the prototypes, averaged over prototypes, with and without subtracting the inputs' mean (over
the whole sequence, what ``center_inputs`` converges to). A static picture gives a nearly constant
similarity, and what moves makes it vary.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

import envs  # noqa: F401
from agents.scal.image_perception import SCALImagePerception
from train.cli import OneLineParser, check_numbers
from wrappers.frames import ChannelFrameStack


def stacks(flip_prob: float, steps: int) -> torch.Tensor:
    """``(steps, 4, 84, 84)`` frame stacks in [0, 1] from random play."""
    kwargs = {"flip_prob": flip_prob} if flip_prob else {"flip_prob": 0.0, "obs_delay": None}
    env = ChannelFrameStack(gym.make("NoisyPong-v0", **kwargs), n_frames=4)
    env.action_space.seed(0)
    env.reset(seed=0)
    out = []
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        out.append(obs)
        if terminated or truncated:
            env.reset()
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255.0


def similarity_variation(perception: SCALImagePerception, x: torch.Tensor, center: bool) -> float:
    pooled = 2.0 * perception.patch_means(x).flatten(2) - 1.0  # (steps, frames, grid) in the bipolar code
    if center:
        pooled = pooled - pooled.mean(dim=(0, 1))
    z = F.normalize(torch.tanh(perception.projection(pooled)), dim=-1).mean(dim=1)
    similarity = z @ F.normalize(perception.running_prototypes, dim=1).T
    return float(similarity.std(dim=0).mean())


def main() -> None:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    check_numbers(parser, args, positive=["steps"])
    torch.manual_seed(0)
    space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    perception = SCALImagePerception(space, patch_size=4, projection_dim=64, n_prototypes=64)
    print("| pipeline | similarity std over time, raw | centred | ratio |")
    print("|---|---|---|---|")
    with torch.no_grad():
        for flip_prob in (0.0, 0.3):
            x = stacks(flip_prob, args.steps)
            raw, centred = (similarity_variation(perception, x, center) for center in (False, True))
            name = "clean" if flip_prob == 0 else f"flips {flip_prob}, delay 1-3"
            print(f"| {name} | {raw:.4f} | {centred:.4f} | {centred / raw:.1f}x |")


if __name__ == "__main__":
    main()
