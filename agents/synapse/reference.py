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
from agents.synapse.layout import as_rows, split_rows


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
    """Base of rules that read the event rows of a synapse env's observation."""

    def rows(self, observation):
        return split_rows(as_rows(np.asarray(observation, dtype=np.float64), self.action_space.shape[0]))


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

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        rows = self.rows(observation)
        x_pre, x_post = trace(rows.pre, self.tau_pre), trace(rows.post, self.tau_post)
        dd = self.a_post * x_pre * rows.scalar("post_event") - self.a_pre * x_post * rows.scalar("pre_event")
        for group in self.frozen:
            dd[np.isclose(rows.scalar("group"), group)] = 0.0
        return np.clip(dd * rows.scalar("mask"), -1, 1).astype(np.float32), state


class ZeroAgent(EventRuleAgent):
    """No plasticity: Δd = 0 for every event."""

    name = "zero"

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        return np.zeros_like(self.rows(observation).scalar("mask"), dtype=np.float32), state


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

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        rows = self.rows(observation)
        g = rows.pre[..., -1] * rows.scalar("third_factor")
        return np.clip(-g / (2 * self.lam) * rows.scalar("mask"), -1, 1).astype(np.float32), state


class ThreeFactorAgent(EventRuleAgent):
    """Hand-designed three-factor rule: ``Δd = clip(s_pre(t) · m_post(t), −1, 1)``, ``m`` the third factor."""

    name = "three_factor"

    def __init__(self, env, seed: int | None = None) -> None:
        super().__init__(env, seed)
        config = env_attribute(env, "config")
        if config is None or config.third_factor != "teacher":
            raise ValueError("agent 'three_factor' needs a synapse env with third_factor='teacher'")

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        rows = self.rows(observation)
        dd = rows.pre[..., -1] * rows.scalar("third_factor") * rows.scalar("mask")
        return np.clip(dd, -1, 1).astype(np.float32), state
