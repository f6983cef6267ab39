"""A plasticity rule learned without labels for ``unsup_single`` and ``unsup_dual``: search, then held-out accuracy.

    python eval/experiments/synapse_rule_search.py search --seeds 0 --out eval/results/synapse/rule_search
    python eval/experiments/synapse_rule_search.py evaluate --seeds 0 1 2 --out eval/results/synapse/rule_search
    python eval/experiments/synapse_rule_search.py summary --out eval/results/synapse/rule_search
    python eval/experiments/synapse_rule_search.py search --scenario unsup_dual --seeds 0   # after the first search
    python eval/experiments/synapse_rule_search.py select --seeds 0   # again among the search's best, on more networks

``search`` runs :func:`agents.synapse.rule_search.search` once per seed (full size unless ``--env-kwargs`` says
otherwise; fitness = the scenario's label-free reward) and writes ``search_<seed>.csv`` (every candidate) and
``pair_rule__<seed>.json`` (the chosen rule, loadable by the ``pair_rule`` agent). With ``--scenario unsup_dual`` it
searches the second policy, the I→E rule, beside the seed's input→E rule of ``--excitatory`` (default: the
``unsup_single`` search's ``pair_rule__<seed>.json``), and writes ``search_dual_<seed>.csv`` and
``pair_rule_dual__<seed>.json`` (both rules). ``evaluate`` trains a fresh network of each evaluation seed with the
seed's learned rule(s), Diehl–Cook STDP and zero plasticity on ``--plast-images`` training images (every event,
:mod:`envs.synapse.dense_plasticity`), then scores held-out accuracy (Diehl–Cook label assignment, as
``env.evaluate``) and appends rows to ``evaluation.csv`` (``evaluation_dual.csv``); ``--fixed a_post=3,a_pre=0.03``
adds a rule with those parameters (the others Diehl–Cook's), named ``fixed:<spec>``; ``--networks 100 101`` instead
runs every seed's learned rule and STDP once on each of those network seeds (``evaluation_networks.csv``: more
networks per rule than the seeds give). ``select`` scores a finished search's ``--finalists`` best candidates again on
``--select-networks`` fresh networks (label-free, as the search) and saves the best mean as
``pair_rule_selected__<seed>.json`` (``select_<seed>.csv``), evaluated as rule ``pair_rule_selected``. ``rank
--networks 100 101`` runs the ``evaluate --networks`` runs on those networks again with every label-free statistic
(``candidates_networks.csv``) and ranks each against held-out accuracy. ``summary`` prints the tables.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from agents.synapse.pair_rule import (
    PairRuleParameters,
    SavedRule,
    dense_pair_rules,
    load_parameters,
    save_parameters,
)
from agents.synapse.rule_search import SearchSettings, inhibitory_scale, search, select
from envs.synapse.config import SynapseEnvConfig, make_config
from envs.synapse.data import DigitData, load_digits_split
from envs.synapse.dense_plasticity import CombinedRule, DenseRule, learn
from envs.synapse.evaluation import frozen_accuracy
from envs.synapse.rewards import UNSUP_REWARDS
from envs.synapse.scenarios import UnsupervisedScenario
from eval.experiments.synapse_reward_validation import means
from eval.experiments.synapse_sizes import SIZES
from eval.tables import markdown_table, read_csv_rows
from train.cli import OneLineParser, check_numbers, parse_key_values

EVAL_RULES = ("pair_rule", "pair_rule_selected", "stdp", "zero")
RANKED = (*UNSUP_REWARDS[1:], "diversity", "sparsity")  # the label-free statistics `rank` compares with accuracy
EVAL_FIELDS = ["rule", "seed", "plast_images", "test_images", "accuracy", "accuracy_before", "reward", "seconds"]


def suffix(scenario: str) -> str:
    """File-name suffix of a scenario's results: none for ``unsup_single``, ``_dual`` for ``unsup_dual``."""
    return "_dual" if scenario == "unsup_dual" else ""


