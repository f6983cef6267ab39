"""The shared per-synapse actor-critic policy of the synapse environments, as an SB3 ``ActorCriticPolicy``.

DESIGN §2.3: every event of a step goes through the same network in one batch. Per event: a 1D CNN over the
2×K pre/post history (2→16, k5, pad 2, ReLU; 16→32, k5, pad 2, ReLU; global average pool → 32), late fusion
with the scalars (weight, pre/post event, group, l_norm, third factor), an MLP 128-128 and a tanh mean m;
Δd ~ N(m, σ²) with one σ shared by all events. The critic has the same shape with a linear output per event;
the state value is the mean over the step's real events. Padding slots (mask 0) add nothing to the
log-probability, the entropy or the value. With ``n_group_nets > 1`` each synapse group has its own
actor and critic (``unsup_dual``: π_exc and π_inh), chosen by the group column.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from agents.synapse.layout import SCALARS, as_rows, split_rows

N_FUSED = len(SCALARS) - 1  # every scalar but the mask


class EventNet(nn.Module):
    """Per-event network: CNN over the (pre, post) history, fused with the scalars, MLP, one output."""

    def __init__(
        self, channels: tuple[int, int] = (16, 32), hidden: tuple[int, ...] = (128, 128), final_gain: float = 1.0
    ) -> None:
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv1d(2, channels[0], 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(channels[0], channels[1], 5, padding=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
        )
        layers, width = [], channels[1] + N_FUSED
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.mlp = nn.Sequential(*layers, nn.Linear(width, 1))
        with torch.no_grad():  # a small final layer starts the actor near the zero rule (SB3 uses gain 0.01)
            self.mlp[-1].weight.mul_(final_gain)
            self.mlp[-1].bias.mul_(final_gain)

    def forward(self, histories: torch.Tensor, scalars: torch.Tensor) -> torch.Tensor:
        """``histories (E, 2, K)``, ``scalars (E, N_FUSED)`` → ``(E,)``."""
        return self.mlp(torch.cat([self.cnn(histories), scalars], dim=1)).squeeze(1)


class GroupedEventNet(nn.Module):
    """One :class:`EventNet` per group (or one shared), applied to rows ``(B, C, 2K+7)`` → ``(B, C)``."""

    def __init__(self, n_nets: int, **kwargs: Any) -> None:
        super().__init__()
        self.nets = nn.ModuleList(EventNet(**kwargs) for _ in range(n_nets))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        rows = split_rows(obs.reshape(-1, obs.shape[-1]))
        histories = torch.stack([rows.pre, rows.post], dim=1)
        scalars = rows.scalars[:, 1:]
        if len(self.nets) == 1:
            return self.nets[0](histories, scalars).reshape(obs.shape[:-1])
        which = (rows.scalar("group") * (len(self.nets) - 1)).round().long().clamp(0, len(self.nets) - 1)
        out = torch.zeros(len(which), device=obs.device)
        for i, net in enumerate(self.nets):
            sel = which == i
            if sel.any():
                out[sel] = net(histories[sel], scalars[sel])
        return out.reshape(obs.shape[:-1])


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
        self.net_kwargs = dict(channels=tuple(cnn_channels), hidden=tuple(hidden))
        self.n_group_nets, self.shared_log_std_init = n_group_nets, log_std_init
        kwargs.pop("ortho_init", None)
        super().__init__(observation_space, action_space, lr_schedule, ortho_init=False, **kwargs)

    def _build(self, lr_schedule) -> None:
        self.actor = GroupedEventNet(self.n_group_nets, final_gain=0.01, **self.net_kwargs)
        self.critic = GroupedEventNet(self.n_group_nets, **self.net_kwargs)
        self.log_std = nn.Parameter(torch.full((1,), float(self.shared_log_std_init)))
        self.action_dist = MaskedDiagGaussian(self.action_space.shape[0])
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            n_group_nets=self.n_group_nets,
            log_std_init=self.shared_log_std_init,
            cnn_channels=self.net_kwargs["channels"],
            hidden=self.net_kwargs["hidden"],
        )
        return data

    @staticmethod
    def _mask(obs: torch.Tensor) -> torch.Tensor:
        return split_rows(obs).scalar("mask")

    def _rows(self, obs: torch.Tensor) -> torch.Tensor:
        return as_rows(obs.float(), self.action_space.shape[0])

    def get_distribution(self, obs: torch.Tensor) -> MaskedDiagGaussian:
        obs = self._rows(obs)
        mean = torch.tanh(self.actor(obs))
        return self.action_dist.proba_distribution(mean, self.log_std, self._mask(obs))

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
