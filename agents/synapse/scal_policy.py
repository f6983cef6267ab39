"""SCAL-RL on the synapse envs: the per-event policy with SCAL spiking perception instead of the 1D CNN.

Every event slot goes through the same :class:`agents.scal.perception.SCALPerception` (docs/scal_rl.md): its 2×K
pre/post spike history (flat, pre then post, oldest first) gets the bipolar transform ``2x − 1``, pooling,
the tanh projection, cosine similarity to prototypes × gain and LIF neurons with adaptive (homeostatic,
phase-critical) thresholds; the spike rates and mean potentials are fused late with the event's scalars
(weight, pre/post event, group, l_norm, third factor) and an MLP gives the tanh mean of ``Δd`` (actor) or
the event's value (critic), as in :class:`agents.synapse.policy.SynapsePolicy` (shared σ, masked padding,
state value = mean over real events). Only real events (mask 1) reach the perception, so padding never
moves the prototypes; prototypes and thresholds adapt in SB3's training passes (SCAL rule) and are saved
with the model. The perception is shared by actor and critic and computed once per call.

The episodic memory and the UCB value statistics of :mod:`agents.scal.policies` index discrete actions and
are not used here; spiking TD is applied by :class:`agents.synapse.callbacks.SCALSynapseCallback`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from torch import nn

from agents.scal.perception import SCALPerception
from agents.synapse.layout import history_length, split_rows
from agents.synapse.policy import N_FUSED, MaskedDiagGaussian, SynapsePolicy, fusion_mlp, route

# SCALPerception defaults suited to short event histories (2K = 16 bits for K = 8): no pooling across time
# steps and no principal subspace (both would blur the pre/post timing the rule needs).
PERCEPTION_DEFAULTS = dict(pool_size=1, n_components=0, projection_dim=32, n_prototypes=32, n_steps=4)


class _Fused(nn.Module):
    """MLP head on ``[SCAL features, scalars]`` → one output per event."""

    def __init__(self, width: int, hidden: tuple[int, ...], final_gain: float, n_out: int = 1) -> None:
        super().__init__()
        self.mlp = fusion_mlp(width, hidden, final_gain, n_out)

    def forward(self, features: torch.Tensor, scalars: torch.Tensor) -> torch.Tensor:
        out = self.mlp(torch.cat([features, scalars], dim=1))
        return out.squeeze(1) if out.shape[1] == 1 else out


class SCALSynapsePolicy(SynapsePolicy):
    """Per-event SCAL-RL actor-critic. Use as ``policy: agents.synapse.scal_policy.SCALSynapsePolicy``.

    Args:
        observation_space: flat ``Box((capacity · (2K + 7),))`` of the synapse envs.
        action_space: ``Box(-1, 1, (capacity,))``.
        lr_schedule: SB3 learning-rate schedule.
        perception_kwargs: :class:`~agents.scal.perception.SCALPerception` arguments, over
            ``PERCEPTION_DEFAULTS`` (``pool_size`` must divide K so that pooling never mixes pre and post).
        **kwargs: :class:`~agents.synapse.policy.SynapsePolicy` arguments (``n_group_nets``, ``log_std_init``,
            ``hidden``; ``cnn_channels`` is unused).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        action_space: gym.spaces.Box,
        lr_schedule,
        perception_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.perception_kwargs = {**PERCEPTION_DEFAULTS, **(perception_kwargs or {})}
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build(self, lr_schedule) -> None:
        capacity = self.action_space.shape[0]
        k = history_length(self.observation_space.shape[0] // capacity)
        pool = self.perception_kwargs["pool_size"]
        if k % pool:
            raise ValueError(f"perception_kwargs.pool_size={pool} is invalid; allowed: a divisor of K={k}")
        self.perception = SCALPerception(gym.spaces.MultiBinary(2 * k), **self.perception_kwargs)
        width, hidden = self.perception.features_dim + N_FUSED, self.net_kwargs["hidden"]
        n_out = 1 + self.coherent_dim
        self.actor = nn.ModuleList(_Fused(width, hidden, 0.01, n_out) for _ in range(self.n_group_nets))
        self.critic = nn.ModuleList(_Fused(width, hidden, 1.0) for _ in range(self.n_group_nets))
        self.log_std = nn.Parameter(torch.full((1,), float(self.shared_log_std_init)))
        self._build_distribution(lr_schedule)

    @property
    def scal_perception(self) -> SCALPerception:
        """The shared SCAL perception (the name :mod:`agents.scal` uses)."""
        return self.perception

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "perception_kwargs": self.perception_kwargs}

    def _heads(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Actor pre-activations, critic values (both ``(B, capacity)``, 0 on padding) and the mask."""
        rows = self._rows(obs)
        flat = split_rows(rows.reshape(-1, rows.shape[-1]))
        real = flat.scalar("mask") > 0
        actor = torch.zeros(len(real), *((1 + self.coherent_dim,) if self.coherent_dim else ()), device=obs.device)
        critic = torch.zeros(len(real), device=obs.device)
        if real.any():
            features = self.perception(torch.cat([flat.pre[real], flat.post[real]], dim=1))
            scalars, group = flat.scalars[real, 1:], flat.scalar("group")[real]
            actor[real] = route(self.actor, group, features, scalars)
            critic[real] = route(self.critic, group, features, scalars)
        shape = rows.shape[:-1]
        return actor.reshape(*shape, *actor.shape[1:]), critic.reshape(shape), real.reshape(shape).float()

    def _outputs(self, obs: torch.Tensor) -> tuple[MaskedDiagGaussian, torch.Tensor]:
        actor, critic, mask = self._heads(obs)
        distribution = self._distribution(actor, mask)
        values = (critic.sum(-1) / mask.sum(-1).clamp_min(1.0)).unsqueeze(-1)
        return distribution, values

    def get_distribution(self, obs: torch.Tensor) -> MaskedDiagGaussian:
        return self._outputs(obs)[0]

    def predict_values(self, obs: torch.Tensor) -> torch.Tensor:
        return self._outputs(obs)[1]

    def forward(self, obs: torch.Tensor, deterministic: bool = False):
        distribution, values = self._outputs(obs)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, values, distribution.log_prob(actions)

    def evaluate_actions(self, obs: torch.Tensor, actions: torch.Tensor):
        distribution, values = self._outputs(obs)
        return values, distribution.log_prob(actions), distribution.entropy()
