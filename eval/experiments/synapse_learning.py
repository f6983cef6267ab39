"""Learning results of the synapse-plasticity envs: reference rules vs RL-trained rules, several seeds.

    python eval/experiments/synapse_learning.py --scenario grad_mimicry --rules zero random true_gradient ppo \\
        --third-factors none teacher --seeds 0 1 2 --train-steps 8000 --size small

Protocol for each (rule, third factor, seed):
1. RL rules (``a2c``, ``ppo``) are trained on an env seeded ``seed`` (its own network and images).
2. The rule (deterministic for RL) then drives a *fresh* network (env seeded ``seed + EVAL_SEED_OFFSET``) for
   ``--plast-images`` training images; Δw/g agreement (grad_mimicry) and episode rewards are averaged
   (``margin_shaping``, ``renew_every`` and ``paired_baseline`` act on the training env only: the fresh network
   is never renewed and reports the unshaped, unpaired reward). ``--load-models`` skips step 1 for saved rules;
   ``--validate-every N`` runs steps 2–3 on validation images from the training split every N training timesteps
   and keeps the rule with the best validation accuracy (:mod:`agents.synapse.validation`); ``--restarts N``
   trains N times from other training seeds and keeps the restart with the best validation accuracy.
3. Held-out accuracy of that network with frozen weights on ``--test-images`` test images
   (``env.evaluate``: output argmax, or Diehl–Cook label assignment on ``--assign-images``).
Rows are appended to a CSV; ``--summary`` prints a Markdown table of mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from copy import deepcopy
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import envs  # noqa: F401
from agents.hyperparams import load_hyperparams, resolve_dotted_list, resolve_hyperparams
from agents.registry import get_entry, load_agent, make_agent
from agents.synapse.layout import as_rows, split_rows
from agents.synapse.pair_rule import PairRuleAgent
from agents.synapse.validation import SynapseValidationCallback, run_rule, transfer
from envs.synapse import SCENARIO_IDS
from envs.synapse_multi import make_multi_agent_vec_env
from eval.experiments.synapse_sizes import SIZES
from eval.tables import markdown_table, mean_std_cell, read_csv_rows
from train.cli import OneLineParser, check_numbers, parse_key_values
from train.config import RUN_KEYS
from train.environments import EVAL_SEED_OFFSET

# --credit per_event: the multi-agent id whose agents are a scenario's event slots
PER_EVENT_IDS = {"grad_mimicry": "SynapseGradMimicryPerEvent-v0", "semi": "SynapseSemiPerEvent-v0"}
# env kwargs of the fresh (evaluated) network: training devices off
EVAL_OVERRIDES = dict(margin_shaping=0.0, renew_every=0, paired_baseline=False)
# --restarts: restart r trains with seed + r · RESTART_SEED_STRIDE (far from the test and validation seeds)
RESTART_SEED_STRIDE = 10_000
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
    "events_kept",
]


def make_env(scenario: str, size: str, third_factor: str, extra: dict[str, Any]) -> gym.Env:
    return gym.make(SCENARIO_IDS[scenario], **{**SIZES[size][scenario], "third_factor": third_factor, **extra})


def make_train_env(args: argparse.Namespace, third_factor: str, seed: int) -> tuple[Any, str]:
    """The env an RL rule trains on and the hyperparameter id: the scenario's env seeded ``seed``, or with
    ``--credit per_event`` its event slots as agents (:mod:`envs.synapse_multi.event_agents`) in one VecEnv."""
    extra = {**args.env_kwargs, **args.train_kwargs}
    if args.credit == "per_event":
        kwargs = {**SIZES[args.size][args.scenario], "third_factor": third_factor, **extra, "scenario": args.scenario}
        env_id = PER_EVENT_IDS[args.scenario]
        return make_multi_agent_vec_env(env_id, 1, seed, kwargs), env_id
    env = make_env(args.scenario, args.size, third_factor, extra)
    env.reset(seed=seed)
    return env, SCENARIO_IDS[args.scenario]


def build_rule(
    rule: str,
    env: gym.Env,
    seed: int,
    train_steps: int,
    env_id: str,
    overrides: dict[str, Any] | None = None,
    verbose: int = 0,
    extra_callbacks: list | None = None,
) -> Any:
    """A reference agent, or an SB3 model trained for ``train_steps`` with the repo's hyperparameters and
    callbacks (``overrides``: hyperparameters replacing those of ``agents/hyperparams/<rule>.yml``)."""
    if not get_entry(rule).learns:
        return make_agent(rule, env, seed=seed)
    params = {**load_hyperparams(rule, env_id), **(overrides or {})}
    callbacks = [cls(**kwargs) for cls, kwargs in resolve_dotted_list(params.get("callback"))]
    callbacks += extra_callbacks or []
    params = {k: v for k, v in params.items() if k not in RUN_KEYS}
    model = make_agent(rule, env, resolve_hyperparams(params), seed=seed, verbose=verbose)
    model.learn(total_timesteps=train_steps, callback=callbacks)
    return model


def save_artifacts(args: argparse.Namespace, rule: str, factor: str, seed: int, model: Any, env: gym.Env) -> None:
    """``--save-models``: the trained RL rule (SB3 zip); ``--fields-dir``: the network's receptive fields (PNG)."""
    name = f"{args.scenario}__{rule}__{factor}__{seed}"
    if args.save_models and hasattr(model, "save"):
        model.save(Path(args.save_models) / f"{name}.zip")
    if args.fields_dir:
        import matplotlib.pyplot as plt

        from envs.synapse.render import receptive_fields

        Path(args.fields_dir).mkdir(parents=True, exist_ok=True)
        network = env.unwrapped.network
        plt.imsave(
            Path(args.fields_dir) / f"{name}.png", receptive_fields(network.groups[0].weight, env.unwrapped.data.side)
        )


