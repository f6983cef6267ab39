"""Play episodes of a loaded model on its evaluation env and collect the returns and one frame per step."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from eval.watch.raster import SpikeRecorder, scal_perception
from eval.watch.views import StepRecord, View, view_class
from train.config import RunConfig
from train.environments import make_env


@dataclass
class Replay:
    """What a replay produced: per-episode returns (raw, as the Monitor records them) and lengths, the frames."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    fps: int = 10


def replay_env(config: RunConfig) -> tuple[VecEnv, View]:
    """The run's evaluation VecEnv (its wrappers and evaluation seeds), with a render mode where the view needs
    one, and the view of its first env."""
    view_cls = view_class(config.env_id)
    kwargs = dict(config.env_kwargs)
    if view_cls.render_mode is not None:
        kwargs["render_mode"] = view_cls.render_mode
    venv = make_env(dataclasses.replace(config, env_kwargs=kwargs), evaluation=True)
    env: gym.Env = venv.unwrapped.envs[0].unwrapped
    return venv, view_cls(env)


def play(model: Any, venv: VecEnv, view: View, episodes: int, deterministic: bool, max_frames: int) -> Replay:
    """Play ``episodes`` episodes of ``model`` on the first env of ``venv``; frames for the first ``max_frames`` steps.

    ``venv`` is reset first (seed it before, with ``venv.seed``, to choose the episodes).
    """
    perception = scal_perception(model)
    recorder = SpikeRecorder(perception) if perception is not None else None
    replay = Replay(fps=view.fps)
    observation, info = venv.reset(), venv.reset_infos[0]
    state, starts = None, np.ones((venv.num_envs,), dtype=bool)
    t, episode_return = 0, 0.0
    try:
        while len(replay.returns) < episodes:
            scene = view.scene(info) if len(replay.frames) < max_frames else None
            action, state = model.predict(observation, state=state, episode_start=starts, deterministic=deterministic)
            spikes = recorder.record() if recorder is not None else None
            next_observation, rewards, starts, infos = venv.step(action)
            episode_return += float(rewards[0])
            if scene is not None:
                record = StepRecord(len(replay.returns), t, observation[0], action[0], float(rewards[0]),
                                    episode_return, infos[0], spikes, recorder.history if recorder else [])  # fmt: skip
                replay.frames.append(view.frame(scene, record))
            t += 1
            info = infos[0]
            if starts[0]:
                replay.returns.append(float(info.get("episode", {}).get("r", episode_return)))
                replay.lengths.append(t)
                t, episode_return, info = 0, 0.0, venv.reset_infos[0]
            observation = next_observation
    finally:
        if recorder is not None:
            recorder.close()
    return replay
