"""A plasticity rule learned without labels for ``unsup_single``: search, then held-out accuracy beside STDP and zero.

    python eval/experiments/synapse_rule_search.py search --seeds 0 --out eval/results/synapse/rule_search
    python eval/experiments/synapse_rule_search.py evaluate --seeds 0 1 2 --out eval/results/synapse/rule_search
    python eval/experiments/synapse_rule_search.py summary --out eval/results/synapse/rule_search

``search`` runs :func:`agents.synapse.rule_search.search` once per seed (full size unless ``--env-kwargs`` says
otherwise; fitness = the scenario's label-free reward) and writes ``search_<seed>.csv`` (every candidate) and
``pair_rule__<seed>.json`` (the chosen rule, loadable by the ``pair_rule`` agent). ``evaluate`` trains a fresh network
of each evaluation seed with the seed's learned rule, Diehl–Cook STDP and zero plasticity on ``--plast-images``
training images (every event, :mod:`envs.synapse.dense_plasticity`), then scores held-out accuracy (Diehl–Cook label
assignment, as ``env.evaluate``) and appends rows to ``evaluation.csv``; ``--fixed a_post=3,a_pre=0.03`` adds a
rule with those parameters (the others Diehl–Cook's), named ``fixed:<spec>``. ``summary`` prints the paired table.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from agents.synapse.pair_rule import DensePairRule, PairRuleParameters, load_parameters, save_parameters
from agents.synapse.rule_search import SearchSettings, search
from envs.synapse.config import SynapseEnvConfig, make_config
from envs.synapse.data import DigitData, load_digits_split
from envs.synapse.dense_plasticity import learn
from envs.synapse.evaluation import frozen_accuracy
from envs.synapse.scenarios import UnsupervisedScenario
from eval.experiments.synapse_sizes import SIZES
from eval.tables import markdown_table
from train.cli import OneLineParser, check_numbers, parse_key_values

EVAL_RULES = ("pair_rule", "stdp", "zero")
EVAL_FIELDS = ["rule", "seed", "plast_images", "test_images", "accuracy", "accuracy_before", "reward", "seconds"]


class NoPlasticity:
    """Zero plasticity as a dense rule: the network runs and nothing changes."""

    def begin_image(self) -> None:
        pass

    def step(self, spikes: dict[str, torch.Tensor]) -> None:
        pass


def rule_path(out: Path, seed: int) -> Path:
    return out / f"pair_rule__{seed}.json"


def append_rows(path: Path, rows: list[dict]) -> None:
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerows(rows)


def run_search(args, config: SynapseEnvConfig, data: DigitData, report: Callable[[str], None]) -> None:
    settings = SearchSettings(generations=args.generations, population=args.population, images=args.images)
    for seed in args.seeds:
        start = time.time()
        params, rows = search(config, data, settings, seed, report=lambda row: report(str(_rounded(row))))
        for row in rows:
            row["seed"] = seed
        (args.out / f"search_{seed}.csv").unlink(missing_ok=True)
        append_rows(args.out / f"search_{seed}.csv", rows)
        save_parameters(rule_path(args.out, seed), params, seed)
        report(f"seed {seed}: {params} in {time.time() - start:.0f} s -> {rule_path(args.out, seed)}")


def evaluate_rule(rule: str, seed: int, config: SynapseEnvConfig, data: DigitData, args) -> dict:
    """Held-out accuracy of a fresh network seeded ``seed`` before and after ``--plast-images`` images of ``rule``."""
    start = time.time()
    scenario = UnsupervisedScenario(config, data.train_x.shape[1], torch.Generator().manual_seed(seed))
    group = scenario.network.groups[0]
    if rule.startswith("fixed:"):
        dense = DensePairRule(group, fixed_parameters(rule.removeprefix("fixed:")))
    else:
        dense = {
            "pair_rule": lambda: DensePairRule(group, load_parameters(rule_path(args.out, seed))[0]),
            "stdp": lambda: DensePairRule(group, PairRuleParameters()),
            "zero": NoPlasticity,
        }[rule]()
    before = frozen_accuracy(scenario, data, config, args.test_images, args.assign_images, seed=12345)
    records = learn(scenario, dense, data, args.plast_images, seed)
    accuracy = frozen_accuracy(scenario, data, config, args.test_images, args.assign_images, seed=12345)
    paid = [r[config.unsup_reward] for r in records if r.get(config.unsup_reward) is not None]
    return dict(rule=rule, seed=seed, plast_images=args.plast_images, test_images=args.test_images, accuracy=accuracy,
                accuracy_before=before, reward=float(np.mean(paid)), seconds=round(time.time() - start, 1))


def fixed_parameters(spec: str) -> PairRuleParameters:
    """``"a_post=3,a_pre=0.03"`` → those parameters, Diehl–Cook's for the others; a bad spec raises ``ValueError``."""
    try:
        values = {key.strip(): float(value) for key, value in (item.split("=") for item in spec.split(","))}
        return PairRuleParameters(**values)
    except (TypeError, ValueError) as error:
        names = ", ".join(PairRuleParameters.__dataclass_fields__)
        raise ValueError(f"--fixed {spec!r} is not valid: comma-separated name=number with names {names} ({error})") from error


