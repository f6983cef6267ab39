"""One synapse policy per group for the multi-agent synapse env (docs/synapse_multi.md).

:class:`PerGroupSynapsePolicy` is :class:`agents.synapse.policy.SynapsePolicy` with ``n_group_nets`` separate
actor/critic networks **and** a separate σ per group: each event is routed by the group-id column of its row, so
no parameter is shared across groups. The groups' parameters sit in one module and one optimizer (Adam's
statistics are per parameter, so this equals one Adam per group, except that PPO's ``max_grad_norm`` clips the
norm of all groups' gradients together and advantages are normalised over the whole batch).
Experiment 1 (parameter sharing) is the plain ``SynapsePolicy`` with ``n_group_nets=1``: the group id is one of
the scalars it sees.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from torch import nn

from agents.synapse.layout import split_rows
from agents.synapse.policy import MaskedDiagGaussian, SynapsePolicy


def group_of_rows(rows: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Group index of every event row ``(..., 2K + 7)`` from its column ``group / (n_groups − 1)``."""
    return (split_rows(rows).scalar("group") * (n_groups - 1)).round().long().clamp(0, n_groups - 1)


class PerGroupSynapsePolicy(SynapsePolicy):
    """``SynapsePolicy`` with nothing shared across synapse groups: actor, critic and σ per group.

    Use as ``policy: agents.multiagent.policy.PerGroupSynapsePolicy``.

    Args:
        observation_space: flat event rows of a synapse env (``Box((capacity · (2K + 7),))``).
        action_space: ``Box(-1, 1, (capacity,))``.
        lr_schedule: SB3 learning-rate schedule.
        n_group_nets: number of synapse groups of the network (2 for Diehl–Cook: ``input_exc``, ``inh_exc``).
        **kwargs: the other arguments of :class:`~agents.synapse.policy.SynapsePolicy`.
    """

    def __init__(
        self, observation_space: spaces.Box, action_space: spaces.Box, lr_schedule, n_group_nets: int = 2, **kwargs: Any
    ) -> None:
        if n_group_nets < 2:
            raise ValueError(f"n_group_nets={n_group_nets} is invalid; allowed: an integer >= 2 (one per group)")
        super().__init__(observation_space, action_space, lr_schedule, n_group_nets=n_group_nets, **kwargs)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.log_std = nn.Parameter(torch.full((self.n_group_nets,), float(self.shared_log_std_init)))
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def get_distribution(self, obs: torch.Tensor) -> MaskedDiagGaussian:
        rows = self._rows(obs)
        mean = torch.tanh(self.actor(rows))
        log_std = self.log_std[group_of_rows(rows, self.n_group_nets)]
        return self.action_dist.proba_distribution(mean, log_std, self._mask(rows))
