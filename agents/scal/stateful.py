"""Stateful spiking perception: SCAL-RL's LIF membranes carried across env steps within an episode.

The stateless :class:`~agents.scal.perception.SCALPerception` starts its membranes at rest for every
observation, so they integrate only the frames stacked in it. Here the membrane potentials, and a slower trace
of the spike rates, are a recurrent policy state handled the way sb3-contrib's ``RecurrentPPO`` handles LSTM
states: the rollout buffer stores them per step, ``episode_start`` resets them, training re-runs them forward
over the stored sequences, and ``model.predict(obs, state, episode_start)`` returns the next state. A leaky
membrane carried over the episode is a leaky integrator of the evidence, the role the oracle's Kalman filter
plays.

:class:`SCALRecurrentPolicy` is sb3-contrib's ``RecurrentActorCriticPolicy`` with its LSTMs replaced by
:class:`MembraneRecurrence` (same call signature, no parameters); :class:`SCALRecurrentPPO` is
``RecurrentPPO`` that also saves the states of its running episodes, so a resumed run continues exactly.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import torch
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from torch import nn

from agents.scal.perception import SCALPerception
from agents.scal.policies import SCALComponents
from spiking.soft_reset_lif import SoftResetLIFParameters, SoftResetLIFState, soft_reset_lif_run

__all__ = ["MembraneRecurrence", "MembraneState", "SCALRecurrentPPO", "SCALRecurrentPolicy", "StatefulSCALPerception"]


class MembraneState(NamedTuple):
    """What the perception keeps from one env step to the next, ``(batch, neurons)`` each."""

    v: torch.Tensor  # membrane potentials after the last step's reset
    trace: torch.Tensor  # exponential average of the spike rates over env steps


class StatefulSCALPerception(SCALPerception):
    """SCAL perception whose LIF neurons run on across env steps (:meth:`integrate`), not from rest.

    As a features extractor it returns the input currents of every frame (``n_frames * neurons``); the
    policy's :class:`MembraneRecurrence` turns them, with the state, into the features: spike rates, mean
    potentials, the rate trace (and the last potentials with ``last_potential``).

    Args:
        observation_space: as :class:`~agents.scal.perception.SCALPerception`.
        trace_decay: factor of the rate trace per env step, in [0, 1).
        **kwargs: the arguments of :class:`~agents.scal.perception.SCALPerception` (``use_lif`` must stay True).
    """

    def __init__(self, observation_space: gym.Space, trace_decay: float = 0.9, **kwargs: Any) -> None:
        if kwargs.get("use_lif", True) is not True:
            raise ValueError(f"use_lif={kwargs['use_lif']!r} leaves no membrane to carry; allowed: True")
        if kwargs.get("frame_features", False) is not False:
            raise ValueError(f"frame_features={kwargs['frame_features']!r} is not carried across steps; allowed: False")
        if kwargs.get("group_frame_gain", 0.0):
            raise ValueError(f"group_frame_gain={kwargs['group_frame_gain']!r} is not carried across steps; allowed: 0")
        if not 0 <= trace_decay < 1:
            raise ValueError(f"trace_decay={trace_decay!r} must be in [0, 1)")
        super().__init__(observation_space, **kwargs)
        self.trace_decay = trace_decay
        self.state_size = int(self.running_thresholds.shape[0])
        self.n_currents = self.n_frames * self.state_size
        self.state_features_dim = (4 if self.last_potential else 3) * self.state_size + self.pooling.n_unpooled
        self._features_dim = self.n_currents + self.pooling.n_unpooled
        self._step_thresholds: torch.Tensor | None = None
        self._thresholds_due = False

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        pooled, z, currents = self.encode(observations)
        # one threshold set for every membrane pass until the next call (actor and critic see the same)
        self._step_thresholds = self.running_thresholds.clone()
        if self.training:
            with torch.no_grad():
                # prototypes now; thresholds by the next pass
                self._adapt(pooled.detach(), z.detach(), currents.detach(), None)
            self._thresholds_due = True
        if self.pooling.n_unpooled:
            return torch.cat([currents.flatten(1), self.pooling.unpooled(observations)], dim=1)
        return currents.flatten(1)

    def initial_state(self, batch: int) -> MembraneState:
        """Membranes at rest and an empty trace."""
        zeros = torch.zeros(batch, self.state_size, device=self.running_thresholds.device)
        return MembraneState(zeros, zeros.clone())

    def integrate(self, currents: torch.Tensor, state: MembraneState) -> tuple[torch.Tensor, MembraneState]:
        """One env step from ``state``: the frames' currents ``(batch, n_frames * neurons)`` (then the unpooled
        inputs, passed on); the features and the new state."""
        currents, unpooled = currents[:, : self.n_currents], currents[:, self.n_currents :]
        currents = currents.reshape(currents.shape[0], self.n_frames, self.state_size)
        if self.n_frames == 1:
            currents = currents.expand(-1, self.n_steps, -1)
        thresholds = self.running_thresholds.clone() if self._step_thresholds is None else self._step_thresholds
        spikes, potentials = soft_reset_lif_run(
            currents, SoftResetLIFParameters(self.decay, thresholds, self.slope), SoftResetLIFState(state.v)
        )
        rates = spikes.mean(dim=1)
        trace = self.trace_decay * state.trace + (1.0 - self.trace_decay) * rates
        if self.training and self._thresholds_due:  # once per training pass, from its first step's spikes
            with torch.no_grad():
                self.update_thresholds(rates.detach().mean(dim=0), currents.detach().var(dim=(0, 1)) / self.gain**2)
            self._thresholds_due = False
        features = [rates, potentials.mean(dim=1) / self.gain, trace]
        if self.last_potential:
            features.append(potentials[:, -1] / self.gain)
        if self.pooling.n_unpooled:
            features.append(unpooled)
        v = potentials[:, -1] - spikes[:, -1] * thresholds
        return torch.cat(features, dim=1), MembraneState(v, trace)


class MembraneRecurrence(nn.Module):
    """The stand-in for ``nn.LSTM`` in ``RecurrentActorCriticPolicy``: :meth:`StatefulSCALPerception.integrate`
    over a sequence, the state passed as the ``(h, c)`` pair ``(v, trace)`` of shape ``(1, batch, neurons)``.

    Args:
        perception: the policy's perception (not registered here: the policy owns its parameters once).
    """

    def __init__(self, perception: StatefulSCALPerception) -> None:
        super().__init__()
        object.__setattr__(self, "perception", perception)
        self.input_size, self.hidden_size, self.num_layers = perception.features_dim, perception.state_size, 1

    def forward(
        self, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``inputs`` ``(time, batch, input_size)`` -> features ``(time, batch, state_features_dim)``, new state."""
        membrane = MembraneState(state[0][0], state[1][0])
        outputs = []
        for currents in inputs:
            features, membrane = self.perception.integrate(currents, membrane)
            outputs.append(features)
        return torch.stack(outputs), (membrane.v.unsqueeze(0), membrane.trace.unsqueeze(0))


