"""SCAL-RL action layer as SB3 policies: a Q policy for DQN and an actor-critic policy for PPO/A2C.

Both use :class:`~agents.scal.perception.SCALPerception` as features extractor and carry the episodic
memory and the value statistics as submodules, so SB3's ``save``/``load`` keeps prototypes, thresholds,
memory and visit counts. Exploration (docs/scal_rl.md): the Q policy adds the UCB bonus of the value
statistics to its Q values when acting stochastically, on top of DQN's decaying epsilon-greedy; the
actor-critic samples its policy with PPO's entropy bonus.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.dqn.policies import DQNPolicy

from agents.scal.memory import EpisodicMemory
from agents.scal.perception import SCALPerception
from agents.scal.plasticity import SCALPlasticity
from agents.scal.value import SCALValueStats


class SCALComponents:
    """What both policies add to their SB3 base class: SCAL perception by default, memory and value statistics.

    Args:
        memory_capacity: entries of the episodic memory.
        ucb_beta: UCB coefficient (0 turns the bonus off).
        **kwargs: the SB3 policy's arguments; ``features_extractor_class`` defaults to ``SCALPerception``.
    """

    scal_memory: EpisodicMemory
    scal_value: SCALValueStats

    def __init__(self, *args: Any, memory_capacity: int = 10_000, ucb_beta: float = 1.0, **kwargs: Any) -> None:
        kwargs.setdefault("features_extractor_class", SCALPerception)
        super().__init__(*args, **kwargs)
        self._attach_scal(memory_capacity, ucb_beta)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), **self._scal_parameters()}

    def _attach_scal(self, memory_capacity: int, ucb_beta: float) -> None:
        perception = self.scal_perception
        if not isinstance(perception, SCALPlasticity):
            raise ValueError(
                "features_extractor_class must be a SCAL perception (SCALPerception, SCALImagePerception, "
                f"SCALConvPerception), got {type(perception).__name__}"
            )
        self.memory_capacity, self.ucb_beta = memory_capacity, ucb_beta
        self.scal_memory = EpisodicMemory(memory_capacity, perception.representation_dim, perception.n_prototypes)
        self.scal_value = SCALValueStats(int(self.action_space.n), perception.n_prototypes, beta=ucb_beta)

    def _scal_parameters(self) -> dict[str, Any]:
        return {"memory_capacity": self.memory_capacity, "ucb_beta": self.ucb_beta}

    def ucb_bonus(self, observations: torch.Tensor) -> torch.Tensor:
        """UCB bonus of every action, ``(batch, actions)``, at each observation's nearest prototype."""
        return self.scal_value.bonus(self.scal_perception.assign(observations))


class SCALQPolicy(SCALComponents, DQNPolicy):
    """DQN policy on SCAL perception; stochastic actions maximise ``Q + beta * sigma / sqrt(n + 1)``.

    Takes ``DQNPolicy``'s arguments plus ``memory_capacity`` and ``ucb_beta`` (see :class:`SCALComponents`).
    """

    @property
    def scal_perception(self) -> SCALPlasticity:
        return self.q_net.features_extractor

    def _predict(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        q_values = self.q_net(obs)
        if not deterministic:
            q_values = q_values + self.ucb_bonus(obs)
        return q_values.argmax(dim=1).reshape(-1)


class SCALActorCriticPolicy(SCALComponents, ActorCriticPolicy):
    """Actor-critic policy (PPO, A2C) on SCAL perception.

    Takes ``ActorCriticPolicy``'s arguments plus ``memory_capacity`` and ``ucb_beta`` (see
    :class:`SCALComponents`; the UCB bonus is logged, PPO explores by sampling).
    """

    @property
    def scal_perception(self) -> SCALPlasticity:
        return self.features_extractor if self.share_features_extractor else self.pi_features_extractor

    def extract_features(
        self, obs: torch.Tensor, features_extractor: torch.nn.Module | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """SB3's, except that flat bits reach the perception as they are: its pooling counts them as integers,
        while SB3's preprocessing would first turn every stacked bit into a float (the larger cost)."""
        if not isinstance(self.observation_space, spaces.MultiBinary):
            return super().extract_features(obs, features_extractor)
        if self.share_features_extractor:
            return (self.features_extractor if features_extractor is None else features_extractor)(obs)
        return self.pi_features_extractor(obs), self.vf_features_extractor(obs)
