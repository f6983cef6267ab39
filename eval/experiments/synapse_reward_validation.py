"""Validation of label-free rewards for ``unsup_single``: does a reward rank plasticity rules as held-out accuracy does?

    python eval/experiments/synapse_reward_validation.py --seeds 0 1 2 --plast-images 400 --assign-images 400 \\
        --test-images 400 --out eval/results/synapse/unsup_reward/validation.csv
    python eval/experiments/synapse_reward_validation.py --summary --out eval/results/synapse/unsup_reward/validation.csv

For each (rule, seed): a fresh ``unsup_single`` network (full size unless ``--env-kwargs`` says otherwise, seeded
``seed``) learns from ``--plast-images`` training images under a dense reference rule (every synapse whose pre or
post neuron spiked, no event sampling; :data:`RULES`), with the env's image schedule (every ``represent_every``-th
image a recent one again). After every image the scenario computes the design's reward and every candidate of
:func:`envs.synapse.rewards.unsup_candidates` exactly as the env pays them; a row holds their means over the run
(``<name>``) and over its last quarter (``<name>_late``), and the held-out accuracy of the final network (Diehl–Cook
label assignment on ``--assign-images``, ``--test-images`` test images, as ``env.evaluate``). ``--summary`` prints
the Spearman rank correlation of each candidate with accuracy over all rows and per seed, and whether it ranks
STDP above zero and random plasticity on every seed.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from agents.synapse.stdp import STDPParameters, STDPState, stdp_initial_state, stdp_update_
from envs.synapse.config import SynapseEnvConfig, make_config
from envs.synapse.data import DigitData, load_digits_split
from envs.synapse.dense_plasticity import learn
from envs.synapse.evaluation import frozen_accuracy
from envs.synapse.events import group_events
from envs.synapse.networks import SpikingNetwork
from envs.synapse.rewards import UNSUP_REWARDS
from envs.synapse.scenarios import UnsupervisedScenario
from eval.experiments.synapse_sizes import SIZES
from eval.tables import markdown_table, read_csv_rows
from train.cli import OneLineParser, check_numbers, parse_key_values

# name → (ν_post, ν_pre, τ) of pair-based STDP on input→E (Diehl–Cook: 0.01, 1e-4, 20 steps); I→E stays fixed
STDP_VARIANTS = {
    "stdp": (1e-2, 1e-4, 20.0),
    "stdp_lr0.3": (3e-3, 3e-5, 20.0),
    "stdp_lr3": (3e-2, 3e-4, 20.0),
    "stdp_lr10": (1e-1, 1e-3, 20.0),
    "stdp_strong_depression": (1e-2, 1e-2, 20.0),
    "stdp_tau2": (1e-2, 1e-4, 2.0),
    "anti_stdp": (-1e-2, -1e-4, 20.0),
}
RULES = ("zero", "random", *STDP_VARIANTS)
CANDIDATES = ("design", *UNSUP_REWARDS[1:])
FIELDS = ["rule", "seed", "plast_images", "test_images", "accuracy"]
FIELDS += [f"{name}{suffix}" for name in CANDIDATES for suffix in ("", "_late")] + ["seconds"]


class DenseRule:
    """A reference rule applied to every event of a step: STDP variants on input→E, or ``random`` (uniform
    Δd ∈ [−1, 1] on every event of both groups, ``Δw = η·Δd``, like the ``random`` agent), or ``zero``."""

    def __init__(self, name: str, network: SpikingNetwork, seed: int) -> None:
        self.name, self.network = name, network
        self.generator = torch.Generator().manual_seed(seed)
        if name in STDP_VARIANTS:
            nu_post, nu_pre, tau = STDP_VARIANTS[name]
            self.params = STDPParameters(nu_pre=nu_pre, nu_post=nu_post, tau_pre=tau, tau_post=tau)

    def begin_image(self) -> None:
        group = self.network.groups[0]
        self.state: STDPState = stdp_initial_state(*group.weight.shape)

    def step(self, spikes: dict[str, torch.Tensor]) -> None:
        if self.name in STDP_VARIANTS:
            group = self.network.groups[0]
            bounds = (group.w_min, group.w_max)
            self.state = stdp_update_(group.weight, spikes["input"], spikes["exc"], self.state, self.params, bounds)
        elif self.name == "random":
            for group in self.network.groups:
                pairs = group_events(group, spikes[group.pre], spikes[group.post])
                delta = torch.rand(len(pairs), generator=self.generator) * 2 - 1
                group.apply_delta(pairs[:, 0], pairs[:, 1], delta)


def means(records: list[dict], names: tuple[str, ...] = CANDIDATES) -> dict[str, float]:
    """Mean of each of ``names`` over the run and over its last quarter (``<name>_late``; NaN where never defined)."""
    late = records[-max(len(records) // 4, 1) :]
    out = {}
    for name in names:
        for suffix, part in (("", records), ("_late", late)):
            values = [r[name] for r in part if r.get(name) is not None]
            out[name + suffix] = float(np.mean(values)) if values else float("nan")
    return out


def run(rule_name: str, seed: int, config: SynapseEnvConfig, data: DigitData, args) -> dict:
    start = time.time()
    scenario = UnsupervisedScenario(config, data.train_x.shape[1], torch.Generator().manual_seed(seed))
    rule = DenseRule(rule_name, scenario.network, seed)
    records = [{"design": r.pop("reward"), **r} for r in learn(scenario, rule, data, args.plast_images, seed)]
    accuracy = frozen_accuracy(scenario, data, config, args.test_images, args.assign_images, seed=12345)
    row = dict(rule=rule_name, seed=seed, plast_images=args.plast_images, test_images=args.test_images)
    return {**row, "accuracy": accuracy, **means(records), "seconds": round(time.time() - start, 1)}


def rank_table(rows: list[dict]) -> str:
    """Spearman ρ of each candidate with accuracy (all rows, and the mean of the per-seed ρ), and whether it puts
    STDP above zero and random plasticity on every seed."""
    seeds = sorted({r["seed"] for r in rows})
    columns: dict[str, list[str]] = {
        "candidate": [],
        "ρ all rows": [],
        "ρ per seed (mean)": [],
        "STDP > zero, random": [],
    }
    accuracy = np.array([float(r["accuracy"]) for r in rows])
    for name in [f"{c}{s}" for c in CANDIDATES for s in ("", "_late")]:
        values = np.array([float(r[name]) for r in rows])
        per_seed = []
        beats = []
        for seed in seeds:
            sub = {r["rule"]: float(r[name]) for r in rows if r["seed"] == seed}
            acc = [float(r["accuracy"]) for r in rows if r["seed"] == seed]
            per_seed.append(spearmanr(list(sub.values()), acc).statistic)
            if {"stdp", "zero", "random"} <= set(sub):
                beats.append(sub["stdp"] > max(sub["zero"], sub["random"]))
        columns["candidate"].append(f"`{name}`")
        columns["ρ all rows"].append(f"{spearmanr(values, accuracy).statistic:+.2f}")
        columns["ρ per seed (mean)"].append(f"{np.nanmean(per_seed):+.2f} ({', '.join(f'{p:+.2f}' for p in per_seed)})")
        columns["STDP > zero, random"].append(f"{sum(beats)}/{len(beats)} seeds")
    return markdown_table(columns)


def accuracy_table(rows: list[dict]) -> str:
    """Held-out accuracy per rule (mean ± std over seeds, and per seed) and each candidate's mean over seeds."""
    rules = [r for r in RULES if any(row["rule"] == r for row in rows)]
    cells: dict[str, list[str]] = {"rule": rules, "accuracy": [], "per seed": []}
    cells.update({f"`{name}`": [] for name in CANDIDATES})
    for rule in rules:
        own = [r for r in rows if r["rule"] == rule]
        acc = [float(r["accuracy"]) for r in own]
        cells["accuracy"].append(f"{np.mean(acc):.3f} ± {np.std(acc):.3f}")
        cells["per seed"].append(", ".join(f"{a:.3f}" for a in acc))
        for name in CANDIDATES:
            cells[f"`{name}`"].append(f"{np.mean([float(r[name]) for r in own]):.3f}")
    return markdown_table(cells)


