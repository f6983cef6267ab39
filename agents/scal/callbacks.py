"""SCAL-RL training callback: episodic memory, spiking TD for on-policy algorithms, ``scal/`` logging.

Referenced from the hyperparameter YAML (``callback: agents.scal.callbacks.SCALCallback``).
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from agents.scal.value import spiking_td_weights


class SCALCallback(BaseCallback):
    """Feed the episodic memory, apply spiking TD to PPO/A2C advantages and log the SCAL internals.

    Every step the representation of the observation acted on goes into the policy's episodic memory
    with its action and reward. After each on-policy rollout the advantages are weighted by their soft
    spike probability and update the (action, centroid) statistics. Every ``consolidate_freq`` steps the
    memory is consolidated into its centroids (started from the prototypes); with ``reseed_prototypes``
    the prototypes that fell out of use are replaced by them. Off by default: a replaced prototype changes
    its feature for every input at once, and in our NoisyCartPole runs the policy collapsed right after
    each reseeding (eval/results/scal_rl/README.md).
    With ``anneal_plasticity`` the perception's adaptation rates (prototypes, thresholds, subspace) are
    scaled by the remaining training fraction ``1 − t/T`` before every training phase, like a linear
    learning-rate schedule: the features settle as the policy's steps shrink, so the final policy is not
    left reading features that keep moving after its own updates have stopped.
    With a growing perception (``neurogenesis``, :mod:`agents.scal.growth`) the mean ``|advantage|`` of each
    on-policy rollout feeds its TD-error trigger, and each growth event is logged as one line.
    TensorBoard keys: ``scal/spike_rate``, ``scal/threshold_mean``, ``scal/prototype_drift``,
    ``scal/ucb_bonus``, ``scal/memory_size``, ``scal/prototypes_reseeded``, ``scal/prototypes_active`` (and
    ``scal/patch_prototype_drift`` for :class:`~agents.scal.conv_perception.SCALConvPerception`).

    Args:
        consolidate_freq: steps between consolidations (<= 0: never).
        spiking_td: weight on-policy advantages by :func:`agents.scal.value.spiking_td_weights`.
        reseed_prototypes: replace unused prototypes by the consolidated centroids.
        anneal_plasticity: scale the perception's adaptation rates by the remaining training fraction.
        use_memory: feed and consolidate the episodic memory (False, with ``spiking_td=False`` and the policy's
            ``ucb_beta=0``: the ablation without memory and value layer, agent ``scal_rl_no_memory``).
    """

    def __init__(
        self,
        consolidate_freq: int = 10_000,
        spiking_td: bool = True,
        reseed_prototypes: bool = False,
        anneal_plasticity: bool = False,
        use_memory: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.use_memory = use_memory
        self.consolidate_freq = consolidate_freq
        self.spiking_td = spiking_td
        self.reseed_prototypes = reseed_prototypes
        self.anneal_plasticity = anneal_plasticity
        self._last_consolidation = 0
        self._reseeded = 0

    def _obs_tensor(self, observations) -> torch.Tensor:
        tensor, _ = self.model.policy.obs_to_tensor(observations)
        # flat bits stay integers: the perception's pooling counts them (see SCALActorCriticPolicy.extract_features)
        return tensor if isinstance(self.model.observation_space, spaces.MultiBinary) else tensor.float()

    def _on_step(self) -> bool:
        if not self.use_memory:
            return True
        policy = self.model.policy
        with torch.no_grad():
            keys = policy.scal_perception.represent(self._obs_tensor(self.model._last_obs))
        actions = torch.as_tensor(self.locals["actions"]).reshape(-1)
        rewards = torch.as_tensor(self.locals["rewards"]).reshape(-1)
        policy.scal_memory.add(keys, actions.to(keys.device), rewards.to(keys.device))
        if self.consolidate_freq > 0 and self.num_timesteps - self._last_consolidation >= self.consolidate_freq:
            self._last_consolidation = self.num_timesteps
            self.consolidate()
        return True

    @torch.no_grad()
    def consolidate(self) -> int:
        """Consolidate the memory into its centroids; optionally reseed unused prototypes. Returns how many."""
        perception = self.model.policy.scal_perception
        centroids = self.model.policy.scal_memory.consolidate(perception.running_prototypes)
        unused = torch.nonzero(perception.running_usage < 0.1 / perception.n_prototypes).flatten()
        if not self.reseed_prototypes:
            return 0
        if unused.numel():
            perception.replace_prototypes(unused, centroids[unused])
        self._reseeded += int(unused.numel())
        return int(unused.numel())

    def _on_rollout_end(self) -> None:
        if self.anneal_plasticity:
            remaining = 1.0 - self.num_timesteps / max(self.model._total_timesteps, 1)
            self.model.policy.scal_perception.plasticity_scale = min(max(remaining, 0.0), 1.0)
        growth = self.model.policy.scal_perception.growth
        if growth is not None and isinstance(self.model, OnPolicyAlgorithm):
            growth.record_td_error(float(abs(self.model.rollout_buffer.advantages).mean()))
        if self.spiking_td and isinstance(self.model, OnPolicyAlgorithm):
            self._spiking_td(self.model.rollout_buffer)
        self.log_internals()

    @torch.no_grad()
    def _spiking_td(self, buffer) -> None:
        policy = self.model.policy
        advantages = torch.as_tensor(buffer.advantages).reshape(-1)
        buffer.advantages *= spiking_td_weights(advantages).reshape(buffer.advantages.shape).numpy()
        observations = buffer.observations.reshape(-1, *buffer.observations.shape[2:])
        centroids = policy.scal_perception.assign(self._obs_tensor(observations))
        actions = torch.as_tensor(buffer.actions).reshape(-1).to(centroids.device)
        policy.scal_value.update(actions, centroids, advantages.to(centroids.device))

    def log_internals(self) -> None:
        """Record the ``scal/`` keys (written at SB3's next dump)."""
        policy = self.model.policy
        perception = policy.scal_perception
        value = policy.scal_value
        all_centroids = torch.arange(perception.n_prototypes, device=value.running_counts.device)
        self.logger.record("scal/spike_rate", float(perception.running_spike_rate))
        self.logger.record("scal/threshold_mean", float(perception.running_thresholds.mean()))
        self.logger.record("scal/prototype_drift", float(perception.running_drift))
        self.logger.record("scal/ucb_bonus", float(value.bonus(all_centroids).mean()))
        self.logger.record("scal/memory_size", len(policy.scal_memory))
        self.logger.record("scal/prototypes_reseeded", self._reseeded)
        self.logger.record("scal/plasticity", float(perception.plasticity))
        self.logger.record("scal/prototypes_active", perception.n_active_prototypes)
        if hasattr(perception, "running_patch_drift"):  # the convolutional perception's patch prototypes
            self.logger.record("scal/patch_prototype_drift", float(perception.running_patch_drift))
        self.log_growth_events()

    def log_growth_events(self) -> None:
        """One line per growth event since the last call (the events happen in the training passes)."""
        perception = self.model.policy.scal_perception
        for event in perception.growth_events:
            self.logger.log(
                f"scal growth at step {self.num_timesteps}: +{len(event.slots)} prototypes ({event.trigger}, novel "
                f"share {event.novel_share:.2f}), {event.n_active}/{perception.n_prototypes} active"
            )
        perception.growth_events.clear()
