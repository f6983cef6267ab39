"""Replay mixing for continual streams: most of each batch from recent experience, a share from all of it."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize


class MixedReplayBuffer(ReplayBuffer):
    """A replay buffer whose batches mix recent transitions with replayed old ones.

    A share ``replay_ratio`` of every batch (default 0.2, the source design's replay ratio) is drawn
    uniformly from everything stored; the rest from the newest ``recent_window`` transitions (per env).
    In a continual stream the agent then tracks what it sees now while rehearsing what it saw before.
    Use it from a hyperparameter file:

    .. code-block:: yaml

        replay_buffer_class: agents.replay.MixedReplayBuffer
        replay_buffer_kwargs: {replay_ratio: 0.2, recent_window: 10000}

    Args:
        replay_ratio: share of each batch replayed from the whole buffer, in [0, 1].
        recent_window: how many of the newest transitions count as recent (>= 1).
        *args, **kwargs: those of SB3's ``ReplayBuffer``; ``optimize_memory_usage`` is not supported.
    """

    def __init__(self, *args: Any, replay_ratio: float = 0.2, recent_window: int = 10_000, **kwargs: Any) -> None:
        if not 0.0 <= float(replay_ratio) <= 1.0:
            raise ValueError(f"replay_ratio={replay_ratio!r} must be in [0, 1]")
        if isinstance(recent_window, bool) or not isinstance(recent_window, int) or recent_window < 1:
            raise ValueError(f"recent_window={recent_window!r} must be an integer >= 1")
        if kwargs.get("optimize_memory_usage"):
            raise ValueError("optimize_memory_usage=True is not supported by MixedReplayBuffer")
        super().__init__(*args, **kwargs)
        self.replay_ratio, self.recent_window = float(replay_ratio), recent_window

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> ReplayBufferSamples:
        stored = self.buffer_size if self.full else self.pos
        n_replayed = int(round(self.replay_ratio * batch_size))
        replayed = np.random.randint(0, stored, size=n_replayed)
        window = min(self.recent_window, stored)
        ages = np.random.randint(1, window + 1, size=batch_size - n_replayed)  # 1 = the newest
        recent = (self.pos - ages) % self.buffer_size
        return self._get_samples(np.concatenate([recent, replayed]), env=env)
