"""NoisyCartPoleStream-v0: NoisyCartPole whose observation code switches among a few tasks every N steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.noisy_cartpole import NoisyCartPoleEnv, check_binary_action
from envs.noisy_cartpole_config import NoisyCartPoleConfig
from wrappers.encoding import BinaryCode
from wrappers.noise import flip_bits

__all__ = ["DEFAULT_TASKS", "NoisyCartPoleStreamEnv", "StreamTask"]

N_VARIABLES = 4
# the same cart and pole seen three ways: the plain code, every bit inverted, the variable blocks swapped
DEFAULT_TASKS: tuple[dict[str, Any], ...] = ({}, {"invert": True}, {"variable_order": (2, 3, 0, 1)})


@dataclass(frozen=True)
class StreamTask:
    """How one task of the stream observes the state: its code, its noise, inversion and the order of the blocks."""

    code: BinaryCode
    flip_prob: float
    invert: bool
    variable_order: tuple[int, ...]

    @classmethod
    def build(cls, index: int, task: Mapping[str, Any], base: Mapping[str, Any]) -> StreamTask:
        """Task ``index`` from its mapping (``encoding``, ``flip_prob``, ``invert``, ``variable_order``) over ``base``."""
        if not isinstance(task, Mapping):
            raise TypeError(f"tasks[{index}]={task!r} must be a mapping; allowed keys: {', '.join(TASK_KEYS)}")
        unknown = sorted(set(task) - set(TASK_KEYS))
        if unknown:
            raise ValueError(f"tasks[{index}] has unknown keys {unknown}; allowed: {', '.join(TASK_KEYS)}")
        config = NoisyCartPoleConfig(**{**base, **{k: task[k] for k in ("encoding", "flip_prob") if k in task}})
        invert = task.get("invert", False)
        if invert not in (True, False):
            raise ValueError(f"tasks[{index}] invert={invert!r} is invalid; allowed: True, False")
        order = task.get("variable_order", tuple(range(N_VARIABLES)))
        if sorted(order) != list(range(N_VARIABLES)) or not all(isinstance(i, (int, np.integer)) for i in order):
            raise ValueError(f"tasks[{index}] variable_order={order!r} must be a permutation of 0, 1, 2, 3")
        return cls(config.code(), config.flip_prob, bool(invert), tuple(int(i) for i in order))

    def observe(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        bits = self.code.encode_bool(state).reshape(N_VARIABLES, -1)[list(self.variable_order)].reshape(-1)
        return flip_bits(~bits if self.invert else bits, self.flip_prob, rng)


TASK_KEYS = ("encoding", "flip_prob", "invert", "variable_order")


class NoisyCartPoleStreamEnv(NoisyCartPoleEnv):
    """
    ## Description
    NoisyCartPole (same physics, delays and noise) whose observation code changes every ``switch_every``
    steps, cycling through ``tasks``: a non-stationary stream on which an agent can forget what it learned
    on an earlier task. Each task may change the encoding, the flip rate, invert every bit, or reorder the
    four variables' bit blocks. The defaults are three tasks that need three different readings of the same
    bits: the plain code, every bit inverted, and position/velocity swapped with angle/angular velocity.
    The step count runs across episodes (an episode can span a switch); a reset with a ``seed`` restarts the
    stream at task 0. With ``task=k`` the env stays on task ``k`` (to evaluate one task).

    ## Action Space
    ``Discrete(2)``: 0 pushes the cart left, 1 pushes it right (10 N).

    ## Observation Space
    ``MultiBinary(4 * bits_per_variable)`` (int8), NoisyCartPole's blocks of ``bits_per_variable`` bits in
    the task's ``variable_order``:

    | Num | Observation           | Min    | Max   |
    |-----|-----------------------|--------|-------|
    | 0   | Cart Position         | -2.4   | 2.4   |
    | 1   | Cart Velocity         | -2.0   | 2.0   |
    | 2   | Pole Angle (rad)      | -0.21  | 0.21  |
    | 3   | Pole Angular Velocity | -2.0   | 2.0   |

    ## Rewards
    +1 for every step taken, including the terminating one.

    ## Starting State
    All state variables uniform in [-0.05, 0.05]; no action pending.

    ## Episode End
    1. Termination: pole angle beyond ±12°.
    2. Termination: cart position beyond ±2.4.
    3. Truncation: 200 steps (``max_episode_steps`` of the registration).

    ## Arguments
    ``gymnasium.make("NoisyCartPoleStream-v0", tasks=DEFAULT_TASKS, switch_every=10_000, task=None, **kwargs)``:
    ``tasks`` a sequence of mappings with keys ``encoding``, ``flip_prob``, ``invert``, ``variable_order``
    (unset keys: NoisyCartPole's arguments in ``kwargs``); ``switch_every`` env steps per task (per env copy:
    with 8 parallel envs the stream switches every ``8 * switch_every`` training steps); ``task`` an index to
    stay on one task. ``info["task"]`` is the task of the returned observation, ``info["state"]`` the clean
    state (for analysis only).

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        tasks: Sequence[Mapping[str, Any]] = DEFAULT_TASKS,
        switch_every: int = 10_000,
        task: int | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(render_mode=render_mode, **kwargs)
        if isinstance(tasks, (str, Mapping)) or not isinstance(tasks, Sequence) or len(tasks) == 0:
            raise ValueError(f"tasks={tasks!r} must be a non-empty sequence of mappings")
        base = {"encoding": self.config.encoding, "bits_per_variable": self.config.bits_per_variable,
                "flip_prob": self.config.flip_prob, "min_delay": self.config.min_delay,
                "max_delay": self.config.max_delay}  # fmt: skip
        self.tasks = tuple(StreamTask.build(i, t, base) for i, t in enumerate(tasks))
        if isinstance(switch_every, bool) or not isinstance(switch_every, (int, np.integer)) or switch_every < 1:
            raise ValueError(f"switch_every={switch_every!r} must be an integer >= 1")
        valid_task = not isinstance(task, bool) and isinstance(task, (int, np.integer)) and 0 <= task < len(self.tasks)
        if task is not None and not valid_task:
            raise ValueError(f"task={task!r} is invalid; allowed: None or an integer in [0, {len(self.tasks)})")
        self.switch_every, self.fixed_task = int(switch_every), task
        self.stream_steps = 0

    @property
    def task(self) -> int:
        """Index of the task observed now."""
        if self.fixed_task is not None:
            return int(self.fixed_task)
        return (self.stream_steps // self.switch_every) % len(self.tasks)

    def _observe(self) -> np.ndarray:
        return self.tasks[self.task].observe(np.array(self._state), self.np_random)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self.stream_steps = 0
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, "task": self.task}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        check_binary_action(action)  # a refused action does not advance the stream
        self.stream_steps += 1  # before the observation: the N-th step returns the next task's code
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {**info, "task": self.task}
