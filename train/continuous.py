"""Continuous learning: stop after a step or time budget or on a signal, autosave, all at rollout boundaries.

SB3's algorithms train between rollouts, so the only moment a checkpoint equals "the same run,
stopped" is the start of a rollout: the last update is done and no step of the next rollout is
taken. This callback saves only there, and a stop leaves ``learn`` right there (:class:`StopTraining`),
so nothing is stepped or logged after the checkpoint. A first Ctrl+C (or SIGTERM) asks for a stop at
the next boundary (within one rollout); a second one interrupts at once.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback, EvalCallback

# What an EvalCallback must carry across a resume to evaluate on the same schedule and keep its history.
EVAL_STATE_KEYS = (
    "n_calls", "evaluations_results", "evaluations_timesteps", "evaluations_length",
    "evaluations_successes", "best_mean_reward", "last_mean_reward",
)


def callbacks_state(callbacks: list[BaseCallback]) -> dict[str, Any]:
    """Counters of every callback, and the evaluation history of ``EvalCallback`` s, by position."""
    state = {}
    for index, callback in enumerate(callbacks):
        keys = EVAL_STATE_KEYS if isinstance(callback, EvalCallback) else getattr(callback, "state_keys", ("n_calls",))
        state[str(index)] = {key: getattr(callback, key) for key in keys if hasattr(callback, key)}
    return state


def restore_callbacks_state(callbacks: list[BaseCallback], state: dict[str, Any]) -> None:
    for index, callback in enumerate(callbacks):
        for key, value in state.get(str(index), {}).items():
            setattr(callback, key, value)


class StopTraining(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised at a rollout boundary once the stop's checkpoint is saved, so that no step is taken after it."""


class ContinuousLearning(BaseCallback):
    """Stop on ``max_steps`` (this session), ``max_seconds`` or a signal; autosave on a timer or step count.

    Args:
        save: called with a reason (``auto``, ``steps``, ``hours``, ``signal``) to write a checkpoint;
            returns its path.
        max_steps: stop once this session has taken this many steps (None: no limit).
        max_seconds: stop once this session has run this long (None: no limit).
        autosave_seconds: save at the first boundary after this much time since the last save.
        autosave_steps: save at the first boundary after this many steps since the last save.
    """

    def __init__(
        self,
        save: Callable[[str], Path],
        *,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        autosave_seconds: float | None = 300.0,
        autosave_steps: int | None = None,
    ) -> None:
        super().__init__()
        self._save = save
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.autosave_seconds, self.autosave_steps = autosave_seconds, autosave_steps
        self.stop_reason: str | None = None
        self.last_checkpoint: Path | None = None
        self._signal_received = False
        self.signal_name: str | None = None  # SIGINT or SIGTERM, once one asked for a stop
        self._previous_handlers: dict[int, Any] = {}

    def _on_training_start(self) -> None:
        self.start_steps = self.last_save_steps = self.model.num_timesteps
        self.start_time = self.last_save_time = time.monotonic()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous_handlers[signum] = signal.signal(signum, self._on_signal)
            except ValueError:  # not the main thread: signals stay with the caller
                pass

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._signal_received:
            raise KeyboardInterrupt
        self._signal_received = True
        self.signal_name = signal.Signals(signum).name
        print(f"\n{signal.Signals(signum).name}: saving at the end of this rollout; send it again to stop at once",
              file=sys.stderr, flush=True)

    def _due_stop(self) -> str | None:
        if self._signal_received:
            return "signal"
        if self.max_steps is not None and self.model.num_timesteps - self.start_steps >= self.max_steps:
            return "steps"
        if self.max_seconds is not None and time.monotonic() - self.start_time >= self.max_seconds:
            return "hours"
        return None

    def _due_autosave(self) -> bool:
        if self.model.num_timesteps == self.last_save_steps:
            return False
        by_time = self.autosave_seconds is not None and time.monotonic() - self.last_save_time >= self.autosave_seconds
        by_steps = self.autosave_steps is not None and self.model.num_timesteps - self.last_save_steps >= self.autosave_steps
        return by_time or by_steps

    def save(self, reason: str) -> Path:
        self.last_checkpoint = self._save(reason)
        self.last_save_steps, self.last_save_time = self.model.num_timesteps, time.monotonic()
        return self.last_checkpoint

    def _on_rollout_start(self) -> None:
        reason = self._due_stop()
        if reason is not None:
            self.stop_reason = reason
            self.save(reason)
            # SB3 would step every env once more before a callback could stop it: episodes ending in that
            # step would be logged past the checkpoint, and again by the resumed run. Leave learn() here.
            raise StopTraining(reason)
        if self._due_autosave():
            self.save("auto")

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self.restore_signal_handlers()

    def restore_signal_handlers(self) -> None:
        """Give SIGINT and SIGTERM back to the handlers they had before training (idempotent)."""
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()