def rule_path(out: Path, seed: int, scenario: str = "unsup_single", selected: bool = False) -> Path:
    """The rule file of search ``seed``: the search's choice, or with ``selected`` the ``select`` command's."""
    return out / f"pair_rule{'_selected' if selected else ''}{suffix(scenario)}__{seed}.json"


def append_rows(path: Path, rows: list[dict]) -> None:
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerows(rows)


def run_search(args, config: SynapseEnvConfig, data: DigitData, report: Callable[[str], None]) -> None:
    elite = min(SearchSettings.elite, args.population)
    settings = SearchSettings(generations=args.generations, population=args.population, elite=elite, images=args.images)
    for seed in args.seeds:
        start = time.time()
        excitatory = load_parameters(args.excitatory.format(seed=seed)).params if args.scenario == "unsup_dual" else None
        params, rows = search(config, data, settings, seed, lambda row: report(str(_rounded(row))), excitatory,
                              fixed_parameters(args.start, "--start") if args.start else None)
        for row in rows:
            row["seed"] = seed
        table = args.out / f"search{suffix(args.scenario)}_{seed}.csv"
        table.unlink(missing_ok=True)
        append_rows(table, rows)
        path = rule_path(args.out, seed, args.scenario)
        if excitatory is None:
            save_parameters(path, params, seed)
        else:
            save_parameters(path, excitatory, seed, inhibitory=params)
        report(f"seed {seed}: {params} in {time.time() - start:.0f} s -> {path}")


def best_candidates(table: Path, count: int) -> list[PairRuleParameters]:
    """The ``count`` best distinct candidates of a search table (its search phase, by fitness)."""
    if not table.exists():
        raise FileNotFoundError(f"no search table {table}: run search for this seed first")
    rows = [r for r in read_csv_rows(table) if r["phase"] == "search"]
    names = list(PairRuleParameters.__dataclass_fields__)
    distinct: dict[tuple, PairRuleParameters] = {}
    for row in sorted(rows, key=lambda r: -float(r["fitness"])):
        params = PairRuleParameters(**{name: float(row[name]) for name in names})
        distinct.setdefault(tuple(round(float(row[name]), 6) for name in names), params)
    return list(distinct.values())[:count]


def run_select(args, config: SynapseEnvConfig, data: DigitData, report: Callable[[str], None]) -> None:
    """``select``: each seed's ``--finalists`` best search candidates, scored again on ``--select-networks`` fresh
    networks (seeded ``1000 * (seed + 1) + 200 + j``, seen by no search or evaluation); the best mean is saved."""
    for seed in args.seeds:
        start = time.time()
        candidates = best_candidates(args.out / f"search{suffix(args.scenario)}_{seed}.csv", args.finalists)
        dual = load_parameters(rule_path(args.out, seed, args.scenario)) if args.scenario == "unsup_dual" else None
        networks = [1000 * (seed + 1) + 200 + j for j in range(args.select_networks)]
        excitatory = dual.params if dual else None
        params, rows = select(candidates, config, data, args.images, networks, lambda r: report(str(_rounded(r))),
                              excitatory)
        for row in rows:
            row.update(seed=seed, networks=" ".join(map(str, networks)))
        table = args.out / f"select{suffix(args.scenario)}_{seed}.csv"
        table.unlink(missing_ok=True)
        append_rows(table, rows)
        path = rule_path(args.out, seed, args.scenario, selected=True)
        if dual:
            save_parameters(path, dual.params, seed, inhibitory=params)
        else:
            save_parameters(path, params, seed)
        report(f"seed {seed}: selected {params} in {time.time() - start:.0f} s -> {path}")