def validation_callback(
    args: argparse.Namespace, name: str, third_factor: str, seed: int, restart: int = 0
) -> SynapseValidationCallback | None:
    """``--validate-every N``: the test protocol on the last ``--val-images`` training images of a fresh network
    (seed ``seed + 2,000,000``, the same for every restart) every N training timesteps; the best rule goes to
    ``--save-models`` (or a temporary folder) as ``<scenario>__<rule>__<factor>__<seed>__best.zip``
    (``__r<restart>__best.zip`` for restarts after the first)."""
    if not args.validate_every:
        return None
    folder = Path(args.save_models) if args.save_models else Path(tempfile.mkdtemp(prefix="synapse_val_"))
    suffix = f"__r{restart}" if restart else ""
    kwargs = {**SIZES[args.size][args.scenario], "third_factor": third_factor, **args.env_kwargs, **EVAL_OVERRIDES}
    return SynapseValidationCallback(
        SCENARIO_IDS[args.scenario],
        kwargs,
        eval_freq=args.validate_every,
        plast_images=args.plast_images,
        n_val=args.val_images,
        seed=seed + 2_000_000,
        best_model_path=folder / f"{args.scenario}__{name}__{third_factor}__{seed}{suffix}__best.zip",
    )


def train_rule(args: argparse.Namespace, rule: str, name: str, third_factor: str, seed: int) -> Any:
    """Train an RL rule; with ``--validate-every``, the checkpoint with the best validation accuracy.

    With ``--restarts N`` (restarts ``--first-restart`` … + N − 1), restart ``r`` trains on its own network,
    images and policy initialisation (seed ``seed + r · RESTART_SEED_STRIDE``; restart 0 is the plain run) and
    is validated on the same validation network as the others; the rule of the restart with the best
    validation accuracy is returned (ties: the earlier restart). Test images play no part in the choice.
    """
    best, best_accuracy = None, -np.inf
    for restart in range(args.first_restart, args.first_restart + args.restarts):
        train_seed = seed + restart * RESTART_SEED_STRIDE
        train_env, env_id = make_train_env(args, third_factor, train_seed)
        validation = validation_callback(args, name, third_factor, seed, restart)
        callbacks = [validation] if validation else []
        model = build_rule(rule, train_env, train_seed, args.train_steps, env_id, args.params, args.verbose, callbacks)
        if not validation:
            return model
        print(f"restart {restart}: validation accuracy (timesteps, accuracy): {validation.history}", flush=True)
        if validation.best_accuracy > best_accuracy:
            best, best_accuracy = validation.best_model_path, validation.best_accuracy
    print(f"tested: {best} (validation accuracy {best_accuracy})", flush=True)
    return load_agent(rule, str(best), device="cpu")


