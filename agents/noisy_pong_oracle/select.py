"""``--agent oracle``: the oracle of the env it is given (NoisyCartPole-v0 or NoisyPong-v0)."""

from __future__ import annotations

from typing import Any

from agents.oracle import CartPoleOracle
from agents.reference import ReferenceAgent, env_attribute
from envs.noisy_cartpole_config import NoisyCartPoleConfig
from envs.noisy_pong_config import NoisyPongConfig


def oracle_class(env: Any) -> type[ReferenceAgent]:
    """The oracle class for ``env`` (read from its documented ``config``); other envs raise ``ValueError``."""
    config = env_attribute(env, "config")
    if isinstance(config, NoisyCartPoleConfig):
        return CartPoleOracle
    if isinstance(config, NoisyPongConfig):
        from agents.noisy_pong_oracle.agent import PongOracle

        return PongOracle
    raise ValueError(
        "agent='oracle' is defined for NoisyCartPole-v0 and NoisyPong-v0 only "
        f"(the env's config is {type(config).__name__})"
    )


class Oracle:
    """Builds (``Oracle(env, seed)``) or loads (``Oracle.load(path, env)``) the oracle of ``env``."""

    def __new__(cls, env: Any, seed: int | None = None) -> ReferenceAgent:  # type: ignore[misc]
        return oracle_class(env)(env, seed=seed)

    @classmethod
    def load(cls, path: Any, env: Any) -> ReferenceAgent:
        return oracle_class(env).load(path, env)
