"""SCAL perception: a spiking features extractor that removes bit-flip noise statistically.

As in docs/scal_rl.md: bipolar transform ``x -> 2x - 1``, projection, tanh,
cosine similarity to learned prototypes times a high gain, LIF dynamics over a few time steps with
adaptive ("phase-critical") thresholds ``V_th <- V_th * (1 - gamma_th * var)`` clipped to
``[V_th_min, V_th_max]``, and a homeostatic control keeping the spike rate in 5-20%. Features are spike
rates and mean membrane potentials. Prototypes follow the SCAL rule (moving average toward the
features assigned to them), not gradients.

Denoising: a bit flipped with probability p keeps ``1 - 2p`` of its signal, so the projection first
averages blocks of ``pool_size`` neighbouring inputs (noise std / sqrt(pool_size)), and the LIF membrane
integrates over the ``n_frames`` stacked observations (see :class:`agents.scal.frames.BinaryFrameStack`).
"""

from __future__ import annotations

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch import nn

from agents.frontend import BlockPooling
from agents.scal.group_prototypes import GroupPrototypes
from agents.scal.growth import GrowthConfig, GrowthEvent, PrototypeGrowth, check_prototype_counts
from agents.scal.plasticity import SCALPlasticity, check_flags
from agents.scal.standardize import RunningStandardizer
from agents.scal.subspace import PrincipalSubspace
from spiking.soft_reset_lif import SoftResetLIFParameters, soft_reset_lif_run


