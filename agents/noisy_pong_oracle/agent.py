"""NoisyPong's oracle and its clean-perception reference, with SB3's ``predict`` interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.noisy_pong_oracle import geometry as g
from agents.noisy_pong_oracle.ball import BallFilter
from agents.noisy_pong_oracle.controller import PUSH_ACTIONS, choose_push, intercept_rows, target_row
from agents.noisy_pong_oracle.likelihood import ball_llr_map, field_evidence, paddle_llr
from agents.noisy_pong_oracle.paddle import PaddleFilter, direction
from agents.reference import ReferenceAgent, env_attribute
from envs.noisy_pong_config import NoisyPongConfig


def pong_config(env: Any, agent: str) -> NoisyPongConfig:
    """The env's documented :class:`NoisyPongConfig`, or ``ValueError`` naming ``agent``."""
    config = env_attribute(env, "config")
    if not isinstance(config, NoisyPongConfig):
        raise ValueError(f"agent={agent!r} needs NoisyPong-v0 (the env has no NoisyPongConfig)")
    return config


def delay_probabilities(config: NoisyPongConfig) -> np.ndarray:
    """P(the frame shown is ``d`` steps old), ``d = 0..max_delay`` (uniform on the documented range)."""
    low, high = config.delay_range
    probs = np.zeros(high + 1)
    probs[low:] = 1.0 / (high - low + 1)
    return probs


def newest_frames(observation: np.ndarray) -> tuple[np.ndarray, bool]:
    """The newest ``(84, 84)`` frame of each observation, channel-last or channel-first, stacked or not.

    Returns ``(frames (N, 84, 84), batched)``.
    """
    obs = np.asarray(observation)
    if obs.ndim == 2:
        return obs[None], False
    channel_first = obs.shape[-2:] == (g.WIDTH, g.WIDTH)
    frames = obs[..., -1, :, :] if channel_first else obs[..., -1]
    return (frames, True) if frames.ndim == 3 else (frames[None], False)


@dataclass
class Tracker:
    """One game's perception: the ball and paddle filters, and the last action sent."""

    ball: BallFilter
    paddle: PaddleFilter
    action: int | None = None
    steps: int = field(default=0)


class PongOracle(ReferenceAgent):
    """Bayesian tracking of ball and paddle from the noisy, delayed frames, and intercept control.

    It reads the env's documented ``config`` (``flip_prob``, ``obs_delay``) and the observations, never
    ``info`` or the emulator. Its trackers are the recurrent state of ``predict``.

    Args:
        env: a NoisyPong env or VecEnv (observations stacked or not, channel-first or last).
        seed: unused (the oracle is deterministic: same frames, same actions); kept for the common interface.
    """

    name = "oracle"

    def __init__(self, env: Any, seed: int | None = None) -> None:
        super().__init__(env, seed)
        self.config = pong_config(env, self.name)
        self.delay_probs = delay_probabilities(self.config)

    def new_tracker(self) -> Tracker:
        return Tracker(BallFilter(self.delay_probs), PaddleFilter(self.delay_probs))

    def observe(self, tracker: Tracker, frame: np.ndarray) -> None:
        """Advance ``tracker`` by one step (the last action) and weigh it by ``frame``."""
        evidence = field_evidence(frame, self.config.flip_prob)
        if tracker.action is not None:
            tracker.paddle.predict(tracker.action)
            tracker.ball.predict(tracker.paddle.mean)
        tracker.paddle.update(paddle_llr(evidence))
        tracker.ball.update(ball_llr_map(evidence))
        tracker.steps += 1

    def act(self, tracker: Tracker) -> int:
        ball, paddle = tracker.ball, tracker.paddle
        target = target_row(ball.present, ball.approaching, ball.intercept_histogram, ball.mean_row())
        push = choose_push(paddle.mean, paddle.last_displacement, paddle.last_push, target)
        tracker.action = PUSH_ACTIONS[push]
        return tracker.action

    def predict(
        self,
        observation: np.ndarray,
        state: list[Tracker] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, list[Tracker]]:
        """Actions for a batch of observations (or one); ``state`` holds one tracker per env."""
        frames, batched = newest_frames(observation)
        if state is None:
            state = [self.new_tracker() for _ in frames]
        if episode_start is not None:
            for i in np.nonzero(np.asarray(episode_start, dtype=bool))[0]:
                state[i] = self.new_tracker()
        actions = []
        for tracker, frame in zip(state, frames, strict=True):
            self.observe(tracker, frame)
            actions.append(self.act(tracker))
        actions = np.asarray(actions, dtype=np.int64)
        return (actions if batched else actions[0]), state


