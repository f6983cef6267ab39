"""Learning results of the synapse-plasticity envs: reference rules vs RL-trained rules, several seeds.

    python eval/synapse_learning.py --scenario grad_mimicry --rules zero random true_gradient ppo \\
        --third-factors none teacher --seeds 0 1 2 --train-steps 8000 --size small

Protocol for each (rule, third factor, seed):
1. RL rules (``a2c``, ``ppo``) are trained on an env seeded ``seed`` (its own network and images).
2. The rule (deterministic for RL) then drives a *fresh* network (env seeded ``seed + 1_000_000``) for
   ``--plast-images`` training images; Δw/g agreement (grad_mimicry) and episode rewards are averaged.
3. Held-out accuracy of that network with frozen weights on ``--test-images`` test images
   (``env.evaluate``: output argmax, or Diehl–Cook label assignment on ``--assign-images``).
Rows are appended to a CSV; ``--summary`` prints a Markdown table of mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import envs  # noqa: F401
from agents.hyperparams import load_hyperparams, resolve_hyperparams
from agents.registry import get_entry, make_agent
from envs.synapse import SCENARIO_IDS
from train.config import RUN_KEYS

_SMALL = dict(data_source="sklearn", n_train=1200, n_test=500)  # 8×8 digits
_SMALL_UNSUP = dict(_SMALL, n_exc=50, n_steps=30, capacity=128, max_rate=200.0, input_norm=40.0)
SIZES = {
    # small networks: what fits a shared 2-core CPU in minutes per run
    "small": {
        "grad_mimicry": dict(_SMALL, hidden_sizes=(32, 16), n_steps=8, capacity=64, max_rate=250.0),
        "semi": dict(_SMALL, hidden_sizes=(32,), n_steps=16, history=8, capacity=128, max_rate=250.0, eta=0.1),
        "unsup_single": _SMALL_UNSUP,
        "unsup_dual": _SMALL_UNSUP,
    },
}
FIELDS = [
    "scenario",
    "rule",
    "third_factor",
    "seed",
    "train_steps",
    "plast_images",
    "test_images",
    "accuracy",
    "accuracy_before",
    "cosine",
    "sign_agreement",
    "episode_reward",
    "seconds",
]


def make_env(scenario: str, size: str, third_factor: str, extra: dict[str, Any]) -> gym.Env:
    return gym.make(SCENARIO_IDS[scenario], **{**SIZES[size][scenario], "third_factor": third_factor, **extra})


def build_rule(rule: str, env: gym.Env, seed: int, train_steps: int, env_id: str) -> Any:
    """A reference agent, or an SB3 model trained for ``train_steps`` with the repo's hyperparameters."""
    if not get_entry(rule).learns:
        return make_agent(rule, env, seed=seed)
    params = {k: v for k, v in load_hyperparams(rule, env_id).items() if k not in RUN_KEYS}
    model = make_agent(rule, env, resolve_hyperparams(params), seed=seed)
    model.learn(total_timesteps=train_steps)
    return model


def run_rule(model: Any, env: gym.Env, seed: int, images: int) -> dict[str, float]:
    """Let the rule drive a fresh network for ``images`` episodes; mean metrics of those episodes."""
    obs, _ = env.reset(seed=seed)
    metrics: dict[str, list[float]] = {"cosine": [], "sign_agreement": [], "episode_reward": []}
    for _ in range(images):
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs[None], deterministic=True)
            obs, reward, done, _, info = env.step(action[0])
            total += reward
        metrics["episode_reward"].append(total)
        for key in ("cosine", "sign_agreement"):
            if key in info:
                metrics[key].append(info[key])
        obs, _ = env.reset()
    return {k: float(np.nanmean(v)) if v else float("nan") for k, v in metrics.items()}


def evaluate(args: argparse.Namespace, rule: str, third_factor: str, seed: int) -> dict[str, Any]:
    start = time.time()
    env_id = SCENARIO_IDS[args.scenario]
    train_env = make_env(args.scenario, args.size, third_factor, args.env_kwargs)
    train_env.reset(seed=seed)
    model = build_rule(rule, train_env, seed, args.train_steps, env_id)
    fresh = make_env(args.scenario, args.size, third_factor, args.env_kwargs)
    fresh.reset(seed=seed + 1_000_000)
    before = fresh.unwrapped.evaluate(args.test_images, args.assign_images)
    metrics = run_rule(model, fresh, seed + 1_000_000, args.plast_images)
    accuracy = fresh.unwrapped.evaluate(args.test_images, args.assign_images)
    return dict(
        scenario=args.scenario,
        rule=rule,
        third_factor=third_factor,
        seed=seed,
        train_steps=args.train_steps if get_entry(rule).learns else 0,
        plast_images=args.plast_images,
        test_images=args.test_images,
        accuracy=accuracy,
        accuracy_before=before,
        seconds=round(time.time() - start, 1),
        **metrics,
    )


def summary(path: Path) -> str:
    """Markdown table: mean ± std over seeds per (scenario, rule, third factor)."""
    rows = list(csv.DictReader(path.open()))
    keys = sorted({(r["scenario"], r["third_factor"], r["rule"]) for r in rows})
    lines = [
        "| scenario | third factor | rule | seeds | test accuracy | before plasticity | cosine(Δw, −g) | "
        "sign agreement | episode reward |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, factor, rule in keys:
        group = [r for r in rows if (r["scenario"], r["third_factor"], r["rule"]) == (scenario, factor, rule)]

        def cell(name: str, group: list = group) -> str:
            values = np.array([float(r[name]) for r in group])
            return "–" if np.all(np.isnan(values)) else f"{np.nanmean(values):.3f} ± {np.nanstd(values):.3f}"

        lines.append(
            f"| {scenario} | {factor} | {rule} | {len(group)} | {cell('accuracy')} | "
            f"{cell('accuracy_before')} | {cell('cosine')} | {cell('sign_agreement')} | "
            f"{cell('episode_reward')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIO_IDS), default="grad_mimicry")
    parser.add_argument("--rules", nargs="+", default=["zero", "random"])
    parser.add_argument("--third-factors", nargs="+", default=["none"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--train-steps", type=int, default=8000)
    parser.add_argument("--plast-images", type=int, default=100)
    parser.add_argument("--test-images", type=int, default=300)
    parser.add_argument("--assign-images", type=int, default=300)
    parser.add_argument("--env-kwargs", nargs="*", default=[], help="key:value overrides (YAML values)")
    parser.add_argument("--out", default="eval/results/synapse/learning.csv")
    parser.add_argument("--summary", action="store_true", help="only print the table of --out")
    args = parser.parse_args()
    import yaml

    args.env_kwargs = {k: yaml.safe_load(v) for k, v in (item.split(":", 1) for item in args.env_kwargs)}
    out = Path(args.out)
    if args.summary:
        print(summary(out))
        return
    torch.set_num_threads(1)
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    for factor in args.third_factors:
        for rule in args.rules:
            if rule in ("true_gradient", "three_factor") and factor != "teacher":
                continue  # needs the BPTT error in the observation
            for seed in args.seeds:
                row = evaluate(args, rule, factor, seed)
                with out.open("a", newline="") as handle:
                    writer = csv.DictWriter(handle, fieldnames=FIELDS)
                    if new:
                        writer.writeheader()
                        new = False
                    writer.writerow(row)
                print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)


if __name__ == "__main__":
    main()
