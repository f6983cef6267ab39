"""Multi-agent synapse plasticity: one policy shared by all groups vs one policy per group, with STDP and zero.

    python eval/experiments/synapse_multi.py --rules shared per_group stdp zero --seeds 0 1 2 --train-steps 8000 \\
        --plast-images 200 --out eval/results/synapse_multi/unsup.csv
    python eval/experiments/synapse_multi.py --summary --out eval/results/synapse_multi/unsup.csv

Protocol for each (rule, seed), on ``SynapseMultiUnsup-v0`` (Diehl–Cook, agents ``input_exc`` and ``inh_exc``):
1. ``shared`` (experiment 1: ``SynapsePolicy``, parameters shared, the group id in the observation) and
   ``per_group`` (experiment 2: ``PerGroupSynapsePolicy``) are trained with ``train.run.main`` (PPO, the
   hyperparameters of ``agents/hyperparams/ppo.yml``) for ``--train-steps`` agent-steps on an env seeded ``seed``.
2. The rule (deterministic for PPO) drives a *fresh* network (seeded ``seed + EVAL_SEED_OFFSET``) for ``--plast-images``
   images: episode reward, sparsity, winners and the sign of every Δd are recorded.
3. Held-out label-assignment accuracy with frozen weights (``envs.synapse.evaluation``), before and after 2.
4. Analyses: each policy's kernel Δd(Δt) per group (``agents.synapse.kernel.rule_kernel``), the sign distribution of
   every presynaptic neuron's outgoing weights, the winner distribution and sparsity.
Rows go to ``--out`` (CSV) and kernels to ``<out>.kernels.json``; ``--summary`` prints the Markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.registry import make_agent
from agents.synapse.kernel import rule_kernel
from agents.synapse.pair_rule import PairRuleAgent
from envs.synapse_multi import multi_agent_kwargs
from envs.synapse_multi.env import SynapseMultiAgentEnv, parallel_env
from envs.synapse_multi.vec_adapter import make_parallel_vec_env
from eval.experiments.synapse_sizes import SIZES
from eval.tables import markdown_table, mean_std_cell, read_csv_rows
from train.cli import OneLineParser, check_numbers, parse_key_values
from train.environments import EVAL_SEED_OFFSET

ENV_ID = "SynapseMultiUnsup-v0"
POLICIES = {"shared": None, "per_group": "agents.multiagent.policy.PerGroupSynapsePolicy"}
REFERENCE_RULES = ("stdp", "pair_rule", "zero", "random")  # the same rule for every group agent
FIELDS = [
    "rule",
    "seed",
    "train_steps",
    "plast_images",
    "accuracy",
    "accuracy_before",
    "episode_reward",
    "sparsity",
    "distinct_winners",
    "winner_entropy",
    "top_winner_share",
    "dd_pos_input_exc",
    "dd_pos_inh_exc",
    "out_pos_input",
    "out_zero_input",
    "out_neg_inh",
    "out_zero_inh",
    "seconds",
]


def env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return multi_agent_kwargs(ENV_ID, {**SIZES[args.size]["unsup_single"], **args.env_kwargs})


def train_policy(rule: str, seed: int, args: argparse.Namespace):
    """Train a PPO policy through the training CLI (``train.run.main``) and load its ``model.zip``."""
    from stable_baselines3 import PPO

    from train.run import main as train_main

    kwargs = [f"{k}:{json.dumps(list(v) if isinstance(v, tuple) else v)}" for k, v in env_kwargs(args).items()]
    argv = [
        "--env",
        ENV_ID,
        "--agent",
        "ppo",
        "-n",
        str(args.train_steps),
        "--seed",
        str(seed),
        "--env-kwargs",
        *kwargs,
        "--eval-freq",
        "0",
        "--final-eval-episodes",
        "2",
        "-f",
        args.log_folder,
        "--no-tensorboard",
        "--verbose",
        "0",
        "--num-threads",
        "1",
    ]
    if POLICIES[rule]:
        argv += ["-params", f"policy:{POLICIES[rule]}"]
    summary = train_main(argv)
    return PPO.load(Path(summary["run_dir"]) / "model.zip", device="cpu")


def build_rule(rule: str, seed: int, args: argparse.Namespace):
    """A trained policy, or a reference rule shared by every group agent (``pair_rule`` with the parameters of
    ``--rule-params`` when given)."""
    if rule in POLICIES:
        return train_policy(rule, seed, args)
    vec_env = make_parallel_vec_env(parallel_env, 1, seed, **env_kwargs(args))
    if rule == PairRuleAgent.name and args.rule_params:
        return PairRuleAgent.load(args.rule_params.format(seed=seed), vec_env)
    return make_agent(rule, vec_env, seed=seed)


def run_rule(model: Any, env: SynapseMultiAgentEnv, images: int) -> dict[str, list]:
    """The rule drives ``env`` for ``images`` episodes (deterministic); per-episode metrics and Δd signs."""
    record: dict[str, list] = {"reward": [], "sparsity": [], "winner": [], **{f"dd/{a}": [] for a in env.agents}}
    obs, _ = env.reset()
    for _ in range(images):
        total, done = 0.0, False
        while not done:
            agents = list(env.agents)
            action, _ = model.predict(np.stack([obs[a] for a in agents]), deterministic=True)
            counts = {a: len(b) for a, b in zip(agents, env.sim.agent_batches, strict=True)}
            obs, rewards, terminated, truncated, infos = env.step(dict(zip(agents, action, strict=True)))
            for i, a in enumerate(agents):
                record[f"dd/{a}"].append(np.sign(action[i][: counts[a]]))
            total += rewards[agents[0]]
            done = not env.agents
        info = infos[agents[0]]
        record["reward"].append(total)
        record["sparsity"].append(info["sparsity"])
        record["winner"].append(info["winner"])
        obs, _ = env.reset()
    return record


def winner_stats(winners: list[int], n_exc: int) -> dict[str, float]:
    """Distinct winners, normalised entropy of the winner distribution and the top winner's share (silent: −1)."""
    active = np.array([w for w in winners if w >= 0])
    if len(active) == 0:
        return {"distinct_winners": 0, "winner_entropy": 0.0, "top_winner_share": 0.0}
    p = np.bincount(active, minlength=n_exc) / len(active)
    entropy = float(-(p[p > 0] * np.log(p[p > 0])).sum() / np.log(min(n_exc, len(active)) or 1))
    return {"distinct_winners": int((p > 0).sum()), "winner_entropy": entropy, "top_winner_share": float(p.max())}


