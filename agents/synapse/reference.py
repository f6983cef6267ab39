"""Reference plasticity rules for the synapse environments, as :class:`agents.reference.ReferenceAgent`\\ s.

* :class:`STDPAgent`: Diehl & Cook (2015) pair-based STDP with traces (BindsNET's ``PostPre``): at a post
  spike ``Δw = ν_post·x_pre``, at a pre spike ``Δw = −ν_pre·x_post``; traces jump to 1 at a spike and decay
  with τ (20 ms), computed from the K-step histories of the observation.
* :class:`ZeroAgent`: no plasticity (Δd = 0).
* :class:`ThreeFactorAgent`: a hand-designed three-factor Hebbian rule ``Δd = s_pre(t)·m_post(t)`` with
  ``m`` the third factor of the observation (needs ``third_factor="teacher"``).
* :class:`TrueGradientAgent` (``grad_mimicry`` with ``third_factor="teacher"``): the reward-optimal step
  ``Δd = −ĝ/(2λ)`` with ``ĝ = s_pre(t)·δ_post(t)`` read from the observation.
"""

from __future__ import annotations

import numpy as np

from agents.reference import ReferenceAgent, env_attribute
from agents.synapse.layout import EventRows, as_rows, split_rows


def trace(history: np.ndarray, tau_steps: float) -> np.ndarray:
    """Trace that jumps to 1 at a spike and decays by ``exp(−1/τ)`` per step, at the current step.

    Example:
        >>> round(float(trace(np.array([[1.0, 0.0, 0.0]]), 1.0)[0]), 4)  # last spike two steps ago
        0.1353
    """
    k = history.shape[-1]
    spiked = history > 0
    lag = k - 1 - np.where(spiked.any(-1), k - 1 - np.argmax(spiked[..., ::-1], axis=-1), -1)
    return np.where(spiked.any(-1), np.exp(-lag / tau_steps), 0.0)


class EventRuleAgent(ReferenceAgent):
    """Base of rules that read the event rows of a synapse env's observation.

    Subclasses give :meth:`delta`, the unclipped Δd of the filled rows; :meth:`predict` computes it on the rows up
    to the last filled slot only (the env fills slots from the first, so padding costs nothing at a large
    ``capacity``), masks padding, clips to [−1, 1] and pads back to ``capacity``.
    """

    def delta(self, rows: EventRows) -> np.ndarray:
        raise NotImplementedError

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        capacity = self.action_space.shape[0]
        all_rows = as_rows(np.asarray(observation), capacity)
        filled = split_rows(all_rows).scalar("mask") > 0
        n = int(np.flatnonzero(filled.reshape(-1, capacity).any(0)).max(initial=-1)) + 1
        rows = split_rows(all_rows[..., :n, :].astype(np.float64))
        action = np.zeros(all_rows.shape[:-1], dtype=np.float32)
        action[..., :n] = np.clip(self.delta(rows) * rows.scalar("mask"), -1, 1)
        return action, state


class STDPAgent(EventRuleAgent):
    """Diehl–Cook STDP; Δd = Δw/η of the group. ``a_post = ν_post/η``, ``a_pre = ν_pre/η`` (DC: 1 and 0.01).

    Learns every group except inhibitory ones (Diehl–Cook keep I→E fixed), read from ``group_names``.
    """

    name = "stdp"
    a_post, a_pre, tau_pre, tau_post = 1.0, 0.01, 20.0, 20.0

    def __init__(self, env, seed: int | None = None) -> None:
        super().__init__(env, seed)
        names = env_attribute(env, "group_names") or []
        self.frozen = [i / max(len(names) - 1, 1) for i, n in enumerate(names) if n.startswith("inh")]

    def delta(self, rows: EventRows) -> np.ndarray:
        x_pre, x_post = trace(rows.pre, self.tau_pre), trace(rows.post, self.tau_post)
        dd = self.a_post * x_pre * rows.scalar("post_event") - self.a_pre * x_post * rows.scalar("pre_event")
        return self.freeze_inhibitory(dd, rows)

    def inhibitory_rows(self, rows: EventRows) -> np.ndarray:
        """Which rows are events of an inhibitory group."""
        found = np.zeros(rows.scalar("group").shape, dtype=bool)
        for group in self.frozen:
            found |= np.isclose(rows.scalar("group"), group)
        return found

    def freeze_inhibitory(self, dd: np.ndarray, rows: EventRows) -> np.ndarray:
        """``dd`` with the events of inhibitory groups set to 0."""
        dd[self.inhibitory_rows(rows)] = 0.0
        return dd


class ZeroAgent(EventRuleAgent):
    """No plasticity: Δd = 0 for every event."""

    name = "zero"

    def delta(self, rows: EventRows) -> np.ndarray:
        return np.zeros_like(rows.scalar("mask"))


class TrueGradientAgent(EventRuleAgent):
    """The true gradient step of ``grad_mimicry``: ``Δd = clip(−s_pre(t)·δ̂_post(t) / (2λ), −1, 1)``."""

    name = "true_gradient"

    def __init__(self, env, seed: int | None = None) -> None:
        super().__init__(env, seed)
        config = env_attribute(env, "config")
        if config is None or config.scenario != "grad_mimicry" or config.third_factor != "teacher":
            raise ValueError(
                "agent 'true_gradient' needs a synapse env with scenario='grad_mimicry' and "
                "third_factor='teacher' (the BPTT error is read from the observation)"
            )
        self.lam = config.lambda_reg

    def delta(self, rows: EventRows) -> np.ndarray:
        return -rows.pre[..., -1] * rows.scalar("third_factor") / (2 * self.lam)


class ThreeFactorAgent(EventRuleAgent):
    """Hand-designed three-factor rule: ``Δd = clip(s_pre(t) · m_post(t), −1, 1)``, ``m`` the third factor."""

    name = "three_factor"

    def __init__(self, env, seed: int | None = None) -> None:
        super().__init__(env, seed)
        config = env_attribute(env, "config")
        if config is None or config.third_factor != "teacher":
            raise ValueError("agent 'three_factor' needs a synapse env with third_factor='teacher'")

    def delta(self, rows: EventRows) -> np.ndarray:
        return rows.pre[..., -1] * rows.scalar("third_factor")
