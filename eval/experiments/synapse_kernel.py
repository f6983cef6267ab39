"""Plot a plasticity rule's kernel Δd(Δt) (one pre and one post spike Δt = t_post − t_pre apart).

    python eval/experiments/synapse_kernel.py --env SynapseGradMimicry-v0 --rules stdp --models runs/.../model.zip \\
        --env-kwargs third_factor:teacher --out eval/results/synapse/kernel.png

``--models`` are SB3 zips (PPO or A2C, any synapse policy) trained on the same env settings; the reference rules
are built from the registry. The third-factor column takes each value of ``--third-factors`` (one curve per
rule and value; 0 by default).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import matplotlib
import numpy as np

import envs  # noqa: F401
from agents.registry import make_agent
from agents.synapse.kernel import rule_kernel
from train.cli import OneLineParser, parse_key_values

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load_model(path: str, env: gym.Env):
    from stable_baselines3 import A2C, PPO

    for cls in (PPO, A2C):
        try:
            return cls.load(path, env=env, device="cpu")
        except (ValueError, KeyError, RuntimeError):
            continue
    raise ValueError(f"--models {path!r} is neither a PPO nor an A2C zip")


def main() -> None:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="SynapseSemi-v0")
    parser.add_argument("--env-kwargs", nargs="*", default=[])
    parser.add_argument("--rules", nargs="*", default=["stdp"])
    parser.add_argument("--models", nargs="*", default=[])
    parser.add_argument("--weight", type=float, default=0.5)
    parser.add_argument("--third-factors", nargs="+", type=float, default=[0.0])
    parser.add_argument("--out", default="kernel.png")
    args = parser.parse_args()
    try:
        kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    env = gym.make(args.env, **kwargs)
    env.reset(seed=0)
    config = env.unwrapped.config
    rules = {name: make_agent(name, env, seed=0) for name in args.rules}
    rules.update({path: load_model(path, env) for path in args.models})
    figure, axis = plt.subplots(figsize=(8, 3.5))
    for name, rule in rules.items():
        for factor in args.third_factors:
            lags, dd = rule_kernel(rule, config.history, config.capacity, weight=args.weight, third_factor=factor)
            label = f"{Path(name).stem}, m={factor:g}" if len(args.third_factors) > 1 else Path(name).stem
            axis.plot(lags, dd, marker="o", label=label)
            print(label, dict(zip(lags.tolist(), np.round(np.asarray(dd, dtype=float), 3).tolist(), strict=True)))
    axis.axhline(0, color="grey", lw=0.5)
    axis.set_xlabel("Δt = t_post − t_pre (steps)")
    axis.set_ylabel("Δd")
    axis.set_title(args.env)
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