def summary(path: Path) -> str:
    """Accuracy per rule and seed, and the learned rule's paired difference with STDP and zero."""
    rows = list(csv.DictReader(path.open()))
    acc = {(r["rule"], int(r["seed"])): float(r["accuracy"]) for r in rows}
    seeds = sorted({s for _, s in acc})
    table = {"rule": [], "accuracy (mean ± std)": [], "per seed": [], "paired with STDP": []}
    fixed = sorted({rule for rule, _ in acc if rule not in EVAL_RULES})
    for rule in (*EVAL_RULES, *fixed):
        own = [acc[(rule, s)] for s in seeds if (rule, s) in acc]
        if not own:
            continue
        table["rule"].append(rule)
        table["accuracy (mean ± std)"].append(f"{np.mean(own):.3f} ± {np.std(own):.3f}")
        table["per seed"].append(", ".join(f"{acc[(rule, s)]:.3f}" if (rule, s) in acc else "–" for s in seeds))
        paired = [s for s in seeds if (rule, s) in acc and ("stdp", s) in acc and rule != "stdp"]
        diffs = [acc[(rule, s)] - acc[("stdp", s)] for s in paired]
        better = sum(d >= 0 for d in diffs)
        table["paired with STDP"].append(f"{np.mean(diffs):+.3f}, ≥ STDP on {better}/{len(diffs)}" if diffs else "–")
    return f"seeds {seeds}\n" + markdown_table(table)


def _rounded(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def parse_args(argv: list[str] | None = None):
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["search", "evaluate", "summary"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("eval/results/synapse/rule_search"))
    parser.add_argument("--generations", type=int, default=SearchSettings.generations)
    parser.add_argument("--population", type=int, default=SearchSettings.population)
    parser.add_argument("--images", type=int, default=SearchSettings.images, help="training images per candidate")
    parser.add_argument("--rules", nargs="+", choices=EVAL_RULES, default=list(EVAL_RULES))
    parser.add_argument("--fixed", nargs="*", default=[], help="evaluate also these parameters, e.g. a_post=3,a_pre=0.03")
    parser.add_argument("--plast-images", type=int, default=1000)
    parser.add_argument("--assign-images", type=int, default=1000)
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--env-kwargs", nargs="*", default=[], help="key:value overrides of the full size (YAML)")
    args = parser.parse_args(argv)
    check_numbers(
        parser, args, non_negative=["seeds"],
        positive=["generations", "population", "images", "plast_images", "assign_images", "test_images"],
    )
    args.env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    try:
        for spec in args.fixed:
            fixed_parameters(spec)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None, report: Callable[[str], None] = print) -> None:
    args = parse_args(argv)
    if args.command == "summary":
        report(summary(args.out / "evaluation.csv"))
        return
    torch.set_num_threads(1)
    config = make_config(scenario="unsup_single", **{**SIZES["full"]["unsup_single"], **args.env_kwargs})
    data = load_digits_split(config.data_source, config.n_train, config.n_test, config.split_seed, config.data_root)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.command == "search":
        run_search(args, config, data, report)
        return
    for seed in args.seeds:
        for rule in [*args.rules, *(f"fixed:{spec}" for spec in args.fixed)]:
            row = evaluate_rule(rule, seed, config, data, args)
            append_rows(args.out / "evaluation.csv", [row])
            report(str(_rounded(row)))


if __name__ == "__main__":
    main()
