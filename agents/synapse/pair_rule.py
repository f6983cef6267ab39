"""A pair-based plasticity rule with free parameters: the family that contains Diehl–Cook STDP.

At a synapse event (pre or post neuron spiked now)::

    Δd = clip(a_post·(x_pre − x_tar)·(1 − w)^mu·post_event − a_pre·x_post·w^mu·pre_event, −1, 1)

with traces ``x`` that jump to 1 at a spike and decay with ``tau_pre`` / ``tau_post`` steps and ``w`` the weight
mapped to [0, 1] within the group's bounds (the observation's ``weight`` column); the env applies ``Δw = η·Δd``.
``x_tar`` is Diehl & Cook's presynaptic target: at a post spike, synapses from inputs that were not active lately
weaken (heterosynaptic depression); ``mu`` makes steps shrink near the bounds (soft bounds). With ``x_tar = mu = 0``
and ``a_post = 1, a_pre = 0.01, tau = 20`` it is the ``stdp`` agent (:class:`~agents.synapse.reference.STDPAgent`).

* :class:`PairRuleAgent` (registered as ``pair_rule``) applies it to the event rows of a synapse env and saves or
  loads its parameters as JSON, e.g. those found by :mod:`agents.synapse.rule_search`. Inhibitory (I→E) groups stay
  fixed, as in Diehl–Cook, unless a second parameter set ``inhibitory`` is given: two rules, one per group, the
  ``unsup_dual`` scenario's two policies.
* :class:`DensePairRule` applies the same rule to every event of a synapse group at once, outside the env: the
  fast path of the search, equal to the agent on every event the env does not drop (``capacity``);
  :func:`dense_pair_rules` builds the rules of a network's groups.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from agents.synapse.layout import EventRows
from agents.synapse.reference import STDPAgent, trace
from agents.synapse.stdp import STDPParameters, STDPState, stdp_initial_state, update_traces
from envs.synapse.dense_plasticity import CombinedRule, DenseRule
from envs.synapse.groups import SynapseGroup


@dataclass(frozen=True)
class PairRuleParameters:
    """Amplitudes in Δd units (the env multiplies by η), trace time constants in steps, presynaptic target ``x_tar``
    and soft-bound exponent ``mu``; the defaults are Diehl–Cook STDP."""

    a_post: float = 1.0
    a_pre: float = 0.01
    tau_pre: float = 20.0
    tau_post: float = 20.0
    x_tar: float = 0.0
    mu: float = 0.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            positive = name.startswith("tau")
            if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
                allowed = "a finite number > 0" if positive else "a finite number >= 0"
                raise ValueError(f"{name}={value!r} is not allowed: {allowed}")


class PairRuleAgent(STDPAgent):
    """The pair rule on a synapse env's event rows; inhibitory groups stay fixed (as for STDP) unless ``inhibitory``
    gives their own rule.

    Args:
        env: a synapse env (or VecEnv of one).
        seed: unused (the rule is deterministic); kept for the agents' common signature.
        params: the rule's parameters (default: Diehl–Cook STDP).
        inhibitory: the rule of the inhibitory (I→E) groups; ``None`` keeps them fixed.
    """

    name = "pair_rule"

    def __init__(
        self,
        env,
        seed: int | None = None,
        params: PairRuleParameters | None = None,
        inhibitory: PairRuleParameters | None = None,
    ) -> None:
        super().__init__(env, seed)
        self.params, self.inhibitory = params or PairRuleParameters(), inhibitory

    def delta(self, rows: EventRows) -> np.ndarray:
        dd = pair_delta(rows, self.params)
        if self.inhibitory is None:
            return self.freeze_inhibitory(dd, rows)
        inhibitory = self.inhibitory_rows(rows)
        dd[inhibitory] = pair_delta(rows, self.inhibitory)[inhibitory]
        return dd

    def save(self, path: str | Path) -> None:
        save_parameters(path, self.params, self.seed, self.inhibitory)

    @classmethod
    def load(cls, path: str | Path, env) -> PairRuleAgent:
        saved = load_parameters(path)
        return cls(env, seed=saved.seed, params=saved.params, inhibitory=saved.inhibitory)


def pair_delta(rows: EventRows, p: PairRuleParameters) -> np.ndarray:
    """The rule's unclipped Δd for every event row."""
    x_pre, x_post, w = trace(rows.pre, p.tau_pre), trace(rows.post, p.tau_post), rows.scalar("weight")
    potentiation = p.a_post * (x_pre - p.x_tar) * (1 - w) ** p.mu * rows.scalar("post_event")
    return potentiation - p.a_pre * x_post * w**p.mu * rows.scalar("pre_event")