def evaluate(args: argparse.Namespace, rule: str, third_factor: str, seed: int) -> dict[str, Any]:
    start = time.time()
    learns = rule not in DiagnosticRule.RULES and get_entry(rule).learns
    name = rule + ("+per_event" if learns and args.credit == "per_event" else "") + args.tag
    if learns and args.load_models:  # a saved rule of this seed instead of training one
        model = load_agent(rule, args.load_models.format(seed=seed), device="cpu")
    elif learns:
        model = train_rule(args, rule, name, third_factor, seed)
    # shaping and network renewal are training devices: the fresh network keeps its weights and reports
    # the scenario's own reward
    fresh = make_env(args.scenario, args.size, third_factor, {**args.env_kwargs, **EVAL_OVERRIDES})
    model = transfer(model, fresh) if learns else reference_rule(rule, fresh, seed, args.rule_params)
    fresh.reset(seed=seed + EVAL_SEED_OFFSET)
    before = fresh.unwrapped.evaluate(args.test_images, args.assign_images)
    metrics = run_rule(model, fresh, seed + EVAL_SEED_OFFSET, args.plast_images)
    accuracy = fresh.unwrapped.evaluate(args.test_images, args.assign_images)
    save_artifacts(args, name, third_factor, seed, model, fresh)
    return dict(
        scenario=args.scenario,
        rule=name,
        third_factor=third_factor,
        seed=seed,
        train_steps=args.train_steps if learns and not args.load_models else 0,
        plast_images=args.plast_images,
        test_images=args.test_images,
        accuracy=accuracy,
        accuracy_before=before,
        seconds=round(time.time() - start, 1),
        **metrics,
    )


class DiagnosticRule:
    """Hand-written rules for the credit diagnostics, reading the event rows only: ``potentiate`` and ``depress``
    (label-blind, ``Δd = ±pre_event``: every synapse whose presynaptic neuron spiked at this step) and
    ``label_bias`` (``Δd = third factor``, without the presynaptic spike of the three-factor rule: with the
    ``teacher`` factor it strengthens every event's synapse onto the label neuron and weakens the others)."""

    RULES = ("potentiate", "depress", "label_bias")

    def __init__(self, name: str, capacity: int) -> None:
        self.name, self.capacity = name, capacity

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        rows = split_rows(as_rows(np.asarray(observation, dtype=np.float32), self.capacity))
        if self.name == "label_bias":
            delta = np.clip(rows.scalar("third_factor"), -1.0, 1.0)
        else:
            delta = (1.0 if self.name == "potentiate" else -1.0) * rows.scalar("pre_event")
        return (delta * rows.scalar("mask")).astype(np.float32), state


def reference_rule(name: str, env: gym.Env, seed: int, params: str | None = None) -> Any:
    """A diagnostic rule (:class:`DiagnosticRule`), a registered reference agent, or the ``pair_rule`` agent with
    the parameters saved at ``params`` (``{seed}`` replaced by the seed)."""
    if name in DiagnosticRule.RULES:
        return DiagnosticRule(name, env.unwrapped.config.capacity)
    if name == PairRuleAgent.name and params:
        return PairRuleAgent.load(params.format(seed=seed), env)
    return make_agent(name, env, seed=seed)