def rule_parameters(rule: str, seed: int, args) -> SavedRule | None:
    """The parameters the rule named ``rule`` stands for (of search ``seed``); ``None`` for ``zero``."""
    if rule == "zero":
        return None
    if rule.startswith("fixed:"):
        return SavedRule(fixed_parameters(rule.removeprefix("fixed:")), None, None)
    if rule == "stdp":
        return SavedRule(PairRuleParameters(), None, None)
    return load_parameters(rule_path(args.out, seed, args.scenario, selected=rule == "pair_rule_selected"))


def dense_rule(rule: str, seed: int, groups: list, config: SynapseEnvConfig, args) -> DenseRule:
    """The dense rule named ``rule`` on a network's ``groups`` (``zero``: no rule at all)."""
    saved = rule_parameters(rule, seed, args)
    if saved is None:
        return CombinedRule([])
    return dense_pair_rules(groups, saved.params, saved.inhibitory, inhibitory_scale(config))


def evaluate_rule(
    rule: str, seed: int, config: SynapseEnvConfig, data: DigitData, args, network: int | None = None,
    candidates: bool = False,
) -> dict:
    """Held-out accuracy of a fresh network seeded ``network`` (default ``seed``) before and after
    ``--plast-images`` images of ``rule`` (the learned rule of search ``seed``); with ``candidates`` also the mean
    of every label-free statistic over the run and over its last quarter (``<name>_late``)."""
    start = time.time()
    network = seed if network is None else network
    scenario = UnsupervisedScenario(config, data.train_x.shape[1], torch.Generator().manual_seed(network))
    dense = dense_rule(rule, seed, scenario.network.groups, config, args)
    before = frozen_accuracy(scenario, data, config, args.test_images, args.assign_images, seed=12345)
    records = learn(scenario, dense, data, args.plast_images, network)
    accuracy = frozen_accuracy(scenario, data, config, args.test_images, args.assign_images, seed=12345)
    paid = [r[config.unsup_reward] for r in records if r.get(config.unsup_reward) is not None]
    row = dict(rule=rule, seed=seed, plast_images=args.plast_images, test_images=args.test_images, accuracy=accuracy,
               accuracy_before=before, reward=float(np.mean(paid)))
    return {**row, **(means(records, RANKED) if candidates else {}), "seconds": round(time.time() - start, 1)}


def rank_on_networks(args, config: SynapseEnvConfig, data: DigitData, report: Callable[[str], None]) -> None:
    """``rank``: the runs of ``evaluation_networks.csv`` on ``--networks`` again (the same runs: the accuracy must
    repeat), now with every label-free statistic, into ``candidates_networks.csv``; then Spearman ρ of each with
    held-out accuracy."""
    table, out = (args.out / f"{name}{suffix(args.scenario)}_networks.csv" for name in ("evaluation", "candidates"))
    if not table.exists():
        raise FileNotFoundError(f"no {table}: run evaluate --networks first")
    runs = {}
    for earlier in read_csv_rows(table):
        seed = args.seeds[0] if earlier["seed"] == "-" else int(earlier["seed"])
        if int(earlier["network"]) in args.networks:  # a rule evaluated under two names (same parameters) runs once
            saved = rule_parameters(earlier["rule"], seed, args)
            identity = None if saved is None else (saved.params, saved.inhibitory)
            runs.setdefault((earlier["network"], repr(identity)), (earlier, seed))
    for earlier, seed in runs.values():
        row = evaluate_rule(earlier["rule"], seed, config, data, args, int(earlier["network"]), candidates=True)
        row.update(seed=earlier["seed"], network=earlier["network"], accuracy_earlier=float(earlier["accuracy"]))
        append_rows(out, [row])
        report(str(_rounded(row)))
    report(rank_summary(out))


def rank_correlation(values, accuracy) -> float:
    """Spearman ρ, NaN (without SciPy's warning) where either side is constant and ρ is undefined."""
    if np.ptp(values) == 0 or np.ptp(accuracy) == 0:
        return float("nan")
    return float(spearmanr(values, accuracy).statistic)