class SavedRule(NamedTuple):
    params: PairRuleParameters
    seed: int | None
    inhibitory: PairRuleParameters | None


def save_parameters(
    path: str | Path, params: PairRuleParameters, seed: int | None = None, inhibitory: PairRuleParameters | None = None
) -> Path:
    """Write the rule as the JSON that :meth:`PairRuleAgent.load` reads; returns the path (``.json``)."""
    path = Path(path).with_suffix(".json")
    saved = {"agent": PairRuleAgent.name, "seed": seed, "params": asdict(params)}
    if inhibitory is not None:
        saved["inhibitory"] = asdict(inhibitory)
    path.write_text(json.dumps(saved, indent=1) + "\n")
    return path


def load_parameters(path: str | Path) -> SavedRule:
    """The rule saved by :func:`save_parameters`; another file raises ``ValueError``."""
    saved = json.loads(Path(path).with_suffix(".json").read_text())
    if saved.get("agent") != PairRuleAgent.name or "params" not in saved:
        raise ValueError(f"{path} does not hold a {PairRuleAgent.name} agent (its 'agent' and 'params' keys)")
    inhibitory = saved.get("inhibitory")
    return SavedRule(
        PairRuleParameters(**saved["params"]), saved.get("seed"), inhibitory and PairRuleParameters(**inhibitory)
    )


class DensePairRule:
    """The pair rule on every event of one synapse group, one simulation step at a time.

    Args:
        group: the plastic group (weights updated in place, ``Δw = η·scale·clip(Δd)`` clipped to its bounds;
            absent synapses of its ``connectivity`` stay 0).
        params: the rule's parameters.
        scale: the env's action scale of the group (``alpha_unsup`` for I→E in ``unsup_dual``).
    """

    def __init__(self, group: SynapseGroup, params: PairRuleParameters, scale: float = 1.0) -> None:
        self.group, self.params, self.scale = group, params, scale
        self.traces = STDPParameters(tau_pre=params.tau_pre, tau_post=params.tau_post)
        self.begin_image()

    def begin_image(self) -> None:
        """Forget the traces (the env clears its spike histories at every image)."""
        self.state: STDPState = stdp_initial_state(*self.group.weight.shape)

    def step(self, spikes: dict[str, torch.Tensor]) -> None:
        """Apply the rule to the events of a step (``spikes``: the network's 0/1 spikes of each layer)."""
        p, g = self.params, self.group
        pre, post = spikes[g.pre], spikes[g.post]
        self.state = x = update_traces(pre, post, self.state, self.traces)
        cols, rows = post.nonzero().squeeze(1), pre.nonzero().squeeze(1)
        quiet = (post == 0).nonzero().squeeze(1)  # events of a pre spike onto a post neuron that did not spike
        if len(cols):  # every synapse onto a spiking post neuron
            w = self._unit(g.weight[:, cols])
            dd = p.a_post * (x.x_pre[:, None] - p.x_tar) * (1 - w) ** p.mu
            g.weight[:, cols] = self._stepped(g.weight[:, cols], dd - p.a_pre * pre[:, None] * x.x_post[cols] * w**p.mu)
        if len(rows) and len(quiet):
            index = (rows[:, None], quiet[None, :])
            dd = -p.a_pre * x.x_post[quiet] * self._unit(g.weight[index]) ** p.mu
            g.weight[index] = self._stepped(g.weight[index], dd)
        if g.connectivity is not None:
            g.weight.mul_(g.connectivity)

    def _unit(self, weight: torch.Tensor) -> torch.Tensor:
        """Weights mapped to [0, 1] within the group's bounds (the observation's ``weight`` column)."""
        return (weight - self.group.w_min) / (self.group.w_max - self.group.w_min)

    def _stepped(self, weight: torch.Tensor, dd: torch.Tensor) -> torch.Tensor:
        step = self.group.eta * self.scale * dd.clamp(-1.0, 1.0)
        return (weight + step).clamp_(self.group.w_min, self.group.w_max)


def dense_pair_rules(
    groups: list[SynapseGroup], params: PairRuleParameters, inhibitory: PairRuleParameters | None, scale: float = 1.0
) -> DenseRule:
    """The dense rules of a Diehl–Cook network's groups: ``params`` on input→E, ``inhibitory`` (action scale
    ``scale``) on I→E, or I→E fixed where ``inhibitory`` is ``None``."""
    rules = [DensePairRule(groups[0], params)]
    if inhibitory is not None:
        rules.append(DensePairRule(groups[1], inhibitory, scale))
    return CombinedRule(rules)
