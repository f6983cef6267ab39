"""Numpy-batched NoisyCartPole: ``num_envs`` copies stepped together (``gymnasium.make_vec``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs import cartpole_physics as physics
from envs.noisy_cartpole_config import NoisyCartPoleConfig
from wrappers.delay import ActionDelayLine
from wrappers.noise import flip_bits


class NoisyCartPoleVectorEnv(VectorEnv):
    """``num_envs`` NoisyCartPole environments in one numpy batch (same physics, code, noise and delay).

    Episodes reset automatically on the step after they end (Gymnasium's ``NEXT_STEP`` autoreset):
    that step's action is ignored and it returns reward 0 and the reset observation.

    Args:
        num_envs: number of environments.
        max_episode_steps: truncation length (200, from the registration).
        render_mode: not supported (None only).
        **kwargs: the arguments of :class:`envs.noisy_cartpole.NoisyCartPoleEnv`.

    Example:
        >>> import gymnasium as gym, envs
        >>> vec = gym.make_vec("NoisyCartPole-v0", num_envs=8, vectorization_mode="vector_entry_point")
        >>> obs, info = vec.reset(seed=0)
        >>> obs.shape, info["state"].shape
        ((8, 4096), (8, 4))
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self, num_envs: int = 1, max_episode_steps: int = 200, render_mode: str | None = None, **kwargs: Any
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} must be an integer >= 1")
        if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, (int, np.integer)) or max_episode_steps < 1:
            raise ValueError(f"max_episode_steps={max_episode_steps!r} must be an integer >= 1")
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r} is not supported by the vector env; allowed: None")
        self.config = NoisyCartPoleConfig(**kwargs)
        self.code = self.config.code()
        self.num_envs, self.max_episode_steps, self.render_mode = int(num_envs), int(max_episode_steps), None
        self.single_action_space = spaces.Discrete(2)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.single_observation_space = spaces.MultiBinary(self.code.n_bits)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._delay = ActionDelayLine(self.num_envs, self.config.min_delay, self.config.max_delay)
        self._state = np.zeros((self.num_envs, 4))
        self._steps = np.zeros(self.num_envs, dtype=np.int64)
        self._prev_done = np.zeros(self.num_envs, dtype=bool)

    @property
    def bits_per_step(self) -> float:
        """Channel capacity of one environment's observation, in bits."""
        return self.config.bits_per_step

    def _observe(self) -> np.ndarray:
        return flip_bits(self.code.encode_bool(self._state), self.config.flip_prob, self.np_random)

    def _restart(self, mask: np.ndarray | slice) -> None:
        count = len(self._state[mask])
        self._state[mask] = self.np_random.uniform(-physics.RESET_BOUND, physics.RESET_BOUND, size=(count, 4))
        self._steps[mask] = 0
        self._delay.reset(mask)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._restart(slice(None))
        self._prev_done[:] = False
        return self._observe(), {"state": self._state.copy()}

    def _check_actions(self, actions: Any) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iub" or np.any((actions != 0) & (actions != 1)):
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},) with values 0 or 1; "
                f"got shape {actions.shape}, dtype {actions.dtype}"
            )
        return actions.astype(np.int64, copy=False)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        actions = self._check_actions(actions)
        _, has_action = self._delay.send(actions, self.np_random)
        force = np.where(has_action, (2.0 * self._delay.applied_action - 1.0) * physics.FORCE_MAG, 0.0)
        new_state = physics.step_state(*self._state.T, force, cos=np.cos, sin=np.sin)
        self._state = np.stack(new_state, axis=1)
        terminated = physics.has_fallen(self._state[:, 0], self._state[:, 2])
        self._steps += 1
        truncated = self._steps >= self.max_episode_steps
        reward = np.ones(self.num_envs, dtype=np.float32)
        if self._prev_done.any():  # NEXT_STEP autoreset of the envs that ended on the previous step
            done = self._prev_done
            self._restart(done)
            reward[done], terminated[done], truncated[done] = 0.0, False, False
        self._prev_done = terminated | truncated
        return self._observe(), reward, terminated, truncated, {"state": self._state.copy()}
