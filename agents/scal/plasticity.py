"""What every SCAL perception keeps and how it adapts, shared by the vector and the convolutional perception.

State prototypes move by the SCAL rule (a moving average toward the features assigned to them); LIF thresholds
follow homeostasis toward a target spike rate and the phase-critical rule on the input-current variance, clipped
to bounds; every rate is scaled by ``plasticity`` (an external scale, optionally times a half-life decay). The
state is held in buffers named ``running_*``, so it travels with SB3's ``save``/``load`` and DQN copies it into
its target network. The episodic memory and the value statistics of the SCAL policies cluster states with
``running_prototypes`` (their nearest prototype, :meth:`SCALPlasticity.assign`).
"""

from __future__ import annotations

import gymnasium as gym
import torch
import torch.nn.functional as F
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

__all__ = ["SCALPlasticity", "check_flags", "check_positive", "move_toward_assigned"]


def check_positive(**values: float) -> None:
    """Raise ``ValueError`` naming the first value that is not > 0."""
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name}={value!r} must be > 0")


def check_flags(**flags: bool) -> None:
    """Raise ``ValueError`` naming the first flag that is not a bool."""
    for name, flag in flags.items():
        if flag not in (True, False):
            raise ValueError(f"{name}={flag!r} is invalid; allowed: True, False")


