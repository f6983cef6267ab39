"""How strong is the learning-progress signal of ``semi``? Reference rules over one network lifetime.

    python eval/experiments/synapse_progress.py --rules zero three_factor label_bias --seeds 0 1 --images 200 --probes 16

Each rule drives a fresh network (env seeded ``seed + EVAL_SEED_OFFSET``, size ``small`` of
:mod:`eval.experiments.synapse_sizes`, teacher third factor, R = R_cls) for ``--images`` images with
``progress_probes: --probes``; per episode the env reports the change of the probes' mean R caused by that
episode's updates (``info["progress"]``). Printed per rule and seed: its mean and standard deviation over the
lifetime, the per-episode signal-to-noise ratio an RL rule trained on that reward would see, and the held-out
accuracy at the end (300 test images).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

import envs  # noqa: F401
from envs.synapse import SCENARIO_IDS
from eval.experiments.synapse_learning import reference_rule
from eval.experiments.synapse_sizes import SIZES
from train.cli import OneLineParser, check_numbers
from train.environments import EVAL_SEED_OFFSET


def lifetime(rule_name: str, seed: int, images: int, probes: int, eta: float) -> tuple[np.ndarray, float]:
    """Per-episode progress over ``images`` episodes of one fresh network, and its held-out accuracy after."""
    kwargs = dict(SIZES["small"]["semi"], third_factor="teacher", eta=eta, alpha_margin=0.0, alpha_spike=0.0)
    env = gym.make(SCENARIO_IDS["semi"], **kwargs, progress_probes=probes, progress_only=True)
    rule = reference_rule(rule_name, env, seed)
    obs, _ = env.reset(seed=seed + EVAL_SEED_OFFSET)
    progress = []
    for _ in range(images):
        done = False
        while not done:
            obs, _, done, _, info = env.step(rule.predict(obs[None], deterministic=True)[0][0])
        progress.append(info["progress"])
        obs, _ = env.reset()
    return np.asarray(progress), env.unwrapped.evaluate(300)


def main() -> None:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["zero", "three_factor", "label_bias"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--probes", type=int, default=16)
    parser.add_argument("--eta", type=float, default=0.2)
    args = parser.parse_args()
    check_numbers(parser, args, positive=["images", "probes", "eta"], non_negative=["seeds"])
    torch.set_num_threads(1)
    print("| rule | seed | mean progress | std per episode | signal/noise per episode | held-out accuracy after |")
    print("|---|---|---|---|---|---|")
    for rule in args.rules:
        for seed in args.seeds:
            progress, accuracy = lifetime(rule, seed, args.images, args.probes, args.eta)
            snr = progress.mean() / progress.std() if progress.std() > 0 else float("nan")
            print(f"| {rule} | {seed} | {progress.mean():+.4f} | {progress.std():.3f} | {snr:+.3f} | {accuracy:.3f} |")


if __name__ == "__main__":
    main()