class SCALPerception(SCALPlasticity):
    """Spiking perception layer for any flat binary or ``Box`` observation.

    Args:
        observation_space: a flat ``MultiBinary`` or ``Box`` space (``n_frames`` stacked frames).
        n_frames: frames stacked in one observation; each frame is one LIF time step.
        n_steps: LIF time steps when ``n_frames == 1`` (the input is held constant).
        pool_size: neighbouring inputs averaged before the projection (1: no pooling).
        n_components: principal components of the pooled input kept by the unsupervised
            :class:`~agents.scal.subspace.PrincipalSubspace` (0, or at least the
            pooled size: no subspace denoising).
        projection_dim: width of the tanh projection.
        n_prototypes: prototypes (centroids), one LIF neuron each.
        gain: factor on the cosine similarities (the input current).
        decay: membrane decay per time step.
        target_rate: homeostatic target spike rate (the spec's band is 5-20%).
        homeostasis_rate: step of the multiplicative threshold correction toward ``target_rate``.
        gamma_th: the phase-critical rate ``gamma_th`` on the input-current variance.
        threshold_bounds: ``(V_th_min, V_th_max)``.
        prototype_lr: SCAL moving-average rate of the prototypes.
        surrogate_slope: slope of the SuperSpike surrogate gradient.
        last_potential: add the last time step's membrane potentials to the features (``3 * n_prototypes``
            features instead of ``2 *``). The mean potential weighs the stacked frames one way, the last one
            (leaky: recent frames count most) another, so together they carry how the input moves.
        center_inputs: subtract a running mean of each pooled input (the first training batch's mean, then
            updated like the prototypes, rate ``prototype_lr``) before the projection. What never changes
            (the static picture of an Atari frame) then adds nothing to the projection, and what moves (ball
            and paddles) drives it.
        plasticity_half_life: adaptation passes after which the prototype, threshold and subspace rates
            are halved (they scale as ``h / (h + n)`` after ``n`` passes), so the features settle and the
            policy trained on them stops chasing them; ``None`` keeps the rates constant.
        use_prototypes: ablation switch; False: the LIF neurons are the ``projection_dim`` tanh units, driven by
            ``gain`` times the projection itself instead of the cosine similarities to the prototypes
            (the prototypes still adapt: the memory and value statistics cluster states with them).
        use_lif: ablation switch; False: no spiking dynamics, the features are the similarities (input
            currents / ``gain``) averaged over the frames (and the last frame's with ``last_potential``),
            and the thresholds do not adapt.
        n_unpooled: inputs after the frames (e.g. the action history of
            :class:`wrappers.action_history.ActionHistory` applied after the frame stack) that bypass the
            perception and are appended to its features (bits in the bipolar code).
        neurogenesis: grow prototypes when the active ones run out (:mod:`agents.scal.growth`): ``max_prototypes``
            slots are preallocated (features and neurons), ``n_prototypes`` of them active at the start.
        max_prototypes: slots for growth (default with ``neurogenesis``: ``2 * n_prototypes``).
        growth_kwargs: triggers and amounts, the fields of :class:`~agents.scal.growth.GrowthConfig`.
        group_prototypes: prototypes per slice of the pooled frame (:mod:`agents.scal.group_prototypes`),
            compared with the pooled slice itself (before the subspace and the projection), one LIF neuron
            each beside the others; 0: none.
        n_groups: equal slices of the pooled frame for ``group_prototypes`` (e.g. the encoded variables).
        group_frame_gain: with ``group_prototypes``, also output every frame's soft winner-take-all over each
            group's prototypes, ``softmax(group_frame_gain * cosine)`` (``n_frames * n_groups * group_prototypes``
            features, after the frame projections); 0: none.
        frame_features: also output every frame's projection, oldest first (``n_frames * projection_dim``
            features, before the unpooled inputs). The spike rates and mean potentials pool the frames; with
            these the policy can weigh each frame by its age, as a filter over a longer frame stack must.
        standardize_features: standardise every output feature with running moments
            (:class:`~agents.scal.standardize.RunningStandardizer`, moved at the prototypes' rate in training
            passes), so that a linear read-out sees inputs of one scale and no offset.

    Prototypes and thresholds are buffers named ``running_*``: they travel with ``save``/``load`` and
    DQN copies them into its target network with its other running statistics. They adapt only in
    training mode (SB3's ``train()`` passes), so rollouts and ``predict`` are pure functions of the state.
    """

    def __init__(
        self,
        observation_space: gym.Space,
        n_frames: int = 1,
        n_steps: int = 4,
        pool_size: int = 16,
        n_components: int = 8,
        projection_dim: int = 64,
        n_prototypes: int = 64,
        gain: float = 5.0,
        decay: float = 0.6,
        target_rate: float = 0.125,
        homeostasis_rate: float = 0.05,
        gamma_th: float = 0.01,
        threshold_bounds: tuple[float, float] = (0.05, 5.0),
        prototype_lr: float = 0.02,
        surrogate_slope: float = 5.0,
        plasticity_half_life: float | None = None,
        last_potential: bool = False,
        center_inputs: bool = False,
        use_prototypes: bool = True,
        use_lif: bool = True,
        n_unpooled: int = 0,
        neurogenesis: bool = False,
        max_prototypes: int | None = None,
        growth_kwargs: dict | None = None,
        group_prototypes: int = 0,
        n_groups: int = 1,
        group_frame_gain: float = 0.0,
        frame_features: bool = False,
        standardize_features: bool = False,
    ) -> None:
        pooling = BlockPooling.for_space(observation_space, n_frames, pool_size, n_unpooled)
        if n_steps < 1 or pool_size < 1 or projection_dim < 1 or n_prototypes < 1:
            raise ValueError("n_steps, pool_size, projection_dim and n_prototypes must be >= 1")
        check_flags(last_potential=last_potential, center_inputs=center_inputs, use_prototypes=use_prototypes,
                    use_lif=use_lif, neurogenesis=neurogenesis, frame_features=frame_features,
                    standardize_features=standardize_features)
        growth = _growth_module(neurogenesis, n_prototypes, max_prototypes, growth_kwargs, use_prototypes)
        if group_prototypes < 0:
            raise ValueError(f"group_prototypes={group_prototypes!r} must be >= 0 (0: no per-group prototypes)")
        groups = GroupPrototypes(pooling.n_pooled, n_groups, group_prototypes) if group_prototypes else None
        is_number = isinstance(group_frame_gain, (int, float)) and not isinstance(group_frame_gain, bool)
        if not (is_number and group_frame_gain >= 0) or (group_frame_gain and groups is None):
            raise ValueError(f"group_frame_gain={group_frame_gain!r} must be a number >= 0, and > 0 only with group_prototypes > 0")
        n_slots = n_prototypes if growth is None else growth.running_active.numel()
        n_neurons = (n_slots if use_prototypes else projection_dim) + (0 if groups is None else groups.n_neurons)
        outputs_per_neuron = (2 if use_lif else 1) + (1 if last_potential else 0)
        # a subspace as large as the input would be the identity
        subspace = PrincipalSubspace(pooling.n_pooled, n_components) if 0 < n_components < pooling.n_pooled else None
        projection = nn.Linear(pooling.n_pooled, projection_dim)
        prototypes = F.normalize(torch.randn(n_slots, projection_dim), dim=1)  # seeded by SB3's set_random_seed
        features_dim = outputs_per_neuron * n_neurons + pooling.n_unpooled + (n_frames * projection_dim if frame_features else 0)
        features_dim += n_frames * groups.n_neurons if group_frame_gain else 0
        super().__init__(observation_space, features_dim, prototypes, n_neurons, gain, decay, surrogate_slope, target_rate,
                         homeostasis_rate, gamma_th, threshold_bounds, prototype_lr, plasticity_half_life)
        self.last_potential, self.use_prototypes, self.use_lif = last_potential, use_prototypes, use_lif
        self.pooling = pooling
        self.bipolar, self.frame_size, self.n_pooled = self.pooling.bipolar, self.pooling.frame_size, self.pooling.n_pooled
        self.n_frames, self.n_steps, self.pool_size = n_frames, n_steps, pool_size
        self.subspace = subspace
        self.projection = projection
        self.growth = growth
        self.groups = groups
        self.center_inputs = center_inputs
        self.frame_features = frame_features
        self.group_frame_gain = float(group_frame_gain)
        if center_inputs:
            self.register_buffer("running_input_mean", torch.zeros(self.n_pooled))
        self.standardizer = RunningStandardizer(features_dim) if standardize_features else None

    def pool(self, observations: torch.Tensor) -> torch.Tensor:
        """Bipolar transform and block pooling (centred with ``center_inputs``): ``(batch, frames, n_pooled)``."""
        pooled = self.pooling(observations)  # the front end shared with the baselines (agents.frontend)
        if self.center_inputs:
            if self.training:
                rate = 1.0 if self.running_adaptations == 0 else self.prototype_lr * self.plasticity
                self.running_input_mean.lerp_(pooled.detach().mean(dim=(0, 1)), rate)
            pooled = pooled - self.running_input_mean
        return pooled

    def project(self, observations: torch.Tensor, pooled: torch.Tensor | None = None) -> torch.Tensor:
        """Pooling (unless ``pooled`` is given), subspace, projection and tanh: ``(batch, frames, projection_dim)``."""
        if pooled is None:
            pooled = self.pool(observations)
        if self.subspace is not None:
            if self.training:
                self.subspace.update(pooled.detach().reshape(-1, self.n_pooled), rate=self.plasticity)
            pooled = self.subspace(pooled)
        return torch.tanh(self.projection(pooled))

    def represent(self, observations: torch.Tensor) -> torch.Tensor:
        """Denoised state representation (projection averaged over frames, unit norm) for memory and value."""
        return F.normalize(self.project(observations).mean(dim=1), dim=-1)

    def input_currents(self, z: torch.Tensor) -> torch.Tensor:
        """LIF input currents ``(batch, frames, neurons)``: ``gain`` times the cosine similarity of the projection
        to each prototype (without prototypes: ``gain`` times the projection)."""
        if not self.use_prototypes:
            return self.gain * z
        prototypes = F.normalize(self.running_prototypes, dim=1)  # a copy: the in-place SCAL update stays legal
        currents = self.gain * F.normalize(z, dim=-1) @ prototypes.T
        return currents if self.growth is None else currents * self.growth.mask.clone()  # inactive: silent

    def encode(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The pooled frames, their projection and the input currents of every neuron (the per-group
        prototypes' last): ``(batch, frames, ...)`` each."""
        pooled = self.pool(observations)
        z = self.project(observations, pooled)
        currents = self.input_currents(z)
        if self.groups is not None:
            currents = torch.cat([currents, self.gain * self.groups.similarities(pooled)], dim=-1)
        return pooled, z, currents

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        pooled, z, currents = self.encode(observations)
        if self.n_frames == 1:
            currents = currents.expand(-1, self.n_steps, -1)
        if self.use_lif:
            params = SoftResetLIFParameters(self.decay, self.running_thresholds.clone(), self.slope)
            spikes, potentials = soft_reset_lif_run(currents, params)
            features = [spikes.mean(dim=1), potentials.mean(dim=1) / self.gain]
        else:  # ablation: the similarities the spike rates stand for, without the spiking dynamics
            spikes, potentials = None, currents
            features = [currents.mean(dim=1) / self.gain]
        if self.training:
            with torch.no_grad():
                self._adapt(pooled.detach(), z.detach(), currents.detach(), None if spikes is None else spikes.detach())
        if self.last_potential:  # weighs the frames unlike the mean: their contrast carries the motion
            features.append(potentials[:, -1] / self.gain)
        if self.frame_features:  # every frame's projection, in order: the policy can weigh them over time
            features.append(z.flatten(1))
        if self.group_frame_gain:  # every frame's per-variable posterior-like population code, in order
            features.append(self.groups.soft_assignments(pooled, self.group_frame_gain).flatten(1))
        if self.pooling.n_unpooled:
            features.append(self.pooling.unpooled(observations))
        features = torch.cat(features, dim=1)
        if self.standardizer is not None:
            features = self.standardizer(features, rate=self.prototype_lr * self.plasticity)
        return features

    def _adapt(
        self, pooled: torch.Tensor, z: torch.Tensor, currents: torch.Tensor, spikes: torch.Tensor | None
    ) -> None:
        features = F.normalize(z.mean(dim=1), dim=-1)
        self.update_prototypes(features)
        if self.groups is not None:
            self.groups.update(pooled.mean(dim=1), rate=self.prototype_lr * self.plasticity)
        if spikes is not None:
            self.update_thresholds(spikes.mean(dim=(0, 1)), currents.var(dim=(0, 1)) / self.gain**2)
        if self.growth is not None:
            self.grow(features)
        self.running_adaptations.add_(1.0)

    def grow(self, features: torch.Tensor) -> GrowthEvent | None:
        """One growth decision on unit-norm ``features``; new prototypes start at the mean active threshold."""
        event = self.growth.step(features, self.running_prototypes)
        if event is None:
            return None
        old_active = self.growth.mask.clone()
        old_active[event.slots] = 0.0
        self.running_prototypes[event.slots] = event.prototypes
        state_thresholds = self.running_thresholds[: old_active.numel()]  # the per-group neurons follow
        self.running_thresholds[event.slots] = (state_thresholds * old_active).sum() / old_active.sum()
        self.running_usage[event.slots] = 1.0 / event.n_active
        self.growth_events.append(event)
        return event


def _growth_module(
    neurogenesis: bool, n_prototypes: int, max_prototypes: int | None, growth_kwargs: dict | None, use_prototypes: bool
) -> PrototypeGrowth | None:
    """The growth state and rules with ``neurogenesis``; ``None`` (and no growth argument allowed) without."""
    if not neurogenesis:
        if max_prototypes is not None or growth_kwargs:
            raise ValueError(
                f"max_prototypes={max_prototypes!r}, growth_kwargs={growth_kwargs!r} need neurogenesis=True; "
                "allowed without it: None"
            )
        return None
    if not use_prototypes:
        raise ValueError("neurogenesis=True grows prototypes; allowed with use_prototypes=False: neurogenesis=False")
    slots = check_prototype_counts(n_prototypes, 2 * n_prototypes if max_prototypes is None else max_prototypes)
    return PrototypeGrowth(n_prototypes, slots, GrowthConfig.from_kwargs(growth_kwargs))