def outgoing_signs(weight: torch.Tensor) -> dict[str, float]:
    """Mean over presynaptic neurons of the share of their outgoing weights that are > 0, = 0 and < 0."""
    w = weight.detach().numpy()
    return {
        name: float(share(w).mean(axis=1).mean())
        for name, share in (("pos", lambda x: x > 0), ("zero", lambda x: x == 0), ("neg", lambda x: x < 0))
    }


def kernels(model: Any, env: SynapseMultiAgentEnv) -> dict[str, list[float]]:
    """Δd(Δt) of the rule for each group (the group column of the probe rows set to that group's id)."""
    k, capacity = env.sim.config.history, env.sim.agent_capacity
    n = max(len(env.group_names) - 1, 1)
    out = {}
    for index, name in enumerate(env.group_names):
        lags, dd = rule_kernel(model, k, capacity, max_lag=10, group=index / n)
        out[name] = [float(x) for x in dd]
        out["lags"] = [int(x) for x in lags]
    return out


def evaluate(rule: str, seed: int, args: argparse.Namespace) -> tuple[dict[str, Any], dict]:
    start = time.time()
    model = build_rule(rule, seed, args)
    env = parallel_env(**env_kwargs(args))
    env.reset(seed=seed + EVAL_SEED_OFFSET)
    before = env.evaluate(args.test_images, args.assign_images)
    record = run_rule(model, env, args.plast_images)
    accuracy = env.evaluate(args.test_images, args.assign_images)
    inp, inh = (outgoing_signs(g.weight) for g in env.network.groups)
    row = dict(
        rule=rule,
        seed=seed,
        train_steps=args.train_steps if rule in POLICIES else 0,
        plast_images=args.plast_images,
        accuracy=accuracy,
        accuracy_before=before,
        episode_reward=float(np.mean(record["reward"])),
        sparsity=float(np.mean(record["sparsity"])),
        **winner_stats(record["winner"][-args.winner_window :], env.sim.config.n_exc),
        **{f"dd_pos_{a}": float(np.mean(np.concatenate(record[f"dd/{a}"]) > 0)) for a in env.possible_agents},
        out_pos_input=inp["pos"],
        out_zero_input=inp["zero"],
        out_neg_inh=inh["neg"],
        out_zero_inh=inh["zero"],
        seconds=round(time.time() - start, 1),
    )
    return row, kernels(model, env)


def summary(path: Path) -> str:
    """Markdown tables: mean ± std over seeds per rule (results, then analyses), and the mean kernels."""
    rows = read_csv_rows(path)
    rules = sorted({r["rule"] for r in rows}, key=lambda r: (r not in POLICIES, r))
    groups = [[r for r in rows if r["rule"] == rule] for rule in rules]
    tables = [
        ("episode_reward", "accuracy", "accuracy_before"),
        ("sparsity", "distinct_winners", "winner_entropy", "top_winner_share"),
        ("dd_pos_input_exc", "dd_pos_inh_exc", "out_pos_input", "out_zero_input", "out_neg_inh", "out_zero_inh"),
    ]
    parts = []
    for names in tables:
        columns = {"rule": rules, "seeds": [str(len(group)) for group in groups]}
        columns.update({name: [mean_std_cell([float(r[name]) for r in group]) for group in groups] for name in names})
        parts.append(markdown_table(columns))
    kernel_path = Path(f"{path}.kernels.json")
    if kernel_path.exists():
        parts.append(kernel_table(json.loads(kernel_path.read_text()), rules))
    return "\n" + "\n".join(parts)