def within_image(args: argparse.Namespace, factor: str, seed: int) -> str:
    """Credit diagnostic: each rule's episode reward on the *same* network state and spike train as the zero
    rule (the env is deep-copied per rule), over ``--within-image`` images of a fresh network that no rule
    changes. Markdown rows: mean reward, and the paired difference to zero plasticity ± its standard error."""
    env = make_env(args.scenario, args.size, factor, {**args.env_kwargs, **EVAL_OVERRIDES}).unwrapped
    obs, _ = env.reset(seed=seed + EVAL_SEED_OFFSET)
    rules = {name: reference_rule(name, env, seed) for name in ["zero", *args.rules]}
    rewards: dict[str, list[float]] = {name: [] for name in rules}
    for _ in range(args.within_image):
        for name, rule in rules.items():
            copy, o, done, total = deepcopy(env), obs, False, 0.0
            while not done:
                o, reward, done, _, _ = copy.step(rule.predict(o[None], deterministic=True)[0][0])
                total += reward
            rewards[name].append(total)
        obs, _ = env.reset()
    diffs = [np.array(values) - np.array(rewards["zero"]) for values in rewards.values()]
    return markdown_table(
        {
            "rule": list(rewards),
            "episode reward": [f"{np.mean(values):.3f}" for values in rewards.values()],
            "difference to zero (paired)": [f"{d.mean():+.3f} ± {d.std() / len(d) ** 0.5:.3f}" for d in diffs],
        }
    )


def fit_local_terms(model: Any, env: gym.Env, seed: int, images: int) -> str:
    """``semi``: least-squares fit of a rule's Δd on its events' local terms (m the third factor, s_pre and s_post
    the spikes at this step) over ``images`` images of a fresh network, and corr(Δd, m) / corr(Δd, s_pre·m): a
    learning three-factor rule follows ``s_pre·m``, a label-biasing one ``m`` alone."""
    capacity, obs = env.unwrapped.config.capacity, env.reset(seed=seed + EVAL_SEED_OFFSET)[0]
    terms, deltas = [], []
    for _ in range(images):
        done = False
        while not done:
            action = model.predict(obs[None], deterministic=True)[0][0]
            rows = split_rows(as_rows(obs, capacity))
            real = rows.scalar("mask") > 0
            m, pre, post = rows.scalar("third_factor"), rows.pre[:, -1], rows.post[:, -1]
            terms.append(np.stack([np.ones_like(m), m, pre * m, post * m, post], 1)[real])
            deltas.append(action[real])
            obs, _, done, _, _ = env.step(action)
        obs, _ = env.reset()
    x, y = np.concatenate(terms), np.concatenate(deltas)
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    r2 = 1 - np.mean((y - x @ coef) ** 2) / y.var()
    fit = " ".join(f"{c:+.3f}·{n}" for c, n in zip(coef, ["1", "m", "s_pre·m", "s_post·m", "s_post"], strict=True))
    return (
        f"{len(y)} events: Δd ≈ {fit} (R² {r2:.2f}); corr(Δd, m) {np.corrcoef(y, x[:, 1])[0, 1]:.2f}, "
        f"corr(Δd, s_pre·m) {np.corrcoef(y, x[:, 2])[0, 1]:.2f}"
    )


