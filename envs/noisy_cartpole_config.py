"""Validated configuration of NoisyCartPole, shared by the single and the vector environment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs import cartpole_physics as physics
from wrappers.delay import check_delay_range
from wrappers.encoding import BinaryCode
from wrappers.noise import bsc_capacity, check_probability

CODE_HIGH = np.array([physics.X_LIMIT, 2.0, 0.21, 2.0])
MAX_BITS_PER_VARIABLE = 1 << 16


@dataclass(frozen=True)
class NoisyCartPoleConfig:
    """Arguments of NoisyCartPole; invalid values raise ``ValueError`` naming the argument."""

    encoding: str = "thermometer"
    bits_per_variable: int = 1024
    flip_prob: float = 0.45
    min_delay: int = 0
    max_delay: int = 2

    def __post_init__(self) -> None:
        k = self.bits_per_variable
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_BITS_PER_VARIABLE:
            raise ValueError(f"bits_per_variable={k!r} must be an integer in [1, {MAX_BITS_PER_VARIABLE}]")
        check_probability("flip_prob", self.flip_prob)
        check_delay_range(self.min_delay, self.max_delay)
        self.code()  # validates `encoding`

    def code(self) -> BinaryCode:
        return BinaryCode(self.encoding, self.bits_per_variable, -CODE_HIGH, CODE_HIGH)

    @property
    def bits_per_step(self) -> float:
        return 4 * self.bits_per_variable * bsc_capacity(self.flip_prob)