def rank_summary(path: Path) -> str:
    """Spearman ρ of each statistic with held-out accuracy over every run, and its mean within a network
    (networks where ρ is undefined are left out; "n/a" where it is undefined everywhere)."""
    rows = read_csv_rows(path)
    accuracy = np.array([float(r["accuracy"]) for r in rows])
    network_of_row = np.array([r["network"] for r in rows])
    networks = sorted(set(network_of_row))
    table: dict[str, list[str]] = {"statistic": [], "ρ, every run": [], "ρ within a network (mean)": []}

    def cell(rho: float) -> str:
        return "n/a" if np.isnan(rho) else f"{rho:+.2f}"

    for name in [f"{n}{ending}" for n in RANKED for ending in ("", "_late")]:
        values = np.array([float(r[name]) for r in rows])
        within = [rank_correlation(values[network_of_row == n], accuracy[network_of_row == n]) for n in networks]
        defined = [rho for rho in within if not np.isnan(rho)]
        table["statistic"].append(f"`{name}`")
        table["ρ, every run"].append(cell(rank_correlation(values, accuracy)))
        table["ρ within a network (mean)"].append(cell(float(np.mean(defined)) if defined else float("nan")))
    return f"{len(rows)} runs on networks {', '.join(networks)}\n" + markdown_table(table)


def evaluate_on_networks(args, config: SynapseEnvConfig, data: DigitData, report: Callable[[str], None]) -> None:
    """``--networks``: every seed's learned rule, and once each the other rules, on each of the network seeds."""
    for network in args.networks:
        for rule in args.rules:
            learned = rule.startswith("pair_rule")
            for seed in args.seeds if learned else args.seeds[:1]:
                row = evaluate_rule(rule, seed, config, data, args, network)
                row.update(seed=seed if learned else "-", network=network)
                append_rows(args.out / f"evaluation{suffix(args.scenario)}_networks.csv", [row])
                report(str(_rounded(row)))


def fixed_parameters(spec: str, option: str = "--fixed") -> PairRuleParameters:
    """``"a_post=3,a_pre=0.03"`` → those parameters, Diehl–Cook's for the others; a bad spec raises ``ValueError``."""
    try:
        values = {key.strip(): float(value) for key, value in (item.split("=") for item in spec.split(","))}
        return PairRuleParameters(**values)
    except (TypeError, ValueError) as error:
        names = ", ".join(PairRuleParameters.__dataclass_fields__)
        raise ValueError(f"{option} {spec!r} is not valid: comma-separated name=number with names {names} ({error})") from error


def summary(path: Path) -> str:
    """Accuracy per rule and seed, and the learned rule's paired difference with STDP and zero."""
    rows = read_csv_rows(path)
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


def networks_summary(path: Path) -> str:
    """Per search seed, its rule's accuracy on the extra networks, paired with STDP on the same networks."""
    rows = read_csv_rows(path)
    stdp = {r["network"]: float(r["accuracy"]) for r in rows if r["rule"] == "stdp"}
    table = {"rule": ["stdp"], "networks": [str(len(stdp))], "accuracy (mean ± std)": [_mean_std(stdp.values())],
             "paired with STDP": ["–"]}
    learned = [r for r in rows if r["rule"].startswith("pair_rule") and r["network"] in stdp]
    groups = sorted({(r["rule"], r["seed"]) for r in learned})
    for rule, seed in [(rule, None) for rule in sorted({rule for rule, _ in groups})] + groups:
        own = [r for r in learned if r["rule"] == rule and (seed is None or r["seed"] == seed)]
        diffs = [float(r["accuracy"]) - stdp[r["network"]] for r in own]
        table["rule"].append(f"{rule}, every seed" if seed is None else f"{rule} of seed {seed}")
        table["networks"].append(str(len(own)))
        table["accuracy (mean ± std)"].append(_mean_std(float(r["accuracy"]) for r in own))
        table["paired with STDP"].append(f"{np.mean(diffs):+.3f}, ≥ STDP on {sum(d >= 0 for d in diffs)}/{len(diffs)}")
    return markdown_table(table)


