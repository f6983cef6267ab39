"""The shared per-synapse actor-critic policy of the synapse environments, as an SB3 ``ActorCriticPolicy``.

Every event of a step goes through the same network in one batch (the real events only: padding slots copy
one padding row's output; each history's silent prefix skipped; under ``torch.inference_mode`` when no gradient
is needed; the outputs are those of evaluating every slot in full, up to float rounding). Per event: a 1D CNN over the
2×K pre/post history (2→16, k5, pad 2, ReLU; 16→32, k5, pad 2, ReLU; global average pool → 32), late fusion
with the scalars (weight, pre/post event, group, l_norm, third factor), an MLP 128-128 and a tanh mean m;
Δd ~ N(m, σ²) with one σ shared by all events. The critic has the same shape with a linear output per event;
the state value is the mean over the step's real events. Padding slots (mask 0) add nothing to the
log-probability, the entropy or the value. With ``n_group_nets > 1`` each synapse group has its own
actor and critic (``unsup_dual``: π_exc and π_inh), chosen by the group column.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from agents.synapse.layout import SCALARS, as_rows, split_rows

N_FUSED = len(SCALARS) - 1  # every scalar but the mask
SILENT_MARGIN = 6  # steps before a history's first spike from which EventNet's two convolutions (k5, pad 2) run
START_STEP = 16  # those starts are rounded down to a multiple of START_STEP: few batches, none below K = 22


def fusion_mlp(width: int, hidden: tuple[int, ...], final_gain: float = 1.0, n_out: int = 1) -> nn.Sequential:
    """MLP ``width → hidden… → n_out`` (ReLU); the first output's final weights scaled by ``final_gain``."""
    layers = []
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    mlp = nn.Sequential(*layers, nn.Linear(width, n_out))
    with torch.no_grad():  # a small final layer starts the actor near the zero rule (SB3 uses gain 0.01)
        mlp[-1].weight[0].mul_(final_gain)
        mlp[-1].bias[0].mul_(final_gain)
    return mlp


