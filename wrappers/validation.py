"""Argument checks shared by the wrappers and the environments (which may import wrappers, not the reverse)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_finite"]


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` naming ``name`` unless it is a finite real number.

    Booleans, strings, ``None``, ``nan`` and ``±inf`` are rejected; Python and NumPy ints and floats pass.

    Example:
        >>> check_finite("eta", 0.5)
        0.5
        >>> check_finite("eta", float("inf"))
        Traceback (most recent call last):
        ...
        ValueError: eta=inf is invalid; allowed: a finite number
    """
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not (number and math.isfinite(value)):
        raise ValueError(f"{name}={value!r} is invalid; allowed: a finite number")
    return float(value)
