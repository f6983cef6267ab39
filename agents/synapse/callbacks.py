"""Callbacks for the synapse envs: ``synapse/`` metrics, receptive fields and the rule's kernel; SCAL-RL's
spiking TD and ``scal/`` logs for :mod:`agents.synapse.scal_policy`."""

from __future__ import annotations

import math

import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Figure, Image

from agents.scal.value import spiking_td_weights
from agents.synapse.kernel import rule_kernel
from agents.synapse.layout import SCALARS

LOGGED = (
    "accuracy",
    "cosine",
    "sign_agreement",
    "sparsity",
    "diversity",
    "stability",
    "synapse_count",
    "n_events_total",
    "teacher_loss",
    "progress",
)


class SynapseMetricsCallback(BaseCallback):
    """At each finished episode log ``info`` metrics under ``synapse/``; every ``image_every`` episodes the
    receptive fields (``render``) as an image; at the end of training the kernel Δd(Δt) as a figure.

    Args:
        image_every: episodes between receptive-field images (0: never).
    """

    def __init__(self, image_every: int = 200, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.image_every = image_every
        self.episodes = 0

    def _on_step(self) -> bool:
        for info, done in zip(self.locals.get("infos", []), self.locals.get("dones", []), strict=False):
            if not done:
                continue
            self.episodes += 1
            for key, value in info.items():
                if (key in LOGGED or key.startswith("spike_rate/")) and not math.isnan(float(value)):
                    self.logger.record_mean(f"synapse/{key}", float(value))
            if self.image_every and self.episodes % self.image_every == 0:
                image = self.training_env.env_method("render", indices=[0])[0]
                if image is not None:
                    self.logger.record(
                        "synapse/receptive_fields", Image(image, "HWC"), exclude=("stdout", "log", "json", "csv")
                    )
        return True

    def _on_training_end(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        capacity = self.model.action_space.shape[0]
        k = (self.model.observation_space.shape[0] // capacity - len(SCALARS)) // 2
        lags, dd = rule_kernel(self.model, k, capacity)
        figure, axis = plt.subplots(figsize=(4, 3))
        axis.plot(lags, dd, marker="o")
        axis.set_xlabel("Δt = t_post − t_pre (steps)")
        axis.set_ylabel("Δd")
        self.logger.record("synapse/kernel", Figure(figure, close=True), exclude=("stdout", "log", "json", "csv"))
        self.logger.dump(self.num_timesteps)
        plt.close(figure)  # Figure(close=True) closes it only where a TensorBoard output wrote it


class SCALSynapseCallback(BaseCallback):
    """SCAL-RL on the synapse envs (:mod:`agents.synapse.scal_policy`): spiking TD and ``scal/`` logging.

    After each rollout the advantages are weighted by their soft spike probability
    (:func:`agents.scal.value.spiking_td_weights`, as :class:`agents.scal.callbacks.SCALCallback` does for
    PPO/A2C) and the perception's ``scal/spike_rate``, ``scal/threshold_mean`` and ``scal/prototype_drift``
    are recorded.

    Args:
        spiking_td: weight the advantages by their soft spike probability.
    """

    def __init__(self, spiking_td: bool = True, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.spiking_td = spiking_td

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        if self.spiking_td:
            weights = spiking_td_weights(torch.as_tensor(buffer.advantages))
            buffer.advantages *= weights.numpy().astype(buffer.advantages.dtype)
        perception = self.model.policy.scal_perception
        self.logger.record("scal/spike_rate", float(perception.running_spike_rate))
        self.logger.record("scal/threshold_mean", float(perception.running_thresholds.mean()))
        self.logger.record("scal/prototype_drift", float(perception.running_drift))