def _mean_std(values) -> str:
    values = list(values)
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def _rounded(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def parse_args(argv: list[str] | None = None):
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["search", "select", "evaluate", "rank", "summary"])
    parser.add_argument("--scenario", choices=["unsup_single", "unsup_dual"], default="unsup_single")
    parser.add_argument("--excitatory", default=None,
                        help="unsup_dual search: the input→E rule of each seed ({seed} replaced; default: "
                             "<out>/pair_rule__{seed}.json)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("eval/results/synapse/rule_search"))
    parser.add_argument("--generations", type=int, default=SearchSettings.generations)
    parser.add_argument("--population", type=int, default=SearchSettings.population)
    parser.add_argument("--images", type=int, default=SearchSettings.images, help="training images per candidate")
    parser.add_argument("--rules", nargs="+", choices=EVAL_RULES, default=["pair_rule", "stdp", "zero"])
    parser.add_argument("--finalists", type=int, default=6, help="select: this many best candidates of each search")
    parser.add_argument("--select-networks", type=int, default=6, help="select: fresh networks per candidate")
    parser.add_argument("--start", default=None,
                        help="search: start the search distribution at these parameters (the others Diehl–Cook's), "
                             "e.g. a_post=0.1,a_pre=0.001: Diehl–Cook STDP at eta_exc 0.1")
    parser.add_argument("--fixed", nargs="*", default=[], help="evaluate also these parameters, e.g. a_post=3,a_pre=0.03")
    parser.add_argument("--networks", nargs="*", type=int, default=[],
                        help="evaluate: every seed's learned rule on these network seeds instead (one file)")
    parser.add_argument("--plast-images", type=int, default=1000)
    parser.add_argument("--assign-images", type=int, default=1000)
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--env-kwargs", nargs="*", default=[], help="key:value overrides of the full size (YAML)")
    args = parser.parse_args(argv)
    check_numbers(
        parser, args, non_negative=["seeds", "networks"],
        positive=["generations", "population", "images", "plast_images", "assign_images", "test_images", "finalists",
                  "select_networks"],
    )
    args.env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    args.excitatory = args.excitatory or str(args.out / "pair_rule__{seed}.json")
    if args.command == "rank" and not args.networks:
        parser.error("rank needs --networks: the network seeds of evaluate --networks to run again")
    try:
        for spec in args.fixed:
            fixed_parameters(spec)
        if args.start:
            fixed_parameters(args.start, "--start")
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None, report: Callable[[str], None] = print) -> None:
    args = parse_args(argv)
    if args.command == "summary":
        tables = {f"evaluation{suffix(args.scenario)}.csv": summary,
                  f"evaluation{suffix(args.scenario)}_networks.csv": networks_summary,
                  f"candidates{suffix(args.scenario)}_networks.csv": rank_summary}
        found = [name for name in tables if (args.out / name).exists()]
        if not found:
            raise FileNotFoundError(f"no {' or '.join(tables)} in {args.out}: run evaluate first")
        for name in found:
            report(tables[name](args.out / name))
        return
    torch.set_num_threads(1)
    config = make_config(scenario=args.scenario, **{**SIZES["full"][args.scenario], **args.env_kwargs})
    data = load_digits_split(config.data_source, config.n_train, config.n_test, config.split_seed, config.data_root)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.command in ("search", "select"):
        (run_search if args.command == "search" else run_select)(args, config, data, report)
        return
    if args.command == "rank" or args.networks:
        (rank_on_networks if args.command == "rank" else evaluate_on_networks)(args, config, data, report)
        return
    for seed in args.seeds:
        for rule in [*args.rules, *(f"fixed:{spec}" for spec in args.fixed)]:
            row = evaluate_rule(rule, seed, config, data, args)
            append_rows(args.out / f"evaluation{suffix(args.scenario)}.csv", [row])
            report(str(_rounded(row)))


if __name__ == "__main__":
    main()
