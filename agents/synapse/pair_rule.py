"""A pair-based plasticity rule with free parameters: the family that contains Diehl–Cook STDP.

At a synapse event (pre or post neuron spiked now)::

    Δd = clip(a_post·(x_pre − x_tar)·(1 − w)^mu·post_event − a_pre·x_post·w^mu·pre_event, −1, 1)

with traces ``x`` that jump to 1 at a spike and decay with ``tau_pre`` / ``tau_post`` steps and ``w`` the weight
mapped to [0, 1] within the group's bounds (the observation's ``weight`` column); the env applies ``Δw = η·Δd``.
``x_tar`` is Diehl & Cook's presynaptic target: at a post spike, synapses from inputs that were not active lately
weaken (heterosynaptic depression); ``mu`` makes steps shrink near the bounds (soft bounds). With ``x_tar = mu = 0``
and ``a_post = 1, a_pre = 0.01, tau = 20`` it is the ``stdp`` agent (:class:`~agents.synapse.reference.STDPAgent`).

* :class:`PairRuleAgent` (registered as ``pair_rule``) applies it to the event rows of a synapse env and saves or
  loads its parameters as JSON, e.g. those found by :mod:`agents.synapse.rule_search`.
* :class:`DensePairRule` applies the same rule to every event of a synapse group at once, outside the env: the
  fast path of the search, equal to the agent on every event the env does not drop (``capacity``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from agents.synapse.reference import STDPAgent, trace
from agents.synapse.stdp import STDPParameters, STDPState, stdp_initial_state, update_traces
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
    """The pair rule on a synapse env's event rows; inhibitory groups stay fixed (as for STDP).

    Args:
        env: a synapse env (or VecEnv of one).
        seed: unused (the rule is deterministic); kept for the agents' common signature.
        params: the rule's parameters (default: Diehl–Cook STDP).
    """

    name = "pair_rule"

    def __init__(self, env, seed: int | None = None, params: PairRuleParameters | None = None) -> None:
        super().__init__(env, seed)
        self.params = params or PairRuleParameters()

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        p, rows = self.params, self.rows(observation)
        x_pre, x_post, w = trace(rows.pre, p.tau_pre), trace(rows.post, p.tau_post), rows.scalar("weight")
        potentiation = p.a_post * (x_pre - p.x_tar) * (1 - w) ** p.mu * rows.scalar("post_event")
        dd = potentiation - p.a_pre * x_post * w**p.mu * rows.scalar("pre_event")
        for group in self.frozen:
            dd[np.isclose(rows.scalar("group"), group)] = 0.0
        return np.clip(dd * rows.scalar("mask"), -1, 1).astype(np.float32), state

    def save(self, path: str | Path) -> None:
        save_parameters(path, self.params, self.seed)

    @classmethod
    def load(cls, path: str | Path, env) -> PairRuleAgent:
        params, seed = load_parameters(path)
        return cls(env, seed=seed, params=params)


def save_parameters(path: str | Path, params: PairRuleParameters, seed: int | None = None) -> Path:
    """Write ``params`` as the JSON that :meth:`PairRuleAgent.load` reads; returns the path (``.json``)."""
    path = Path(path).with_suffix(".json")
    path.write_text(json.dumps({"agent": PairRuleAgent.name, "seed": seed, "params": asdict(params)}, indent=1) + "\n")
    return path


def load_parameters(path: str | Path) -> tuple[PairRuleParameters, int | None]:
    """The parameters and seed saved by :func:`save_parameters`; another file raises ``ValueError``."""
    saved = json.loads(Path(path).with_suffix(".json").read_text())
    if saved.get("agent") != PairRuleAgent.name or "params" not in saved:
        raise ValueError(f"{path} does not hold a {PairRuleAgent.name} agent (its 'agent' and 'params' keys)")
    return PairRuleParameters(**saved["params"]), saved.get("seed")


class DensePairRule:
    """The pair rule on every event of one synapse group, one simulation step at a time.

    Args:
        group: the plastic group (weights updated in place, ``Δw = η·Δd`` clipped to its bounds).
        params: the rule's parameters.
    """

    def __init__(self, group: SynapseGroup, params: PairRuleParameters) -> None:
        self.group, self.params = group, params
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

    def _unit(self, weight: torch.Tensor) -> torch.Tensor:
        """Weights mapped to [0, 1] within the group's bounds (the observation's ``weight`` column)."""
        return (weight - self.group.w_min) / (self.group.w_max - self.group.w_min)

    def _stepped(self, weight: torch.Tensor, dd: torch.Tensor) -> torch.Tensor:
        return (weight + self.group.eta * dd.clamp(-1.0, 1.0)).clamp_(self.group.w_min, self.group.w_max)
