"""NoisyPong-v0's oracle (Bayesian tracking from the noisy, delayed frames + intercept control), its
clean-perception reference, and ``Oracle``, which picks the oracle of the env it is given."""

from __future__ import annotations

from agents.noisy_pong_oracle.agent import PongCleanReference, PongOracle
from agents.noisy_pong_oracle.select import Oracle, oracle_class

__all__ = ["Oracle", "PongCleanReference", "PongOracle", "oracle_class"]