class SCALRecurrentPolicy(SCALComponents, RecurrentActorCriticPolicy):
    """SCAL actor-critic for ``RecurrentPPO`` whose membranes are carried across env steps.

    Takes ``RecurrentActorCriticPolicy``'s arguments (``features_extractor_class`` defaults to
    :class:`StatefulSCALPerception`; the LSTM arguments are replaced by the membranes) plus ``memory_capacity``
    and ``ucb_beta`` (:class:`~agents.scal.policies.SCALComponents`). Actor and critic run the same membranes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("features_extractor_class", StatefulSCALPerception)
        for key, allowed in (("shared_lstm", False), ("enable_critic_lstm", True), ("share_features_extractor", True)):
            if kwargs.setdefault(key, allowed) is not allowed:
                raise ValueError(f"{key}={kwargs[key]!r} is not supported by SCALRecurrentPolicy; allowed: {allowed}")
        kwargs.setdefault("lstm_hidden_size", 1)  # the stand-in LSTMs are replaced below
        super().__init__(*args, **kwargs)
        perception = self.scal_perception
        if not isinstance(perception, StatefulSCALPerception):
            raise ValueError(f"features_extractor_class must be StatefulSCALPerception, got {type(perception).__name__}")
        self.lstm_actor, self.lstm_critic = MembraneRecurrence(perception), MembraneRecurrence(perception)
        self.lstm_hidden_state_shape = (1, 1, perception.state_size)
        learning_rate = self.optimizer.param_groups[0]["lr"]
        self.optimizer = self.optimizer_class(self.parameters(), lr=learning_rate, **self.optimizer_kwargs)

    def _build_mlp_extractor(self) -> None:
        features_extractor = self.features_extractor
        if isinstance(features_extractor, StatefulSCALPerception):
            self.lstm_output_dim = features_extractor.state_features_dim
        super()._build_mlp_extractor()

    @property
    def scal_perception(self) -> SCALPerception:
        return self.features_extractor


class SCALRecurrentPPO(RecurrentPPO):
    """``RecurrentPPO`` that saves the recurrent states of its running episodes with the model.

    sb3-contrib leaves them out of ``save`` and zeroes them in ``load``, so a run resumed mid-episode would
    restart every membrane at rest; here they are saved and kept, and the resumed run continues exactly.
    """

    def _excluded_save_params(self) -> list[str]:
        return [name for name in super()._excluded_save_params() if name != "_last_lstm_states"]

    def _setup_model(self) -> None:
        saved = self._last_lstm_states
        super()._setup_model()
        if saved is not None:
            self._last_lstm_states = type(saved)(*(tuple(t.to(self.device) for t in pair) for pair in saved))
