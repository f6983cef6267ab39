"""Validated configuration of NoisyPong; invalid values raise ``ValueError`` naming the argument."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wrappers.delay import check_delay_range
from wrappers.frames import check_threshold
from wrappers.noise import check_probability

# ALE v5's episode cap: 108,000 emulator frames (30 minutes of play), Machado et al. (2018).
MAX_FRAMES_PER_EPISODE = 108_000


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def parse_obs_delay(obs_delay: Any) -> tuple[int, int]:
    """``(min_delay, max_delay)`` from ``None`` (off: ``(0, 0)``) or a pair of integers ``0 <= min <= max``."""
    if obs_delay is None:
        return 0, 0
    if not isinstance(obs_delay, (tuple, list)) or len(obs_delay) != 2:
        raise ValueError(f"obs_delay={obs_delay!r} must be None (off) or a pair (min_delay, max_delay), e.g. (1, 3)")
    check_delay_range(obs_delay[0], obs_delay[1], prefix="obs_delay ")
    return int(obs_delay[0]), int(obs_delay[1])


@dataclass(frozen=True)
class NoisyPongConfig:
    """Arguments of NoisyPong (see :class:`envs.noisy_pong.NoisyPongEnv` for their meaning)."""

    flip_prob: float = 0.20
    obs_delay: Any = (1, 1)
    threshold: int = 90
    repeat_action_probability: float = 0.25
    noop_max: int = 30
    frame_skip: int = 4
    screen_size: int = 84
    max_num_frames_per_episode: int = MAX_FRAMES_PER_EPISODE

    def __post_init__(self) -> None:
        check_probability("flip_prob", self.flip_prob)
        check_probability("repeat_action_probability", self.repeat_action_probability)
        check_threshold(self.threshold)
        parse_obs_delay(self.obs_delay)
        _check_int("noop_max", self.noop_max, 0)
        _check_int("frame_skip", self.frame_skip, 1)
        _check_int("screen_size", self.screen_size, 8)
        _check_int("max_num_frames_per_episode", self.max_num_frames_per_episode, 1)

    @property
    def delay_range(self) -> tuple[int, int]:
        """``(min_delay, max_delay)`` of the observation delay; ``(0, 0)`` when off."""
        return parse_obs_delay(self.obs_delay)
