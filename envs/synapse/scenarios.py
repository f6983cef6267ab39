"""The four scenarios: which network, which third factor, which rewards and metrics.

A scenario owns the network and everything scenario-specific; the Gymnasium env only feeds it images and
events. ``begin_image`` → (``third_factor``, ``step_reward``) per step → ``end_image``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch

from envs.synapse.config import SynapseEnvConfig
from envs.synapse.evaluation import present_train
from envs.synapse.events import EventBatch
from envs.synapse.metrics import LabelAssignment, cosine, sign_agreement
from envs.synapse.networks import LIFMLP, DiehlCookNetwork, DiehlCookParameters, SpikingNetwork
from envs.synapse.rewards import grad_mimicry_rewards, semi_reward, unsup_candidates, unsup_reward
from envs.synapse.teacher import bptt_teacher
from spiking.biophysical_lif import BiophysicalLIFParameters

SIGNAL_CLIP = 3.0  # third factors and scaled gradients are clipped to ±SIGNAL_CLIP


def lif_parameters(c: SynapseEnvConfig) -> BiophysicalLIFParameters:
    return BiophysicalLIFParameters(c.tau_m, c.v_rest, c.v_th, c.v_reset, c.r, c.dt, c.surrogate_slope)


class Scenario:
    """Base: running accuracy, the previous reward (the ``reward`` third factor) and spike rates."""

    network: SpikingNetwork
    # per-event share of the last step reward where the scenario's reward is a sum over events (else None)
    last_event_rewards: torch.Tensor | None = None

    def __init__(self, config: SynapseEnvConfig) -> None:
        self.config = config
        self.correct: deque[bool] = deque(maxlen=100)
        self.last_reward = 0.0

    def begin_image(self, label: int, input_spikes: torch.Tensor, represented: bool, image_id: int) -> None:
        self.label = label
        self.network.begin_image()

    def action_scale(self, batch: EventBatch) -> torch.Tensor:
        """Per-event multiplier of Δd (1 unless a scenario scales a group)."""
        return torch.ones(len(batch))

    def third_factor(self, batch: EventBatch, t: int) -> torch.Tensor | None:
        if self.config.third_factor == "reward":
            return torch.full((len(batch),), float(np.clip(self.last_reward, -SIGNAL_CLIP, SIGNAL_CLIP)))
        return None

    def step_reward(self, batch: EventBatch, delta_d: torch.Tensor, t: int) -> float:
        return 0.0

    def end_image(self) -> tuple[float, dict[str, Any]]:
        raise NotImplementedError

    def _record(self, prediction: int, reward: float, extra: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        self.correct.append(prediction == self.label)
        self.last_reward = reward
        counts = self.network.history.counts
        steps = max(self.network.history.steps, 1)
        info = {
            "label": self.label,
            "prediction": prediction,
            "accuracy": float(np.mean(self.correct)),
            **{f"spike_rate/{k}": float(v.mean()) / steps for k, v in counts.items()},
            **extra,
        }
        return reward, info


class UnsupervisedScenario(Scenario):
    """``unsup_single`` / ``unsup_dual``: Diehl–Cook network; the episode reward is ``config.unsup_reward``: the
    design's (sparsity, diversity, stability) or a candidate of :func:`envs.synapse.rewards.unsup_candidates`.
    Every candidate's value goes to ``info["unsup/<name>"]`` (absent where undefined for the image)."""

    def __init__(self, config: SynapseEnvConfig, n_input: int, generator: torch.Generator) -> None:
        super().__init__(config)
        params = DiehlCookParameters(
            exc=lif_parameters(config),
            inh=DiehlCookParameters.inh._replace(dt=config.dt, surrogate_slope=config.surrogate_slope),
            w_max_exc=config.w_max_exc,
            w_min_inh=config.w_min_inh,
            w_exc_inh=config.w_exc_inh,
            w_inh_init=config.w_inh_init,
            theta_plus=config.theta_plus,
            input_norm=0.1 * n_input if config.input_norm is None else config.input_norm,
            eta_exc=config.eta_exc,
            eta_inh=config.eta_inh,
        )
        self.network = DiehlCookNetwork(n_input, config.n_exc, params, config.history, generator)
        self.assignment = LabelAssignment(config.n_exc, config.assignment_window)
        self.winners: deque[int] = deque(maxlen=config.diversity_window)
        self.winner_of: dict[int, int] = {}
        self.response_of: dict[int, torch.Tensor] = {}  # last excitatory counts per image
        self.recent: deque[tuple[int, torch.Tensor]] = deque(maxlen=config.diversity_window)

    def begin_image(self, label: int, input_spikes: torch.Tensor, represented: bool, image_id: int) -> None:
        super().begin_image(label, input_spikes, represented, image_id)
        self.represented, self.image_id = represented, image_id
        self.input_counts = input_spikes.sum(0)

    def candidate_rewards(self, counts: torch.Tensor) -> dict[str, float | None]:
        """The label-free candidates for this image's response ``counts``; then remembers the response."""
        previous = self.response_of.get(self.image_id) if self.represented else None
        others = [c for image, c in self.recent if image != self.image_id]
        values = unsup_candidates(self.input_counts, self.network.groups[0].weight, counts, previous, others)
        self.response_of[self.image_id] = counts
        self.recent.append((self.image_id, counts))
        return values

    def action_scale(self, batch: EventBatch) -> torch.Tensor:
        scale = torch.ones(len(batch))
        if self.config.scenario == "unsup_dual":
            scale[batch.group == 1] = self.config.alpha_unsup
        return scale

    def end_image(self) -> tuple[float, dict[str, Any]]:
        counts = self.network.history.counts["exc"].numpy().copy()
        winner = int(counts.argmax()) if counts.max() > 0 else -1
        stability = None
        if self.represented and self.image_id in self.winner_of:
            stability = float(winner == self.winner_of[self.image_id] and winner >= 0)
        self.winner_of[self.image_id] = winner
        self.winners.append(winner)
        active = [w for w in self.winners if w >= 0]
        diversity = len(set(active)) / min(len(self.winners), self.config.n_exc)
        sparsity = float((counts > 0).mean())
        reward = unsup_reward(sparsity, self.config.sparsity_target, diversity, stability, self.config.reward_weights)
        candidates = self.candidate_rewards(torch.from_numpy(counts))
        if self.config.unsup_reward != "design":  # undefined for this image (no re-presentation): 0
            reward = candidates[self.config.unsup_reward] or 0.0
        prediction = self.assignment.predict(counts)
        self.assignment.add(counts, self.label)
        extra = {"sparsity": sparsity, "diversity": diversity, "winner": winner}
        extra.update({f"unsup/{name}": value for name, value in candidates.items() if value is not None})
        if stability is not None:
            extra["stability"] = stability
        return self._record(prediction, reward, extra)