def diagnose(args: argparse.Namespace, path: str, factor: str, seed: int) -> str:
    """A saved rule on a fresh network. ``semi``: :func:`fit_local_terms` over 30 images. ``grad_mimicry``
    (teacher factor): over the first 20 images, how its Δd relates to −ĝ (ĝ = s_pre(t)·δ̂_post(t) from the
    observation) on events with ĝ ≠ 0 and ĝ = 0; every 50 of ``--plast-images`` images, the mean weight of each
    layer and the spike rates."""
    from stable_baselines3 import PPO

    env = make_env(args.scenario, args.size, factor, {**args.env_kwargs, **EVAL_OVERRIDES})
    model = transfer(PPO.load(path, device="cpu"), env)  # also a rule trained per event
    if args.scenario == "semi":
        return fit_local_terms(model, env, seed, 30)
    obs, _ = env.reset(seed=seed + EVAL_SEED_OFFSET)
    capacity, lines, pairs = env.unwrapped.config.capacity, [], []
    for image in range(args.plast_images):
        done = False
        while not done:
            action = model.predict(obs[None], deterministic=True)[0][0]
            rows = split_rows(as_rows(obs, capacity))
            real = rows.scalar("mask") > 0
            if image < 20:
                pairs.append((action[real], -(rows.pre[:, -1] * rows.scalar("third_factor"))[real]))
            obs, _, done, _, info = env.step(action)
        if (image + 1) % 50 == 0:
            means = [round(float(g.weight.mean()), 3) for g in env.unwrapped.network.groups]
            rates = {k.split("/")[1]: round(v, 3) for k, v in info.items() if k.startswith("spike_rate/")}
            lines.append(f"image {image + 1}: mean weights {means}, spike rates {rates}")
        obs, _ = env.reset()
    dd, target = (np.concatenate(x) for x in zip(*pairs, strict=True))
    grad = target != 0
    slope = float(dd[grad] @ target[grad] / (target[grad] @ target[grad]))
    head = (
        f"events with ĝ ≠ 0: corr(Δd, −ĝ) {np.corrcoef(dd[grad], target[grad])[0, 1]:.3f}, least-squares "
        f"Δd ≈ {slope:.3f}·(−ĝ) (optimum 1/2λ); events with ĝ = 0 ({1 - grad.mean():.0%}): mean Δd "
        f"{dd[~grad].mean():+.4f}, rms {np.sqrt(np.mean(dd[~grad] ** 2)):.3f}"
    )
    return "\n".join([head, *lines])


def summary(path: Path) -> str:
    """Markdown table: mean ± std over seeds per (scenario, rule, third factor)."""
    rows = read_csv_rows(path)
    keys = sorted({(r["scenario"], r["third_factor"], r["rule"]) for r in rows})
    groups = [[r for r in rows if (r["scenario"], r["third_factor"], r["rule"]) == key] for key in keys]
    columns = {header: [key[i] for key in keys] for i, header in enumerate(("scenario", "third factor", "rule"))}
    columns["seeds"] = [str(len(group)) for group in groups]
    for header, name in (
        ("test accuracy", "accuracy"),
        ("before plasticity", "accuracy_before"),
        ("cosine(Δw, −g)", "cosine"),
        ("sign agreement", "sign_agreement"),
        ("episode reward", "episode_reward"),
    ):
        columns[header] = [mean_std_cell([float(r[name]) for r in group]) for group in groups]
    return markdown_table(columns)