def kernel_table(saved: dict, rules: list[str]) -> str:
    """Mean kernel Δd(Δt) over seeds, per rule and group, at a few lags; then per rule the mean kernel sizes and
    the cosine between the two groups' kernels (mean ± std over seeds)."""
    lags = next(iter(saved.values()))["lags"]
    shown = [lag for lag in (-10, -5, -2, -1, 0, 1, 2, 5, 10) if lag in lags]
    runs = {rule: [v for k, v in saved.items() if k.split("/")[0] == rule] for rule in rules}
    pairs = [(rule, group) for rule in rules if runs[rule] for group in runs[rule][0] if group != "lags"]
    means = [np.mean([r[group] for r in runs[rule]], axis=0) for rule, group in pairs]
    kernels = {"rule": [rule for rule, _ in pairs], "group": [group for _, group in pairs]}
    kernels.update({f"Δt={lag}": [f"{mean[lags.index(lag)]:+.3f}" for mean in means] for lag in shown})
    headers = ("mean abs Δd (input_exc)", "mean abs Δd (inh_exc)", "cosine(input_exc, inh_exc kernels)")
    cells = [kernel_comparison(runs[rule]) for rule in rules]
    comparison = {"rule": rules, "seeds": [str(len(runs[rule])) for rule in rules]}
    comparison.update({header: [row[i] for row in cells] for i, header in enumerate(headers)})
    return markdown_table(kernels) + "\n" + markdown_table(comparison)


def kernel_comparison(runs: list[dict]) -> list[str]:
    """Cells of one rule: mean abs Δd of the input_exc and inh_exc kernels, and their cosine (mean ± std)."""
    a, b = (np.array([r[g] for r in runs]) for g in ("input_exc", "inh_exc"))
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cos = np.where(norms > 0, (a * b).sum(1) / np.where(norms > 0, norms, 1), np.nan)
    return [f"{np.abs(a).mean():.4f}", f"{np.abs(b).mean():.4f}", mean_std_cell(cos, digits=2, sign="+")]


def plot_kernels(kernel_path: Path, out: Path) -> None:
    """Mean kernel Δd(Δt) over seeds, one panel per group, one line per rule."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    saved = json.loads(kernel_path.read_text())
    rules = sorted({key.split("/")[0] for key in saved})
    groups = [g for g in next(iter(saved.values())) if g != "lags"]
    figure, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.5), squeeze=False, sharey=True)
    for axis, group in zip(axes[0], groups, strict=True):
        for rule in rules:
            runs = [v for k, v in saved.items() if k.split("/")[0] == rule]
            axis.plot(runs[0]["lags"], np.mean([r[group] for r in runs], axis=0), marker="o", ms=3, label=rule)
        axis.axhline(0, color="grey", lw=0.5)
        axis.set_title(group)
        axis.set_xlabel("Δt = t_post − t_pre (steps)")
        axis.set_ylabel("Δd")
        axis.set_yscale("symlog", linthresh=1e-3)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def append_row(out: Path, row: dict[str, Any], kernel: dict) -> None:
    new = not out.exists()
    with out.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)
    kernel_path = Path(f"{out}.kernels.json")
    saved = json.loads(kernel_path.read_text()) if kernel_path.exists() else {}
    saved[f"{row['rule']}/{row['seed']}"] = kernel
    kernel_path.write_text(json.dumps(saved, indent=1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["shared", "per_group", "stdp", "zero"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--train-steps", type=int, default=8000, help="PPO agent-steps (VecEnv slot steps)")
    parser.add_argument("--plast-images", type=int, default=200)
    parser.add_argument("--test-images", type=int, default=300)
    parser.add_argument("--assign-images", type=int, default=300)
    parser.add_argument("--winner-window", type=int, default=100, help="last images of the winner statistics")
    parser.add_argument("--env-kwargs", nargs="*", default=[], help="key:value overrides (YAML values)")
    parser.add_argument(
        "--rule-params", default=None, help="parameters of the pair_rule agent: a JSON path with {seed}"
    )
    parser.add_argument("--log-folder", default="logs/synapse_multi")
    parser.add_argument("--out", default="eval/results/synapse_multi/unsup.csv")
    parser.add_argument("--summary", action="store_true", help="only print the tables of --out")
    parser.add_argument("--plot", default=None, help="with --summary: write the kernels' figure to this PNG")
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["train_steps", "plast_images", "test_images", "assign_images", "winner_window"], non_negative=["seeds"])
    try:
        args.env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    unknown = [r for r in args.rules if r not in (*POLICIES, *REFERENCE_RULES)]
    if unknown:
        parser.error(f"--rules {unknown} invalid; allowed: {', '.join([*POLICIES, *REFERENCE_RULES])}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out = Path(args.out)
    if args.summary:
        print(summary(out), end="")
        if args.plot:
            plot_kernels(Path(f"{out}.kernels.json"), Path(args.plot))
        return
    torch.set_num_threads(1)
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:  # seed-major: every rule of a seed is done before the next seed starts
        for rule in args.rules:
            row, kernel = evaluate(rule, seed, args)
            append_row(out, row, kernel)
            print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)


if __name__ == "__main__":
    main()