def parse_args(argv: list[str] | None = None):
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", choices=RULES, default=list(RULES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--plast-images", type=int, default=400)
    parser.add_argument("--assign-images", type=int, default=400)
    parser.add_argument("--test-images", type=int, default=400)
    parser.add_argument(
        "--env-kwargs", nargs="*", default=[], help="key:value overrides of the full size (YAML values)"
    )
    parser.add_argument("--out", default="eval/results/synapse/unsup_reward/validation.csv")
    parser.add_argument("--summary", action="store_true", help="only print the tables of --out")
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["plast_images", "assign_images", "test_images"], non_negative=["seeds"])
    args.env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    return args


def append_row(out: Path, row: dict) -> None:
    with out.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerow(row)


def main(report: Callable[[str], None] = print) -> None:
    args = parse_args()
    out = Path(args.out)
    if args.summary:
        rows = sorted(read_csv_rows(out), key=lambda r: int(r["seed"]))
        report(accuracy_table(rows) + "\n" + rank_table(rows))
        return
    torch.set_num_threads(1)
    # the scenario pays the design's reward (the `design` column); the other candidates come with every image
    config = make_config(scenario="unsup_single", **{**SIZES["full"]["unsup_single"], **args.env_kwargs, "unsup_reward": "design"})
    data = load_digits_split(config.data_source, config.n_train, config.n_test, config.split_seed, config.data_root)
    out.parent.mkdir(parents=True, exist_ok=True)
    for rule in args.rules:
        for seed in args.seeds:
            row = run(rule, seed, config, data, args)
            append_row(out, row)
            report(str({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}))


if __name__ == "__main__":
    main()
