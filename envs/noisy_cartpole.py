"""NoisyCartPole-v0: CartPole seen through a redundant binary code with bit-flip noise and action delay."""

from __future__ import annotations

import operator
from typing import Any

import gymnasium as gym
import numpy as np

from envs import cartpole_physics as physics
from envs.noisy_cartpole_config import NoisyCartPoleConfig
from wrappers.delay import ActionDelayQueue
from wrappers.noise import flip_bits


def check_binary_action(action: Any) -> int:
    """Return ``action`` as 0 or 1, or raise ``ValueError`` (floats, NaN and arrays of size > 1 included)."""
    try:
        value = operator.index(action)
    except TypeError:
        value = None
    if value not in (0, 1):
        raise ValueError(f"action={action!r} is not in the action space Discrete(2): use 0 (left) or 1 (right)")
    return value


class NoisyCartPoleEnv(gym.Env):
    """
    ## Description
    Gymnasium's CartPole (same physics, Euler integration) observed through a binary channel: the
    4-variable state is encoded with ``bits_per_variable`` bits per variable and each bit is then
    flipped independently with probability ``flip_prob``. Each action reaches the cart after a random
    delay of ``min_delay..max_delay`` steps; the cart applies the freshest action that has arrived and
    no force before the first one arrives.

    A bit flipped with probability p carries ``1 - H(p)`` bits (0.0072 at p = 0.45), while keeping the
    unstable pole up needs more than about 0.115 bits per step (data-rate theorem, λ ≈ 3.97 s⁻¹,
    dt = 0.02 s). The literal 4-bit ``sign`` code at p = 0.45 carries 0.029 bits per step and no
    controller can solve it; the default redundant code carries ``bits_per_step`` ≈ 29 bits per step.

    ## Action Space
    ``Discrete(2)``: 0 pushes the cart left, 1 pushes it right (10 N).

    ## Observation Space
    ``MultiBinary(4 * bits_per_variable)`` (int8): ``bits_per_variable`` bits for each variable, in order,
    each flipped with probability ``flip_prob``. The code's bounds per variable:

    | Num | Observation           | Min    | Max   |
    |-----|-----------------------|--------|-------|
    | 0   | Cart Position         | -2.4   | 2.4   |
    | 1   | Cart Velocity         | -2.0   | 2.0   |
    | 2   | Pole Angle (rad)      | -0.21  | 0.21  |
    | 3   | Pole Angular Velocity | -2.0   | 2.0   |

    Encodings: ``sign`` (bit = value > 0, repeated K times), ``thermometer`` (bit j = value > t_j, K
    thresholds evenly spaced in the bounds), ``population`` (one-hot over K bins).

    ## Rewards
    +1 for every step taken, including the terminating one.

    ## Starting State
    All state variables uniform in [-0.05, 0.05]; no action pending.

    ## Episode End
    1. Termination: pole angle beyond ±12°.
    2. Termination: cart position beyond ±2.4.
    3. Truncation: 200 steps (``max_episode_steps`` of the registration); solved at a mean above 195.

    ## Arguments
    ``gymnasium.make("NoisyCartPole-v0", encoding="thermometer", bits_per_variable=1024, flip_prob=0.45,
    min_delay=0, max_delay=2, render_mode=None)``. ``info["state"]`` carries the clean state (for
    analysis only: agents must not read it); ``env.unwrapped.bits_per_step`` the channel capacity.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 50}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        self.config = NoisyCartPoleConfig(**kwargs)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r} is not supported; allowed: {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.code = self.config.code()
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.MultiBinary(self.code.n_bits)
        self._delay = ActionDelayQueue(self.config.min_delay, self.config.max_delay)
        self._state = (0.0, 0.0, 0.0, 0.0)
        self._renderer: gym.Env | None = None

    @property
    def bits_per_step(self) -> float:
        """Channel capacity of one observation: ``n_bits * (1 - H(flip_prob))``."""
        return self.config.bits_per_step

    def _observe(self) -> np.ndarray:
        return flip_bits(self.code.encode_bool(np.array(self._state)), self.config.flip_prob, self.np_random)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._state = tuple(self.np_random.uniform(-physics.RESET_BOUND, physics.RESET_BOUND, size=4).tolist())
        self._delay.reset()
        if self.render_mode == "human":
            self.render()
        return self._observe(), {"state": np.array(self._state)}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        delay = self._delay.send(check_binary_action(action), self.np_random)
        applied = self._delay.applied_action
        force = 0.0 if applied is None else (2.0 * applied - 1.0) * physics.FORCE_MAG
        self._state = physics.step_state(*self._state, force)
        terminated = bool(physics.has_fallen(self._state[0], self._state[2]))
        info = {"state": np.array(self._state), "delay": delay, "applied_force": force}
        if self.render_mode == "human":
            self.render()
        return self._observe(), 1.0, terminated, False, info

    def render(self) -> Any:
        if self.render_mode is None:
            gym.logger.warn("render() was called without a render_mode; pass render_mode='rgb_array' to make()")
            return None
        if self._renderer is None:
            from gymnasium.envs.classic_control.cartpole import CartPoleEnv  # needs pygame: pip install pygame

            self._renderer = CartPoleEnv(render_mode=self.render_mode)
        self._renderer.state = np.array(self._state)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
