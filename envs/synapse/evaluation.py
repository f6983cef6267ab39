"""Held-out accuracy with frozen weights: Diehl–Cook label assignment, or the output neuron argmax."""

from __future__ import annotations

import numpy as np
import torch

from envs.synapse.config import SynapseEnvConfig
from envs.synapse.data import DigitData
from envs.synapse.metrics import LabelAssignment
from envs.synapse.networks import SpikingNetwork
from spiking.encoding import poisson_encode


def encode(image: np.ndarray, config: SynapseEnvConfig, rng: np.random.Generator) -> torch.Tensor:
    """A Poisson spike train ``(T, n_input)`` of ``image``."""
    uniforms = torch.from_numpy(rng.random((config.n_steps, image.size), dtype=np.float32))
    return poisson_encode(torch.from_numpy(image), uniforms, config.max_rate, config.dt)


def present_train(network: SpikingNetwork, spikes: torch.Tensor) -> dict:
    """Spike counts per layer for one presentation of a spike train (no plasticity; the neurons restart at rest)."""
    network.begin_image()
    for s in spikes:
        network.step(s)
    return {k: v.clone() for k, v in network.history.counts.items()}


def present(network: SpikingNetwork, image: np.ndarray, config: SynapseEnvConfig, rng: np.random.Generator) -> dict:
    """Spike counts per layer for one presentation of ``image`` (no plasticity)."""
    return present_train(network, encode(image, config, rng))


def frozen_accuracy(
    scenario, data: DigitData, config: SynapseEnvConfig, n_images: int | None, n_assign: int, seed: int
) -> float:
    """Accuracy on the first ``n_images`` test images; weights and thresholds are restored afterwards
    (the neurons are left at rest: call it between episodes).

    Unsupervised scenarios first present ``n_assign`` training images to assign a label to every
    excitatory neuron (Diehl & Cook 2015); the MLPs predict the output neuron with most spikes (ties and
    silence are wrong).
    """
    network = scenario.network
    saved = [g.weight.clone() for g in network.groups]
    saved_theta = getattr(network, "theta", None)
    saved_theta = None if saved_theta is None else saved_theta.clone()
    rng = np.random.default_rng(seed)
    n = len(data.test_x) if n_images is None else min(n_images, len(data.test_x))
    try:
        if config.unsupervised:
            assignment = LabelAssignment(config.n_exc, max(n_assign, 10))
            for i in range(min(n_assign, len(data.train_x))):
                assignment.add(present(network, data.train_x[i], config, rng)["exc"].numpy(), data.train_y[i])
            labels = assignment.assignments()
            predictions = [
                assignment.predict(present(network, x, config, rng)["exc"].numpy(), labels) for x in data.test_x[:n]
            ]
        else:
            predictions = []
            for x in data.test_x[:n]:
                out = present(network, x, config, rng)["out"]
                top = out.max()
                predictions.append(int(out.argmax()) if top > 0 and int((out == top).sum()) == 1 else -1)
    finally:
        network.begin_image()
        for g, w in zip(network.groups, saved, strict=True):
            g.weight.copy_(w)
        if saved_theta is not None:
            network.theta.copy_(saved_theta)
    return float(np.mean(np.asarray(predictions) == data.test_y[:n]))