class MLPScenario(Scenario):
    """Shared by ``grad_mimicry`` and ``semi``: a LIF MLP read out by the output neuron with most spikes."""

    def __init__(self, config: SynapseEnvConfig, n_input: int, generator: torch.Generator) -> None:
        super().__init__(config)
        sizes = (n_input, *config.hidden_sizes, 10)
        self.network = LIFMLP(
            sizes,
            lif_parameters(config),
            config.w_max,
            config.eta,
            config.history,
            generator,
            config.init_gain,
            config.homeostasis,
            config.target_rate,
        )

    def output_prediction(self) -> int:
        counts = self.network.history.counts["out"]
        top = counts.max()
        return int(counts.argmax()) if top > 0 and int((counts == top).sum()) == 1 else -1


class GradMimicryScenario(MLPScenario):
    """``grad_mimicry``: per-event reward ``−g·Δd − λΔd²``; the ``teacher`` third factor is δ_post(t).

    ``g`` and δ are expressed per layer in units of a running RMS of δ over events (momentum 0.9 per image)
    and clipped to ±3, so rewards and the third factor are O(1) in every layer.
    """

    def __init__(self, config: SynapseEnvConfig, n_input: int, generator: torch.Generator) -> None:
        super().__init__(config, n_input, generator)
        self.delta_rms = [None] * len(self.network.groups)

    def begin_image(self, label: int, input_spikes: torch.Tensor, represented: bool, image_id: int) -> None:
        super().begin_image(label, input_spikes, represented, image_id)
        self.teacher = bptt_teacher(self.network, input_spikes, label, self.config.alpha)
        for i, delta in enumerate(self.teacher.deltas):
            rms = float(delta.pow(2).mean().sqrt()) + 1e-12
            self.delta_rms[i] = rms if self.delta_rms[i] is None else 0.9 * self.delta_rms[i] + 0.1 * rms
        self.applied, self.gradients = [], []

    def scaled_delta(self, batch: EventBatch, t: int) -> torch.Tensor:
        """δ_post(t) of each event in RMS units, clipped."""
        out = torch.zeros(len(batch))
        for i, delta in enumerate(self.teacher.deltas):
            sel = batch.group == i
            out[sel] = delta[t, batch.post[sel]] / self.delta_rms[i]
        return out.clamp(-SIGNAL_CLIP, SIGNAL_CLIP)

    def scaled_gradient(self, batch: EventBatch, t: int) -> torch.Tensor:
        """``g = s_pre(t) · δ_post(t)`` per event, in RMS units."""
        pre_now = torch.zeros(len(batch))
        for g in self.network.groups:
            sel = batch.group == g.index
            pre_now[sel] = self.network.history.latest(g.pre)[batch.pre[sel]]
        return pre_now * self.scaled_delta(batch, t)

    def third_factor(self, batch: EventBatch, t: int) -> torch.Tensor | None:
        if self.config.third_factor == "teacher":
            return self.scaled_delta(batch, t)
        return super().third_factor(batch, t)

    def step_reward(self, batch: EventBatch, delta_d: torch.Tensor, t: int) -> float:
        g = self.scaled_gradient(batch, t)
        self.applied.append(delta_d)
        self.gradients.append(g)
        self.last_g = g
        self.last_event_rewards = grad_mimicry_rewards(g, delta_d, self.config.lambda_reg)
        return float(self.last_event_rewards.sum())

    def end_image(self) -> tuple[float, dict[str, Any]]:
        applied, gradients = torch.cat(self.applied), torch.cat(self.gradients)
        extra = {
            "sign_agreement": sign_agreement(applied, gradients),
            "cosine": cosine(applied, gradients),
            "teacher_loss": self.teacher.loss,
        }
        return self._record(self.output_prediction(), 0.0, extra)