def route(nets: nn.ModuleList, group: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
    """Outputs ``(E, ...)``: event e through ``nets[i]``, i its group column × (len(nets) − 1) (one net: shared)."""
    if len(nets) == 1:
        return nets[0](*inputs)
    which = (group * (len(nets) - 1)).round().long().clamp(0, len(nets) - 1)
    out = None
    for i, net in enumerate(nets):
        sel = which == i
        if sel.any():
            result = net(*(x[sel] for x in inputs))
            out = result.new_zeros((len(which), *result.shape[1:])) if out is None else out
            out[sel] = result
    return torch.zeros(len(which), device=group.device) if out is None else out


class EventNet(nn.Module):
    """Per-event network: CNN over the (pre, post) history, fused with the scalars, MLP, one output."""

    def __init__(
        self,
        channels: tuple[int, int] = (16, 32),
        hidden: tuple[int, ...] = (128, 128),
        final_gain: float = 1.0,
        n_out: int = 1,
        with_features: bool = False,
    ) -> None:
        super().__init__()
        self.with_features = with_features
        self.skip_silent = True  # history_features skips silent prefixes (False: the CNN over every step)
        self.cnn = nn.Sequential(
            nn.Conv1d(2, channels[0], 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(channels[0], channels[1], 5, padding=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
        )
        self.mlp = fusion_mlp(channels[1] + N_FUSED, hidden, final_gain, n_out)

    def forward(self, histories: torch.Tensor, scalars: torch.Tensor) -> torch.Tensor:
        """``histories (E, 2, K)``, ``scalars (E, N_FUSED)`` → ``(E,)`` (``(E, n_out)`` when ``n_out > 1``);
        with ``with_features`` ``(E, n_out + h)``: the outputs followed by the last hidden layer's activations."""
        features = self.mlp[:-1](torch.cat([self.history_features(histories), scalars], dim=1))
        out = self.mlp[-1](features)
        if self.with_features:
            return torch.cat([out, features], dim=1)
        return out.squeeze(1) if out.shape[1] == 1 else out

    def history_features(self, histories: torch.Tensor) -> torch.Tensor:
        """The CNN's pooled features ``(E, C)`` of ``histories (E, 2, K)``, as ``self.cnn(histories)``, skipping
        the leading silent steps.

        Where a history has had no spike for the 9 steps around step t (two kernels of 5), the convolutions'
        output at t is that of an all-zero history. Each row's convolutions therefore run from its first spike
        minus :data:`SILENT_MARGIN` steps (rounded down to a multiple of :data:`START_STEP`; rows that share that
        start form one batch), and the all-zero history's maps fill the steps before, so every step's value is
        the one the full convolution gives. Histories are cleared at every image, so most of an image's events
        have long silent prefixes.
        """
        k = histories.shape[-1]
        if not self.skip_silent or k - SILENT_MARGIN < START_STEP:  # nothing to skip in short histories
            return self.cnn(histories)
        maps, pool = self.cnn[:4], self.cnn[4:]
        spiked = (histories != 0).any(1)
        first = torch.where(spiked.any(1), spiked.int().argmax(1), k)
        start = (first - SILENT_MARGIN).clamp(min=0) // START_STEP * START_STEP
        if not start.any():
            return self.cnn(histories)
        silent = maps(histories.new_zeros(1, *histories.shape[1:]))
        pooled, order = [], []
        for s in start.unique().tolist():
            rows = (start == s).nonzero().squeeze(1)
            part = maps(histories[rows, :, s:])
            if s:  # the first 2 steps of a cut map saw zero padding instead of the silent maps: take those
                part = torch.cat([silent[..., : s + 2].expand(len(rows), -1, -1), part[..., 2:]], dim=2)
            pooled.append(pool(part))
            order.append(rows)
        return torch.cat(pooled)[torch.argsort(torch.cat(order))]


def evaluated_rows(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Which rows of a flat batch to evaluate, and where each row's output comes from.

    Returns ``(rows, source)``: the real rows (mask ≠ 0) followed by the first padding row, if any; ``source[i]``
    is the position in ``rows`` of row i's output (a padding row's is the evaluated padding row's: padding rows
    are all zero, see :mod:`envs.synapse.events`).

    Example:
        >>> [t.tolist() for t in evaluated_rows(torch.tensor([1.0, 0.0, 1.0, 0.0]))]
        [[0, 2, 1], [0, 2, 1, 2]]
    """
    real = mask != 0
    rows = real.nonzero().squeeze(1)
    padding = (~real).nonzero().squeeze(1)[:1]
    source = torch.full((len(mask),), len(rows), dtype=torch.long, device=mask.device)
    source[rows] = torch.arange(len(rows), device=mask.device)
    return torch.cat([rows, padding]), source


class GroupedEventNet(nn.Module):
    """One :class:`EventNet` per group (or one shared), applied to rows ``(B, C, 2K+7)`` → ``(B, C)``.

    Only the real events and one padding row go through the networks (:func:`evaluated_rows`); the other padding
    slots copy that row's output, so the result is the same as evaluating every slot. Without gradients (SB3's
    rollouts and ``predict`` run under ``torch.no_grad``) the networks run under ``torch.inference_mode``.
    """

    def __init__(self, n_nets: int, **kwargs: Any) -> None:
        super().__init__()
        self.nets = nn.ModuleList(EventNet(**kwargs) for _ in range(n_nets))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(not torch.is_grad_enabled()):
            flat = obs.reshape(-1, obs.shape[-1])
            rows, source = evaluated_rows(split_rows(flat).scalar("mask"))
            out = self.evaluate(flat[rows])[source]
        return out.reshape(*obs.shape[:-1], *out.shape[1:])

    def evaluate(self, flat: torch.Tensor) -> torch.Tensor:
        """Outputs ``(E, ...)`` of every row of ``flat (E, 2K+7)``, each through its group's network."""
        rows = split_rows(flat)
        histories = torch.stack([rows.pre, rows.post], dim=1)
        return route(self.nets, rows.scalar("group"), histories, rows.scalars[:, 1:])


def every_slot_outputs(net: GroupedEventNet, obs: torch.Tensor) -> torch.Tensor:
    """``net(obs)`` computed the plain way: every slot, padding included, each over its whole history. The
    reference that the fast path is tested and benchmarked against."""
    skips = [event_net.skip_silent for event_net in net.nets]
    for event_net in net.nets:
        event_net.skip_silent = False
    try:
        out = net.evaluate(obs.reshape(-1, obs.shape[-1]))
    finally:
        for event_net, skip in zip(net.nets, skips, strict=True):
            event_net.skip_silent = skip
    return out.reshape(*obs.shape[:-1], *out.shape[1:])


class MaskedDiagGaussian(DiagGaussianDistribution):
    """Diagonal Gaussian whose padded dimensions (mask 0) are left out of log-probability and entropy."""

    def proba_distribution(self, mean_actions: torch.Tensor, log_std: torch.Tensor, mask: torch.Tensor):
        super().proba_distribution(mean_actions, log_std)
        self.mask = mask
        return self

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return (self.distribution.log_prob(actions) * self.mask).sum(-1)

    def entropy(self) -> torch.Tensor:
        return (self.distribution.entropy() * self.mask).sum(-1)


class CoherentEventGaussian(MaskedDiagGaussian):
    """Gaussian over the Δd of a step's events with coherent exploration: ``Δd = m + σ·ε + σ_c·Φ z``.

    ``ε ~ N(0, I)`` is independent per event and ``z ~ N(0, I_d)`` is shared by all events of a step; ``Φ``
    ``(E, d)`` are per-event directions output by the actor. The covariance ``σ²I + σ_c²ΦΦᵀ`` explores a few
    coherent changes of the whole rule per step (like gSDE, Raffin et al. 2022, with the noise matrix shared by
    the events rather than drawn per action dimension), so the policy-gradient noise grows with d, not with the
    number of events. Log-probability and entropy are exact (Woodbury identity, matrix determinant lemma) and
    leave padding (mask 0) out.
    """

    def proba_distribution(self, mean_actions, log_std, mask, directions, log_std_coherent):
        super().proba_distribution(mean_actions, log_std, mask)
        self.directions = directions * mask.unsqueeze(-1)
        self.var, self.var_coherent = torch.exp(2 * log_std), torch.exp(2 * log_std_coherent)
        return self

    def _gram(self) -> torch.Tensor:
        return self.directions.transpose(-1, -2) @ self.directions  # (B, d, d)

    def sample(self) -> torch.Tensor:
        z = torch.randn(*self.directions.shape[:-2], self.directions.shape[-1], 1, device=self.directions.device)
        coherent = (self.directions @ z).squeeze(-1) * self.var_coherent.sqrt()
        return self.distribution.rsample() + coherent

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        r = (actions - self.distribution.mean) * self.mask
        eye = torch.eye(self.directions.shape[-1], device=r.device)
        proj = (self.directions.transpose(-1, -2) @ r.unsqueeze(-1)).squeeze(-1)  # Φᵀr (B, d)
        inner = eye / (self.var_coherent / self.var) + self._gram()
        quad = ((r * r).sum(-1) - (proj * torch.linalg.solve(inner, proj)).sum(-1)) / self.var
        return -0.5 * (quad + self._logdet() + self.mask.sum(-1) * math.log(2 * math.pi))

    def _logdet(self) -> torch.Tensor:
        eye = torch.eye(self.directions.shape[-1], device=self.var.device)
        n = self.mask.sum(-1)
        return n * torch.log(self.var) + torch.logdet(eye + self._gram() * (self.var_coherent / self.var))

    def entropy(self) -> torch.Tensor:
        return 0.5 * (self.mask.sum(-1) * (1.0 + math.log(2 * math.pi)) + self._logdet())


class RuleNoiseGaussian(MaskedDiagGaussian):
    """Gaussian Δd whose exploration perturbs the rule itself: ``Δd = m + σ·ε + σ_r·φ̂ᵀz``.

    ``ε ~ N(0, I)`` is independent per event; ``z ~ N(0, I_h)`` is one perturbation of the actor's last layer,
    shared by every event until :meth:`resample` (the policy's ``reset_noise``: SB3 calls it every
    ``sde_sample_freq`` steps with ``use_sde``). ``φ̂`` are the actor's last hidden activations (detached),
    scaled to unit length, so each event's Δd is ``N(m, σ² + σ_r²)`` and events with similar activity are
    pushed the same way. This is gSDE (Raffin et al. 2022) with one exploration matrix for all events: an
    image's reward then answers for one change of the rule, not for thousands of independent per-event draws.
    As in gSDE, the log-probability is the per-event marginal (padding left out).
    """

    def __init__(self, action_dim: int, feature_dim: int) -> None:
        super().__init__(action_dim)
        self.feature_dim = feature_dim
        self.resample()

    def resample(self) -> None:
        """Draw a new shared perturbation ``z``."""
        self.z = torch.randn(self.feature_dim)

    def proba_distribution(self, mean_actions, log_std, mask, features, log_std_rule):
        features = features.detach()
        direction = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        self.rule_noise = (direction @ self.z.to(features.device)) * torch.exp(log_std_rule)
        self.independent_std = torch.exp(log_std).expand_as(mean_actions)
        std = torch.sqrt(torch.exp(2 * log_std) + torch.exp(2 * log_std_rule)).expand_as(mean_actions)
        self.distribution = torch.distributions.Normal(mean_actions, std)
        self.mask = mask
        return self

    def sample(self) -> torch.Tensor:
        noise = torch.randn_like(self.distribution.mean) * self.independent_std
        return self.distribution.mean + self.rule_noise + noise


class SynapsePolicy(ActorCriticPolicy):
    """Shared per-synapse actor-critic (SB3). Use as ``policy: agents.synapse.policy.SynapsePolicy``.

    Args:
        observation_space: flat ``Box((capacity · (2K + 7),))`` of the synapse envs.
        action_space: ``Box(-1, 1, (capacity,))``.
        lr_schedule: SB3 learning-rate schedule.
        n_group_nets: number of separate actor/critic pairs, one per synapse group (1: fully shared).
        log_std_init: initial log σ (shared by every event).
        cnn_channels: channels of the two convolutions.
        hidden: MLP widths.
        coherent_dim: d > 0 adds coherent exploration (:class:`CoherentEventGaussian`): the actor also outputs
            d directions per event and one d-dimensional noise per step is shared by the events (0: off).
        coherent_log_std_init: initial log σ_c of the coherent noise.
        rule_noise_log_std_init: initial log σ_r of the rule noise used with ``use_sde`` (:class:`RuleNoiseGaussian`:
            one perturbation of the actor's last layer shared by all events, redrawn every ``sde_sample_freq``
            steps); only with ``use_sde`` (default −1).
        **kwargs: other ``ActorCriticPolicy`` arguments (optimizer_class, optimizer_kwargs, ...).
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        action_space: spaces.Box,
        lr_schedule,
        n_group_nets: int = 1,
        log_std_init: float = -1.0,
        cnn_channels: tuple[int, int] = (16, 32),
        hidden: tuple[int, ...] = (128, 128),
        coherent_dim: int = 0,
        coherent_log_std_init: float = -1.0,
        rule_noise_log_std_init: float | None = None,
        **kwargs: Any,
    ) -> None:
        capacity = action_space.shape[0] if len(action_space.shape) == 1 else 0
        width = observation_space.shape[0] // capacity if capacity and len(observation_space.shape) == 1 else 0
        if width * capacity != observation_space.shape[0] or width < 2 + len(SCALARS) or (width - len(SCALARS)) % 2:
            raise ValueError(
                f"SynapsePolicy needs Box((capacity·(2K+7),)) observations and Box((capacity,)) actions; "
                f"got {observation_space.shape} and {action_space.shape}"
            )
        if n_group_nets < 1:
            raise ValueError(f"n_group_nets={n_group_nets} is invalid; allowed: an integer >= 1")
        if coherent_dim < 0:
            raise ValueError(f"coherent_dim={coherent_dim} is invalid; allowed: an integer >= 0 (0: off)")
        if coherent_dim and kwargs.get("use_sde"):
            raise ValueError("coherent_dim > 0 and use_sde are exclusive; allowed: one exploration scheme at a time")
        self.coherent_dim, self.coherent_log_std_init = coherent_dim, coherent_log_std_init
        if rule_noise_log_std_init is not None and not kwargs.get("use_sde"):
            raise ValueError(
                f"rule_noise_log_std_init={rule_noise_log_std_init} is invalid without use_sde; allowed: "
                "use_sde True (rule noise), or leave it unset"
            )
        self.rule_noise_log_std_init = rule_noise_log_std_init
        self.net_kwargs = dict(channels=tuple(cnn_channels), hidden=tuple(hidden))
        self.n_group_nets, self.shared_log_std_init = n_group_nets, log_std_init
        kwargs.pop("ortho_init", None)
        super().__init__(observation_space, action_space, lr_schedule, ortho_init=False, **kwargs)

    def _build(self, lr_schedule) -> None:
        self.actor = GroupedEventNet(
            self.n_group_nets,
            final_gain=0.01,
            n_out=1 + self.coherent_dim,
            with_features=self.use_sde,
            **self.net_kwargs,
        )
        self.critic = GroupedEventNet(self.n_group_nets, **self.net_kwargs)
        self.log_std = nn.Parameter(torch.full((1,), float(self.shared_log_std_init)))
        self._build_distribution(lr_schedule)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            n_group_nets=self.n_group_nets,
            log_std_init=self.shared_log_std_init,
            cnn_channels=self.net_kwargs["channels"],
            hidden=self.net_kwargs["hidden"],
            coherent_dim=self.coherent_dim,
            coherent_log_std_init=self.coherent_log_std_init,
            rule_noise_log_std_init=self.rule_noise_log_std_init,
        )
        return data

    def _build_distribution(self, lr_schedule) -> None:
        """The action distribution (and σ_c with coherent exploration) and the optimizer."""
        capacity = self.action_space.shape[0]
        if self.coherent_dim:
            self.log_std_coherent = nn.Parameter(torch.full((1,), float(self.coherent_log_std_init)))
            self.action_dist = CoherentEventGaussian(capacity)
        elif self.use_sde:
            log_std_rule = -1.0 if self.rule_noise_log_std_init is None else self.rule_noise_log_std_init
            self.log_std_rule = nn.Parameter(torch.full((1,), float(log_std_rule)))
            self.action_dist = RuleNoiseGaussian(capacity, self.net_kwargs["hidden"][-1])
        else:
            self.action_dist = MaskedDiagGaussian(capacity)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _distribution(self, actor_out: torch.Tensor, mask: torch.Tensor) -> MaskedDiagGaussian:
        """Distribution from the actor's outputs ``(B, C)`` (``(B, C, 1 + d)`` with coherent exploration,
        ``(B, C, 1 + h)`` with rule noise)."""
        if self.use_sde:
            mean, features = torch.tanh(actor_out[..., 0]), actor_out[..., 1:]
            return self.action_dist.proba_distribution(mean, self.log_std, mask, features, self.log_std_rule)
        if not self.coherent_dim:
            return self.action_dist.proba_distribution(torch.tanh(actor_out), self.log_std, mask)
        mean, directions = torch.tanh(actor_out[..., 0]), actor_out[..., 1:]
        return self.action_dist.proba_distribution(mean, self.log_std, mask, directions, self.log_std_coherent)

    def reset_noise(self, n_envs: int = 1) -> None:
        """Draw a new rule perturbation, shared by all events of all ``n_envs`` (with ``use_sde``)."""
        if not self.use_sde:
            raise ValueError("reset_noise() needs use_sde=True (rule noise); allowed: use_sde True")
        self.action_dist.resample()

    @staticmethod
    def _mask(obs: torch.Tensor) -> torch.Tensor:
        return split_rows(obs).scalar("mask")

    def _rows(self, obs: torch.Tensor) -> torch.Tensor:
        return as_rows(obs.float(), self.action_space.shape[0])

    def get_distribution(self, obs: torch.Tensor) -> MaskedDiagGaussian:
        obs = self._rows(obs)
        return self._distribution(self.actor(obs), self._mask(obs))

    def predict_values(self, obs: torch.Tensor) -> torch.Tensor:
        obs = self._rows(obs)
        mask = self._mask(obs)
        per_event = self.critic(obs) * mask
        return (per_event.sum(-1) / mask.sum(-1).clamp_min(1.0)).unsqueeze(-1)

    def forward(self, obs: torch.Tensor, deterministic: bool = False):
        distribution = self.get_distribution(obs)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, self.predict_values(obs), distribution.log_prob(actions)

    def evaluate_actions(self, obs: torch.Tensor, actions: torch.Tensor):
        distribution = self.get_distribution(obs)
        return self.predict_values(obs), distribution.log_prob(actions), distribution.entropy()
