"""The spike raster of SCAL-RL's prototype neurons: rates recorded by a forward hook, drawn neuron × step."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from eval.watch.observation import grey


def scal_perception(model: Any) -> Any:
    """The SCAL perception of a model's policy (``policy.scal_perception``), or ``None`` for other agents."""
    return getattr(getattr(model, "policy", None), "scal_perception", None)


class SpikeRecorder:
    """Keeps the prototype neurons' spike rates of the perception's latest forward call.

    The perception's features start with the ``n_prototypes`` spike rates (spikes per LIF time step);
    a forward hook reads them, averaged over any leading axes (the batch, or the event slots of the synapse
    policies), without changing the forward pass.

    Args:
        perception: a :class:`agents.scal.perception.SCALPerception`.
        window: steps kept for the raster.
    """

    def __init__(self, perception: Any, window: int = 120) -> None:
        self.n_neurons = int(perception.n_prototypes)
        self.latest = np.zeros(self.n_neurons)
        self.history: deque = deque(maxlen=window)
        self._handle = perception.register_forward_hook(self._hook)

    def _hook(self, module: Any, inputs: Any, output: Any) -> None:
        rates = output[..., : self.n_neurons].detach().float().reshape(-1, self.n_neurons)
        self.latest = rates.mean(dim=0).cpu().numpy()

    def record(self) -> np.ndarray:
        """Append the latest rates to the history and return them."""
        self.history.append(self.latest)
        return self.latest

    def close(self) -> None:
        self._handle.remove()


def draw_raster(history: deque | list, n_neurons: int, window: int) -> np.ndarray:
    """Grey ``(n_neurons, window)`` image, one row per neuron and one column per step (newest on the right);
    black is a neuron firing at every LIF time step, white silence.

    Example:
        >>> draw_raster([np.ones(4), np.zeros(4)], 4, 5)[:, -2:]
        array([[  0, 255],
               [  0, 255],
               [  0, 255],
               [  0, 255]], dtype=uint8)
    """
    image = np.full((n_neurons, window), 255, np.uint8)
    if len(history):
        rates = np.stack(list(history)[-window:], axis=1)
        image[:, window - rates.shape[1] :] = 255 - grey(rates, 0.0, 1.0)
    return image
