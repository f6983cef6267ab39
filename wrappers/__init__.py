"""Reusable Gymnasium wrappers: binary encodings, bit-flip noise, random delays, action history."""

from wrappers.action_history import ActionHistory, ActionHistoryVector
from wrappers.delay import ActionDelayLine, ActionDelayQueue, RandomActionDelay, RandomObservationDelay
from wrappers.encoding import ENCODINGS, BinaryCode, BinaryEncoding
from wrappers.noise import BitFlipNoise, binary_entropy, bsc_capacity, flip_bits

__all__ = [
    "ENCODINGS",
    "ActionHistory",
    "ActionHistoryVector",
    "ActionDelayLine",
    "ActionDelayQueue",
    "BinaryCode",
    "BinaryEncoding",
    "BitFlipNoise",
    "RandomActionDelay",
    "RandomObservationDelay",
    "binary_entropy",
    "bsc_capacity",
    "flip_bits",
]