class SemiScenario(MLPScenario):
    """``semi``: episode reward from the label only; the ``teacher`` third factor is a per-neuron error:
    ``onehot(y) − softmax(α·rates so far)`` for output neurons, its projection through fixed random
    feedback matrices for hidden neurons (direct feedback alignment, Nøkland 2016). The reward variants that
    present spike trains with frozen weights (:mod:`envs.synapse.variants`) score them with :meth:`frozen_reward`.
    """

    def __init__(self, config: SynapseEnvConfig, n_input: int, generator: torch.Generator) -> None:
        super().__init__(config, n_input, generator)
        sizes = list(self.network.layers.values())[1:]
        self.feedback = [torch.randn(10, n, generator=generator) / 10**0.5 for n in sizes[:-1]]
        self.feedback.append(torch.eye(10))

    def frozen_reward(self, spikes: torch.Tensor, label: int) -> float:
        """The reward R of one presentation of ``spikes`` under the current weights (no plasticity)."""
        c = self.config
        return semi_reward(present_train(self.network, spikes)["out"], label, c.n_steps, c.alpha_margin, c.alpha_spike)

    def third_factor(self, batch: EventBatch, t: int) -> torch.Tensor | None:
        if self.config.third_factor != "teacher":
            return super().third_factor(batch, t)
        history = self.network.history
        rates = history.counts["out"] / max(history.steps, 1)
        error = torch.nn.functional.one_hot(torch.tensor(self.label), 10).float()
        error = error - torch.softmax(self.config.alpha * rates, 0)
        out = torch.zeros(len(batch))
        for i, feedback in enumerate(self.feedback):
            sel = batch.group == i
            out[sel] = (error @ feedback)[batch.post[sel]]
        return out.clamp(-SIGNAL_CLIP, SIGNAL_CLIP)

    def end_image(self) -> tuple[float, dict[str, Any]]:
        c = self.config
        reward = semi_reward(
            self.network.history.counts["out"], self.label, self.network.history.steps, c.alpha_margin, c.alpha_spike
        )
        return self._record(self.output_prediction(), reward, {})


def make_scenario(config: SynapseEnvConfig, n_input: int, generator: torch.Generator) -> Scenario:
    """Build the scenario named by ``config.scenario``."""
    classes = {
        "unsup_single": UnsupervisedScenario,
        "unsup_dual": UnsupervisedScenario,
        "grad_mimicry": GradMimicryScenario,
        "semi": SemiScenario,
    }
    return classes[config.scenario](config, n_input, generator)