def move_toward_assigned(
    prototypes: torch.Tensor, features: torch.Tensor, assignment: torch.Tensor, rate: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The SCAL rule in place: each prototype that was assigned features moves by ``rate`` toward their mean and
    is renormalised. Returns the assignment counts and the mean distance the prototypes moved.

    Example:
        >>> prototypes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> counts, drift = move_toward_assigned(prototypes, torch.tensor([[0.0, 1.0]]), torch.tensor([0]), 1.0)
        >>> prototypes.tolist(), counts.tolist()
        ([[0.0, 1.0], [0.0, 1.0]], [1.0, 0.0])
    """
    counts = torch.bincount(assignment, minlength=prototypes.shape[0]).float()
    sums = torch.zeros_like(prototypes).index_add_(0, assignment, features)
    used = counts > 0
    means = sums[used] / counts[used, None]
    old = prototypes.clone()
    prototypes[used] = F.normalize(old[used] + rate * (means - old[used]), dim=1)
    return counts, (prototypes - old).norm(dim=1).mean()


class SCALPlasticity(BaseFeaturesExtractor):
    """Base of the SCAL perceptions: state prototypes, LIF thresholds and their adaptation rules.

    Args:
        observation_space: the observation space (checked by the subclass).
        features_dim: features the subclass returns.
        prototypes: initial state prototypes ``(slots, representation_dim)``, unit rows.
        n_neurons: LIF neurons (or neuron types) with one adaptive threshold each.
        gain, decay, surrogate_slope, target_rate, homeostasis_rate, gamma_th, threshold_bounds, prototype_lr,
            plasticity_half_life: as in :class:`~agents.scal.perception.SCALPerception`.

    Subclasses define :meth:`represent` (the unit-norm state representation in the prototypes' space).
    """

    def __init__(
        self,
        observation_space: gym.Space,
        features_dim: int,
        prototypes: torch.Tensor,
        n_neurons: int,
        gain: float,
        decay: float,
        surrogate_slope: float,
        target_rate: float,
        homeostasis_rate: float,
        gamma_th: float,
        threshold_bounds: tuple[float, float],
        prototype_lr: float,
        plasticity_half_life: float | None,
    ) -> None:
        check_positive(gain=gain, target_rate=target_rate, prototype_lr=prototype_lr)
        if not 0 < decay < 1:
            raise ValueError(f"decay={decay!r} must be in (0, 1)")
        if plasticity_half_life is not None:
            check_positive(plasticity_half_life=plasticity_half_life)
        low, high = threshold_bounds
        if not 0 < low < high:
            raise ValueError(f"threshold_bounds={threshold_bounds!r} must satisfy 0 < V_th_min < V_th_max")
        super().__init__(observation_space, features_dim=features_dim)
        self.gain, self.decay, self.slope = gain, decay, surrogate_slope
        self.target_rate, self.homeostasis_rate, self.gamma_th = target_rate, homeostasis_rate, gamma_th
        self.threshold_bounds = (float(low), float(high))
        self.prototype_lr = prototype_lr
        self.plasticity_half_life = plasticity_half_life
        # set from outside, e.g. to training progress by SCALCallback(anneal_plasticity=True); not saved
        self.plasticity_scale = 1.0
        self.growth = None  # SCALPerception's neurogenesis module when it grows
        self.growth_events: list = []  # events since the SCAL callback last logged them; not saved
        self.register_buffer("running_prototypes", prototypes)
        self.register_buffer("running_thresholds", torch.full((n_neurons,), 1.0))
        self.register_buffer("running_spike_rate", torch.tensor(0.0))
        self.register_buffer("running_drift", torch.tensor(0.0))
        self.register_buffer("running_usage", torch.zeros(prototypes.shape[0]))
        self.register_buffer("running_adaptations", torch.tensor(0.0))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Accept models saved before ``running_adaptations`` existed (their rates never decayed: 0 passes)."""
        state_dict.setdefault(prefix + "running_adaptations", torch.tensor(0.0))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def plasticity(self) -> float:
        """Factor on the adaptation rates now: ``plasticity_scale`` (1 unless set), times ``h / (h + n)``
        with a half-life ``h``."""
        if self.plasticity_half_life is None:
            return self.plasticity_scale
        return self.plasticity_scale * self.plasticity_half_life / (self.plasticity_half_life + float(self.running_adaptations))

    @property
    def representation_dim(self) -> int:
        """Width of :meth:`represent` (and of the state prototypes): the episodic memory's key size."""
        return int(self.running_prototypes.shape[1])

    @property
    def n_prototypes(self) -> int:
        """State prototype slots (with neurogenesis: ``max_prototypes``, active or not)."""
        return int(self.running_prototypes.shape[0])

    @property
    def n_active_prototypes(self) -> int:
        """State prototypes in use (all of them without neurogenesis)."""
        return self.n_prototypes if self.growth is None else self.growth.n_active

    def represent(self, observations: torch.Tensor) -> torch.Tensor:
        """Unit-norm state representation ``(batch, representation_dim)`` for memory and value."""
        raise NotImplementedError

    def similarities(self, features: torch.Tensor) -> torch.Tensor:
        """``features @ prototypes.T``; with neurogenesis the inactive prototypes are at -inf."""
        similarities = features @ self.running_prototypes.T
        return similarities if self.growth is None else self.growth.masked(similarities)

    def assign(self, observations: torch.Tensor) -> torch.Tensor:
        """Index of the nearest state prototype (cosine) of each observation."""
        return self.similarities(self.represent(observations)).argmax(dim=1)

    def update_prototypes(self, features: torch.Tensor) -> None:
        """SCAL rule: each prototype moves by ``prototype_lr`` toward the mean of the features assigned to it."""
        assignment = self.similarities(features).argmax(dim=1)
        rate = self.prototype_lr * self.plasticity
        counts, drift = move_toward_assigned(self.running_prototypes, features, assignment, rate)
        self.running_drift.copy_(drift)
        self.running_usage.mul_(0.99).add_(0.01 * counts / counts.sum())

    def update_thresholds(self, rates: torch.Tensor, variance: torch.Tensor) -> None:
        """Homeostasis toward ``target_rate`` then the phase-critical rule, clipped to the bounds."""
        plasticity = self.plasticity
        homeostasis = torch.exp(plasticity * self.homeostasis_rate * (rates - self.target_rate) / self.target_rate)
        phase_critical = 1.0 - plasticity * self.gamma_th * variance
        thresholds = self.running_thresholds * homeostasis * phase_critical
        self.running_thresholds.copy_(thresholds.clamp(*self.threshold_bounds))
        if self.growth is None:
            self.running_spike_rate.copy_(rates.mean())
        else:  # the active state neurons' rate; the growth module keeps each one's for the saturation trigger
            state_rates = rates[: self.growth.mask.numel()]  # per-group neurons (SCALPerception's) come after them
            self.running_spike_rate.copy_(state_rates[self.growth.mask > 0].mean())
            self.growth.record_rates(state_rates)

    def replace_prototypes(self, indices: torch.Tensor, centroids: torch.Tensor) -> None:
        """Reseed the prototypes at ``indices`` (e.g. unused ones) with consolidated memory centroids."""
        self.running_prototypes[indices] = F.normalize(centroids, dim=1)
        self.running_usage[indices] = 1.0 / self.n_prototypes
