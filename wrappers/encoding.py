"""Binary codes for bounded real values and the wrapper that applies them to a Box observation.

A :class:`BinaryCode` turns each of ``n`` real variables into ``K`` bits. Three kinds:

* ``sign``: every bit is ``value > centre`` (``K`` repetitions of one sign bit; ``K=1`` is the
  literal one-bit binarisation).
* ``thermometer``: bit ``j`` is ``value > t_j`` with ``K`` thresholds evenly spaced in the bounds.
* ``population``: ``K`` units with evenly spaced centres; the unit whose bin holds the value is on
  (a one-hot population code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["ENCODINGS", "BinaryCode", "BinaryEncoding", "is_binary_space"]

ENCODINGS = ("sign", "thermometer", "population")


def is_binary_space(space: gym.Space) -> bool:
    """True for ``MultiBinary`` and for ``Box`` spaces bounded by [0, 1] (bits stored as floats)."""
    if isinstance(space, gym.spaces.MultiBinary):
        return True
    return isinstance(space, gym.spaces.Box) and bool(np.all(space.low == 0) and np.all(space.high == 1))


@dataclass(frozen=True)
class BinaryCode:
    """A fixed binary code of ``len(low)`` bounded variables with ``bits_per_variable`` bits each.

    Args:
        kind: one of ``ENCODINGS``.
        bits_per_variable: bits per variable (K >= 1).
        low: lower bound of each variable (values below are clipped).
        high: upper bound of each variable (values above are clipped).
    """

    kind: str
    bits_per_variable: int
    low: np.ndarray
    high: np.ndarray
    thresholds: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ENCODINGS:
            raise ValueError(f"encoding={self.kind!r} is not supported; allowed: {', '.join(ENCODINGS)}")
        k = self.bits_per_variable
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"bits_per_variable={k!r} must be an integer >= 1")
        low = np.asarray(self.low, dtype=np.float64).reshape(-1)
        high = np.asarray(self.high, dtype=np.float64).reshape(-1)
        if low.shape != high.shape or not np.all(np.isfinite(low)) or not np.all(np.isfinite(high)):
            raise ValueError(f"low={low} and high={high} must be finite arrays of the same shape")
        if np.any(high <= low):
            raise ValueError(f"bounds must satisfy low < high; got low={low}, high={high}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        if self.kind == "sign":
            thresholds = np.repeat(((low + high) / 2)[:, None], k, axis=1)
        else:
            fractions = (np.arange(k) + 0.5) / k
            thresholds = low[:, None] + fractions[None, :] * (high - low)[:, None]
        object.__setattr__(self, "thresholds", thresholds)

    @property
    def n_variables(self) -> int:
        return self.low.shape[0]

    @property
    def n_bits(self) -> int:
        return self.n_variables * self.bits_per_variable

    @property
    def bin_width(self) -> np.ndarray:
        """Width of one code step of each variable (thermometer and population)."""
        return (self.high - self.low) / self.bits_per_variable

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Encode ``values`` of shape ``(..., n_variables)`` into int8 bits of shape ``(..., n_bits)``."""
        return self.encode_bool(values).view(np.int8)

    def encode_bool(self, values: np.ndarray) -> np.ndarray:
        """Like :meth:`encode`, as a boolean array (no copy to int8)."""
        values = np.asarray(values, dtype=np.float64)
        if self.kind == "population":
            index = np.floor((values - self.low) / self.bin_width).astype(np.int64)
            index = np.clip(index, 0, self.bits_per_variable - 1)
            bits = index[..., None] == np.arange(self.bits_per_variable)
        else:
            bits = values[..., None] > self.thresholds
        return bits.reshape(*values.shape[:-1], self.n_bits)

    def codebook(self, grid: np.ndarray) -> np.ndarray:
        """Codes of every grid value for every variable: shape ``(n_variables, len(grid_i), K)``.

        ``grid`` has shape ``(n_variables, G)``; used by decoders that score candidate values.
        """
        grid = np.asarray(grid, dtype=np.float64)
        per_variable = [
            BinaryCode(self.kind, self.bits_per_variable, self.low[i : i + 1], self.high[i : i + 1]).encode(
                grid[i][:, None]
            )
            for i in range(self.n_variables)
        ]
        return np.stack(per_variable)


class BinaryEncoding(gym.ObservationWrapper):
    """Encode a bounded ``Box`` observation into a ``MultiBinary`` code.

    Args:
        env: environment with a flat ``Box`` observation space.
        encoding: ``sign``, ``thermometer`` or ``population``.
        bits_per_variable: bits per observation variable (K).
        low: lower bounds of the code (default: the space's bounds, which must then be finite).
        high: upper bounds of the code (default: the space's bounds).

    Example:
        >>> import gymnasium as gym
        >>> env = BinaryEncoding(gym.make("Pendulum-v1"), "thermometer", 8)
        >>> env.observation_space
        MultiBinary(24)
        >>> obs, _ = env.reset(seed=0)
        >>> obs.dtype, obs.shape
        (dtype('int8'), (24,))
    """

    def __init__(
        self,
        env: gym.Env,
        encoding: str = "thermometer",
        bits_per_variable: int = 8,
        low: Any = None,
        high: Any = None,
    ) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise TypeError(f"BinaryEncoding needs a flat Box observation space, got {space}")
        for name, bound in (("low", low), ("high", high)):
            if bound is not None and not np.all(np.isfinite(np.asarray(bound, dtype=np.float64))):
                raise ValueError(f"{name}={bound!r} is invalid; allowed: finite numbers (one per variable, or one)")
        low = space.low if low is None else np.broadcast_to(low, space.shape)
        high = space.high if high is None else np.broadcast_to(high, space.shape)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError("the observation space is unbounded: pass finite `low` and `high` for the code")
        self.code = BinaryCode(encoding, bits_per_variable, low, high)
        self.observation_space = gym.spaces.MultiBinary(self.code.n_bits)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.code.encode(observation)