def append_row(out: Path, row: dict) -> None:
    """Append one result row to the CSV ``out``; the header is written only into an empty file, decided at write
    time, so runs started in parallel on the same file (one process per seed) leave one header."""
    with out.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerow(row)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with ``k:v`` lists (``--env-kwargs``, ``--train-kwargs``, ``-params``) as dicts."""
    parser = OneLineParser(description=__doc__.split("\n")[0])
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
    parser.add_argument("--train-kwargs", nargs="*", default=[], help="env overrides for RL training only")
    parser.add_argument(
        "--credit",
        choices=["step", "per_event"],
        default="step",
        help="RL training env: the scenario's (one reward per step) or per_event (each event slot an agent with "
        f"its own reward share or the shared image reward: {', '.join(PER_EVENT_IDS.values())}; --train-steps "
        "then counts events)",
    )
    parser.add_argument(
        "--validate-every",
        type=int,
        default=0,
        help="N > 0: every N training timesteps run the protocol on validation images (the last --val-images of "
        "the training split) and test the rule with the best validation accuracy instead of the last one",
    )
    parser.add_argument("--val-images", type=int, default=200, help="validation images (see --validate-every)")
    parser.add_argument(
        "--restarts",
        type=int,
        default=1,
        help="N > 1 (with --validate-every): train each RL rule N times from different training seeds and test "
        "the one with the best validation accuracy",
    )
    parser.add_argument(
        "--first-restart",
        type=int,
        default=0,
        help="index of the first restart (to run restarts in separate processes; restart 0 is the plain run)",
    )
    parser.add_argument("-params", "--params", nargs="*", default=[], help="RL hyperparameter overrides k:v")
    parser.add_argument("--verbose", type=int, default=0, help="SB3 verbosity of RL training (1: stats)")
    parser.add_argument("--save-models", default=None, help="folder for the trained RL rules (SB3 zips)")
    parser.add_argument(
        "--load-models",
        default=None,
        help="evaluate saved RL rules instead of training: a path with {seed}, e.g. DIR/semi__ppo__teacher__{seed}.zip",
    )
    parser.add_argument(
        "--rule-params",
        default=None,
        help="parameters of the pair_rule agent: a JSON path with {seed} (synapse_rule_search.py writes them)",
    )
    parser.add_argument("--fields-dir", default=None, help="folder for receptive-field PNGs after plasticity")
    parser.add_argument("--tag", default="", help="suffix of the rule name in the CSV (e.g. '+shaping')")
    parser.add_argument("--out", default="eval/results/synapse/learning.csv")
    parser.add_argument("--summary", action="store_true", help="only print the table of --out")
    parser.add_argument("--within-image", type=int, default=0, help="N > 0: only the paired credit diagnostic")
    parser.add_argument("--diagnose", default=None, help="a saved rule (zip): only its drift diagnostic")
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["train_steps", "plast_images", "test_images", "assign_images"], non_negative=["seeds"])
    if args.credit == "per_event" and args.scenario not in PER_EVENT_IDS:
        parser.error(f"--credit per_event needs --scenario in {', '.join(PER_EVENT_IDS)}, not {args.scenario!r}")
    if args.validate_every < 0 or args.val_images < 1:
        parser.error(f"--validate-every {args.validate_every} / --val-images {args.val_images}: allowed >= 0 / >= 1")
    if args.restarts < 1 or args.first_restart < 0:
        parser.error(f"--restarts {args.restarts} / --first-restart {args.first_restart}: allowed >= 1 / >= 0")
    if (args.restarts > 1 or args.first_restart) and not args.validate_every:
        parser.error("--restarts N > 1 and --first-restart choose among rules by validation: add --validate-every")
    if args.validate_every and args.load_models:
        parser.error("--validate-every chooses among rules during training; it cannot be used with --load-models")
    try:
        for name, flag in (("env_kwargs", "--env-kwargs"), ("params", "-params"), ("train_kwargs", "--train-kwargs")):
            setattr(args, name, parse_key_values(getattr(args, name), flag))
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    return args


def main() -> None:
    args = parse_args()
    out = Path(args.out)
    if args.summary:
        print(summary(out), end="")
        return
    torch.set_num_threads(1)
    if args.within_image or args.diagnose:
        run = within_image if args.within_image else partial(diagnose, path=args.diagnose)
        print(run(args, factor=args.third_factors[0], seed=args.seeds[0]).rstrip("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    for factor in args.third_factors:
        for rule in args.rules:
            if rule in ("true_gradient", "three_factor") and factor != "teacher":
                continue  # needs the BPTT error in the observation
            for seed in args.seeds:
                row = evaluate(args, rule, factor, seed)
                append_row(out, row)
                print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)


if __name__ == "__main__":
    main()