@dataclass
class CleanState:
    """The clean reference's memory: the ball's positions since its last bounce, paddle centre, last push."""

    track: list = field(default_factory=list)
    centre: float | None = None
    push: int = 0


TRACK_LENGTH = 8


def track_velocity(track: list) -> np.ndarray:
    """Velocity of a straight stretch of ball positions: the displacement over its length per step."""
    return (track[-1] - track[0]) / (len(track) - 1)


def detect(frame: np.ndarray) -> tuple[np.ndarray | None, float | None]:
    """Ball centre ``(x, y)`` and paddle centre row from a clean frame (``None`` where not visible)."""
    field_on = frame[g.FIELD_TOP : g.FIELD_BOTTOM + 1] > 0
    column = np.nonzero(field_on[:, (g.PADDLE_COLUMNS[0] + g.PADDLE_COLUMNS[1]) // 2])[0]
    centre = None if len(column) == 0 else float(g.FIELD_TOP + (column.min() + column.max()) / 2)
    ball = field_on.copy()
    ball[:, g.PADDLE_COLUMNS[0] : g.PADDLE_COLUMNS[1]] = False
    ball[:, g.OPPONENT_COLUMNS[0] : g.OPPONENT_COLUMNS[1]] = False
    rows, cols = np.nonzero(ball)
    if len(rows) == 0:
        return None, centre
    return np.array([cols.mean() + 0.5, rows.mean() + g.FIELD_TOP + 0.5]), centre


def extend_track(track: list, ball: np.ndarray | None) -> list:
    """Positions of the ball on its current straight stretch: restart at a bounce or when it disappears."""
    if ball is None:
        return []
    if len(track) >= 2:
        before = track[-1] - track[-2]
        now = ball - track[-1]
        if np.any(np.sign(before) * np.sign(now) < 0):  # a wall or a paddle reversed it
            track = track[-1:]
    return [*track, ball][-TRACK_LENGTH:]


class PongCleanReference(ReferenceAgent):
    """The oracle's controller fed the true positions, read exactly from clean, undelayed frames.

    The controller's own ceiling: it needs ``flip_prob=0`` and ``obs_delay=None`` (else ``ValueError``).
    """

    name = "pong_clean_reference"

    def __init__(self, env: Any, seed: int | None = None) -> None:
        super().__init__(env, seed)
        config = pong_config(env, self.name)
        if config.flip_prob != 0.0 or config.delay_range != (0, 0):
            raise ValueError(
                f"agent={self.name!r} reads true positions from clean frames: it needs flip_prob=0 and "
                f"obs_delay=None, got flip_prob={config.flip_prob}, obs_delay={config.obs_delay!r}"
            )

    def act(self, memory: CleanState, frame: np.ndarray) -> int:
        ball, centre = detect(frame)
        if centre is None:  # hidden behind a wall: where it was
            centre = memory.centre if memory.centre is not None else g.FIELD_CENTRE
        displacement = 0.0 if memory.centre is None else centre - memory.centre
        memory.centre = centre
        memory.track = extend_track(memory.track, ball)
        if len(memory.track) < 2:
            target = g.FIELD_CENTRE
        else:
            vx, vy = track_velocity(memory.track)
            row = int(np.rint(intercept_rows(ball[0], ball[1], vx, vy)))
            target = target_row(1.0, float(vx > 0), lambda: np.bincount([row], minlength=row + 1), ball[1])
        push = choose_push(centre, displacement, memory.push, target)
        memory.push = push
        return PUSH_ACTIONS[push]

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        frames, batched = newest_frames(observation)
        if state is None:
            state = [CleanState() for _ in frames]
        if episode_start is not None:
            for i in np.nonzero(np.asarray(episode_start, dtype=bool))[0]:
                state[i] = CleanState()
        actions = np.asarray([self.act(memory, frame) for memory, frame in zip(state, frames, strict=True)])
        return (actions if batched else actions[0]), state


__all__ = ["PongCleanReference", "PongOracle", "delay_probabilities", "detect", "direction", "newest_frames"]
